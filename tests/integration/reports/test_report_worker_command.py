"""``python -m survey_service worker``: on PostgreSQL, beside a server that only queues
(``SURVEY_SERVER_RENDERS_REPORTS=false``), it renders the queued reports (and sends the
webhooks the server leaves to it), and on SIGTERM it finishes the report in flight and exits
0. On SQLite it refuses: the server renders.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from survey_service.app import create_app
from survey_service.auth import issue_token
from survey_service.db.engine import open_database
from survey_service.db.migrate import upgrade
from survey_service.forms.registry import load_shipped_forms
from survey_service.reports import jobs
from survey_service.settings import Settings
from tests.conftest import run_command
from tests.integration.faults.server import Server, open_campaign, private_postgres, server_env
from tests.integration.test_webhooks import receiving, verified
from tests.paths import PROJECT_ROOT

YEAR = 2024
WAIT_SECONDS = 60  # a bound on a stuck worker, not a performance figure


async def _report(
    client: httpx.AsyncClient, admin: dict[str, str], report_id: str
) -> dict[str, Any]:
    response = await client.get(f"/api/v1/reports/{report_id}", headers=admin)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _until(check: Any, what: str, log_path: Path) -> None:
    try:
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                if await check():
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"{what}; the worker's log:\n{_read(log_path)}") from None


def _read(log_path: Path) -> str:
    return log_path.read_text() if log_path.exists() else "(none yet)"


async def test_a_worker_process_renders_what_the_server_queues_and_stops_gracefully(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The server is the app in this process (told not to render); the worker is the
    command in a process of its own."""
    caplog.set_level(logging.INFO)
    async with private_postgres("survey_worker") as (url, _):
        db = open_database(url)
        await upgrade(db.engine)
        worker_log = tmp_path / "worker.log"
        env = server_env(url, tmp_path / "var", "") | {"SURVEY_WEBHOOKS_ALLOW_PRIVATE": "true"}
        command = Server(env, worker_log, command="worker")
        command.start()
        worker = command.process
        assert worker is not None
        settings = Settings(
            database_url=url,
            var_dir=tmp_path / "var",
            form_schemas_dir=PROJECT_ROOT / "form_schemas",
            server_renders_reports=False,
            webhooks_allow_private=True,
        )
        app = create_app(settings, database=db)
        listening = AsyncExitStack()
        receiver = await listening.enter_async_context(receiving())
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        try:
            await load_shipped_forms(db, settings.form_schemas_dir)
            async with db.transaction() as session:
                admin_token, _ = await issue_token(session, "admin", label="test admin")
            admin = {"Authorization": f"Bearer {admin_token}"}
            hook = await client.post(
                "/api/v1/webhooks", json={"url": receiver.url, "events": ["report.done"]},
                headers=admin,
            )  # fmt: skip
            assert hook.status_code == 201, hook.text
            # The worker is held still while the reports are asked for, so that it takes
            # none before the second one's row is locked below.
            worker.send_signal(signal.SIGSTOP)
            await open_campaign(client, "", admin, "salary-survey", YEAR)
            ids = []
            for body in ({"type": "participation", "year": YEAR},
                         {"type": "participation", "year": YEAR, "annex": True}):  # fmt: skip
                response = await client.post("/api/v1/reports", json=body, headers=admin)
                assert response.status_code == 202, response.text
                ids.append(response.json()["id"])
            first, second = ids
            # The second report's row is held, so that its job is in flight (claimed by the
            # worker, waiting on this lock) when the worker is told to stop.
            async with db.engine.connect() as held:
                await held.execute(
                    text("SELECT 1 FROM reports WHERE id = :id FOR UPDATE"), {"id": second}
                )
                worker.send_signal(signal.SIGCONT)

                async def first_done() -> bool:
                    status = (await _report(client, admin, first))["status"]
                    assert status != "failed"
                    return bool(status == "done")

                await _until(first_done, "the worker did not render the first report", worker_log)
                # The worker command rendered it; the server ran no worker of its own.
                assert "this process renders none" in caplog.text
                assert "Starting worker" not in caplog.text
                assert re.search(rf"Starting job render_report\[\d+\]\(report_id='{first}'\)",
                                 _read(worker_log))  # fmt: skip
                pdf = await client.get(f"/api/v1/reports/{first}/pdf", headers=admin)
                assert pdf.status_code == 200
                assert pdf.content.startswith(b"%PDF")

                async def told() -> bool:  # by the worker command: the server sends none
                    return any(
                        verified(hook.json()["secret"], *r)["data"]["report_id"] == first
                        for r in receiver.received
                    )

                await _until(told, "the worker did not send the report's webhook", worker_log)

                async def second_in_flight() -> bool:
                    async with db.read() as session:
                        status = await session.scalar(
                            text(
                                "SELECT status FROM procrastinate_jobs"
                                " WHERE args ->> 'report_id' = :id"
                            ),
                            {"id": second},
                        )
                    return bool(status == "doing")

                await _until(second_in_flight, "the worker did not take the second", worker_log)
                worker.send_signal(signal.SIGTERM)

                async def stop_heard() -> bool:
                    return "SIGTERM received" in _read(worker_log)

                await _until(stop_heard, "the worker did not log the SIGTERM", worker_log)
                assert worker.poll() is None  # still finishing the job in flight
                await held.rollback()  # the job goes on

            returncode = await asyncio.to_thread(worker.wait, WAIT_SECONDS)
            log = _read(worker_log)
            assert returncode == 0, log
            assert (await _report(client, admin, second))["status"] == "done", log
            assert "report worker started" in log
            assert "report worker stopped" in log
            assert re.search(rf"Starting job render_report\[\d+\]\(report_id='{second}'\)", log)
            assert "Starting worker" not in caplog.text
        finally:
            await listening.aclose()
            await client.aclose()
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
            await app.state.reports.close()
            await db.dispose()


def test_the_worker_command_refuses_sqlite(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
    env |= {"SURVEY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'survey.db'}",
            "SURVEY_VAR_DIR": str(tmp_path)}  # fmt: skip
    finished = run_command(env, "worker")
    assert finished.returncode == 2
    assert "refused: the report worker runs on PostgreSQL only" in finished.stderr
    assert not (tmp_path / "survey.db").exists()  # nothing was opened or made


async def test_sqlite_ignores_the_setting_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A server on SQLite told not to render still renders (no worker could serve its
    database), and says why in its log."""
    settings = Settings.from_env(
        {"SURVEY_VAR_DIR": str(tmp_path), "SURVEY_SERVER_RENDERS_REPORTS": "false"}
    )
    assert not settings.server_renders_reports
    db = open_database(settings.database_url)
    try:
        with caplog.at_level(logging.WARNING, logger=jobs.__name__):
            queue = jobs.make_queue(db, settings, None)
    finally:
        await db.dispose()
    assert isinstance(queue, jobs.LocalQueue)
    assert "SURVEY_SERVER_RENDERS_REPORTS=false is ignored on SQLite" in caplog.text
