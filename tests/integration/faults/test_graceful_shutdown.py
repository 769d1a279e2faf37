"""``python -m survey_service serve`` stopped by SIGTERM (``systemctl stop``) while an
enterprise's salary spreadsheet is still arriving: the server stops taking connections, yet
receives the rest of that upload, stores it, answers 201 and then ends cleanly; one still
arriving after SURVEY_SHUTDOWN_SECONDS is cancelled, nothing of it stored. A server stopped
while it renders a report finishes that report first. On SQLite and PostgreSQL. (The worker
command's graceful stop, with a report in flight, is in
tests/integration/reports/test_report_worker_command.py.)"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from survey_service.db.engine import open_database
from survey_service.db.models import Report, Submission, WageRow
from tests.conftest import BACKENDS
from tests.factories import bearer
from tests.integration.faults.server import (
    Server,
    empty_database,
    invite,
    open_campaign,
    refuses_connections,
    server_env,
)
from tests.samples import enterprise

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

YEAR = 2024
ROWS = 5_000
WAIT_SECONDS = 30  # a bound on a stuck server, not a performance figure


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with empty_database(request.param, tmp_path, "survey_shutdown") as url:
        yield url


def _payroll() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["occupation", "months_worked", "annual_pay", "education"])
    writer.writerows(["6-01-02-03", 12, 50_000 + row, "bachelor"] for row in range(ROWS))
    return out.getvalue().encode()


def _unread_bytes(port: int) -> list[int]:
    """The receive queues of the server's established connections (/proc/net/tcp): 0 once
    the server has read everything sent to it."""
    queues = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == "01":  # ESTABLISHED
            queues.append(int(fields[4].split(":")[1], 16))
    return queues


async def _until(check: Callable[[], bool], what: str, server: Server) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}:\n{server.log()}")
        await asyncio.sleep(0.02)


async def _stored(url: str) -> tuple[int, int]:
    """The submissions and wage rows in the database (the test's one enterprise's)."""
    db = open_database(url)
    try:
        async with db.read() as session:
            submissions = await session.scalar(select(func.count()).select_from(Submission))
            wages = await session.scalar(select(func.count()).select_from(WageRow))
    finally:
        await db.dispose()
    return int(submissions or 0), int(wages or 0)


@dataclass
class HeldUpload:
    """An enterprise's salary spreadsheet sent up to its middle, the rest held back."""

    response: asyncio.Task[httpx.Response]
    go_on: asyncio.Event


@contextlib.asynccontextmanager
async def _upload_in_flight(server: Server, admin: dict[str, str]) -> AsyncIterator[HeldUpload]:
    async with httpx.AsyncClient(timeout=WAIT_SECONDS) as client:
        await server.wait_healthy(client)
        uscc = enterprise(1)["uscc"]
        registered = await client.post(
            server.base + "/api/v1/enterprises", json=[enterprise(1)], headers=admin
        )
        assert registered.status_code == 201, registered.text
        campaign = await open_campaign(client, server.base, admin, "salary-survey", YEAR)
        token = (await invite(client, server.base, admin, campaign, [uscc]))[uscc]
    url = f"{server.base}/api/v1/campaigns/{campaign}/salary-uploads"
    request = httpx.Request(
        "POST", url, files={"file": ("payroll.csv", _payroll(), "text/csv")},
        headers=bearer(token),
    )  # fmt: skip
    body = request.read()
    half_sent, go_on = asyncio.Event(), asyncio.Event()

    async def slowly() -> AsyncIterator[bytes]:
        yield body[: len(body) // 2]
        half_sent.set()
        await go_on.wait()
        yield body[len(body) // 2 :]

    async with httpx.AsyncClient(timeout=WAIT_SECONDS) as uploader:
        response = asyncio.create_task(
            uploader.post(url, content=slowly(), headers=dict(request.headers))
        )
        await half_sent.wait()
        # The server has read the headers and the first half: the request is in flight.
        await _until(lambda: _unread_bytes(server.port) == [0], "not read", server)
        try:
            yield HeldUpload(response, go_on)
        finally:
            go_on.set()
            with contextlib.suppress(httpx.TransportError):
                await response


async def _sigterm(server: Server) -> None:
    server.terminate()
    await _until(lambda: "Shutting down" in server.log(), "no shutdown", server)
    assert refuses_connections(server.port)  # no new connection is taken


async def test_sigterm_finishes_the_upload_in_flight_then_the_server_ends(
    database_url: str, tmp_path: Path
) -> None:
    admin_token = secrets.token_urlsafe(32)
    server = Server(server_env(database_url, tmp_path / "var", admin_token), tmp_path / "s.log")
    server.start()
    assert server.process is not None
    try:
        async with _upload_in_flight(server, bearer(admin_token)) as upload:
            await _sigterm(server)
            assert server.process.poll() is None  # still there for the upload in flight
            upload.go_on.set()
            response = await upload.response
        assert response.status_code == 201, response.text
        assert response.json()["rows_accepted"] == ROWS

        code = await asyncio.to_thread(server.process.wait, WAIT_SECONDS)
        assert server.stopped_cleanly(), f"ended with {code}:\n{server.log()}"
        assert await _stored(database_url) == (1, ROWS)
    finally:
        server.kill()


async def test_an_upload_held_past_the_shutdown_timeout_is_cancelled_and_not_stored(
    database_url: str, tmp_path: Path
) -> None:
    """SURVEY_SHUTDOWN_SECONDS bounds the wait: a client that never sends the rest loses
    its request (nothing of it stored), and the server still shuts down cleanly before
    systemd would SIGKILL it."""
    admin_token = secrets.token_urlsafe(32)
    env = server_env(database_url, tmp_path / "var", admin_token) | {"SURVEY_SHUTDOWN_SECONDS": "1"}
    server = Server(env, tmp_path / "s.log")
    server.start()
    assert server.process is not None
    try:
        async with _upload_in_flight(server, bearer(admin_token)):
            await _sigterm(server)
            code = await asyncio.to_thread(server.process.wait, WAIT_SECONDS)
        assert "timeout graceful shutdown exceeded" in server.log()
        assert server.stopped_cleanly(), f"ended with {code}:\n{server.log()}"
        assert await _stored(database_url) == (0, 0)
    finally:
        server.kill()


async def test_sigterm_finishes_the_report_the_server_is_rendering(
    database_url: str, tmp_path: Path
) -> None:
    """A server that renders reports itself (SQLite always; PostgreSQL by default) finishes
    the one in flight before it ends."""
    admin_token = secrets.token_urlsafe(32)
    admin = bearer(admin_token)
    server = Server(server_env(database_url, tmp_path / "var", admin_token), tmp_path / "s.log")
    server.start()
    assert server.process is not None
    try:
        async with httpx.AsyncClient(timeout=WAIT_SECONDS) as client:
            await server.wait_healthy(client)
            await open_campaign(client, server.base, admin, "salary-survey", YEAR)
            asked = await client.post(
                server.base + "/api/v1/reports",
                json={"type": "participation", "year": YEAR},
                headers=admin,
            )
            assert asked.status_code == 202, asked.text
            report = f"{server.base}/api/v1/reports/{asked.json()['id']}"
            deadline = time.monotonic() + WAIT_SECONDS
            while (await client.get(report, headers=admin)).json()["status"] != "rendering":
                assert time.monotonic() < deadline, server.log()
                await asyncio.sleep(0.02)
        server.terminate()
        code = await asyncio.to_thread(server.process.wait, WAIT_SECONDS)
        assert server.stopped_cleanly(), f"ended with {code}:\n{server.log()}"
        if database_url.startswith("sqlite"):
            assert "finishing it before this process stops" in server.log()
        else:  # procrastinate's graceful stop
            assert "Waiting for job to finish" in server.log()
        db = open_database(database_url)
        try:
            async with db.read() as session:
                status = await session.scalar(
                    select(Report.status).where(Report.id == asked.json()["id"])
                )
        finally:
            await db.dispose()
        assert status == "done", server.log()
    finally:
        server.kill()
