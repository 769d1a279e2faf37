"""Report rendering after the database failed under it: nothing stays ``queued`` or
``rendering`` for ever.

- In process (SQLite): a report whose storing failed is tried again after a pause.
- procrastinate (PostgreSQL): a worker that stops (its listener's connection cut) is
  started again; the sweep retries the job of a worker that died and gives a job again to
  a report that was left without one (its defer failed after its commit).
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from survey_service.db.engine import Database, open_database
from survey_service.db.migrate import upgrade
from survey_service.db.models import Campaign, FormVersion, Report, utcnow
from survey_service.forms.registry import load_shipped_forms
from survey_service.reports import jobs
from survey_service.settings import Settings
from tests.integration.faults.server import private_postgres
from tests.paths import PROJECT_ROOT

YEAR = 2024
WAIT_SECONDS = 60  # a bound on a stuck worker, not a performance figure


def _settings(url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=url, var_dir=tmp_path / "var", form_schemas_dir=PROJECT_ROOT / "form_schemas"
    )


async def _prepare(db: Database) -> None:
    """The shipped forms and a campaign of YEAR: what a participation report needs."""
    await upgrade(db.engine)
    await load_shipped_forms(db, PROJECT_ROOT / "form_schemas")
    async with db.transaction() as session:
        version_id = await session.scalar(select(FormVersion.id).limit(1))
        assert version_id is not None
        session.add(
            Campaign(
                form_version_id=version_id, title="recovery", year=YEAR, campaign_year=YEAR,
                opens_at=utcnow() - timedelta(days=1), closes_at=utcnow() + timedelta(days=1),
                audience={}, settings={},
            )
        )  # fmt: skip


async def _report(db: Database, status: str, *, age: timedelta) -> str:
    """A participation report row, as the API leaves it, made ``age`` ago."""
    params = {"year": YEAR}
    async with db.transaction() as session:
        row = Report(
            id=str(uuid.uuid4()),
            kind="participation",
            params=params,
            params_key=jobs.params_key("participation", params),
            data_version="test",
            status=status,
            created_at=utcnow() - age,
        )
        session.add(row)
    return row.id


async def _wait_done(db: Database, *report_ids: str) -> None:
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            async with db.read() as session:
                statuses = dict((await session.execute(select(Report.id, Report.status))).all())
            assert all(statuses[r] != "failed" for r in report_ids), statuses
            if all(statuses[r] == "done" for r in report_ids):
                return
            await asyncio.sleep(0.1)


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[tuple[Database, str]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'reports.db'}"
    db = open_database(url)
    await _prepare(db)
    try:
        yield db, url
    finally:
        await db.dispose()


@pytest.fixture
async def postgres_db() -> AsyncIterator[tuple[Database, str]]:
    async with private_postgres("survey_reports") as (url, _):
        db = open_database(url)
        await _prepare(db)
        try:
            yield db, url
        finally:
            await db.dispose()


async def test_a_report_whose_database_failed_is_tried_again_in_process(
    sqlite_db: tuple[Database, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, url = sqlite_db
    monkeypatch.setattr(jobs, "LOCAL_RETRY_SECONDS", 0.05)
    attempts: list[str] = []
    run_report = jobs.run_report

    async def fails_once(*args: Any) -> None:
        attempts.append(args[2])
        if len(attempts) == 1:
            disk_full = sqlite3.OperationalError("database or disk is full")
            raise OperationalError("UPDATE reports ...", {}, disk_full)
        await run_report(*args)

    monkeypatch.setattr(jobs, "run_report", fails_once)
    report_id = await _report(db, "queued", age=timedelta(0))
    queue = jobs.LocalQueue(db, _settings(url, tmp_path), None)
    try:
        await queue.enqueue(report_id)
        await _wait_done(db, report_id)
    finally:
        await queue.close()
    assert attempts == [report_id, report_id]


async def test_the_sweep_gives_lost_report_jobs_back_to_the_worker(
    postgres_db: tuple[Database, str], tmp_path: Path
) -> None:
    db, url = postgres_db
    queue = jobs.SharedQueue(db, _settings(url, tmp_path), None, jobs.procrastinate_conninfo(db))
    # A report whose job was never made (the defer failed after the commit) ...
    orphan = await _report(db, "queued", age=timedelta(seconds=2 * jobs.ORPHAN_SECONDS))
    # ... and one whose worker died while rendering it: its job is "doing" with no worker.
    stalled = await _report(db, "rendering", age=timedelta(minutes=5))
    await queue.app.open_async()
    try:
        job_id = await queue.app.configure_task("render_report").defer_async(report_id=stalled)
        async with db.transaction() as session:
            await session.execute(
                text("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = :id"),
                {"id": job_id},
            )
        # A report just asked for, whose defer may still be on its way, is left alone.
        fresh = await _report(db, "queued", age=timedelta(0))
        recovered = await queue.recover()
        assert recovered == 2
        await queue.start()
        await _wait_done(db, orphan, stalled)
        async with db.read() as session:
            jobs_of = dict(
                (
                    await session.execute(
                        text(
                            "SELECT args ->> 'report_id', count(*) FROM procrastinate_jobs"
                            " WHERE task_name = 'render_report' GROUP BY 1"
                        )
                    )
                ).all()
            )
            fresh_status = await session.scalar(select(Report.status).where(Report.id == fresh))
        # The stalled job was retried, not doubled; the fresh report got no second job.
        assert jobs_of == {orphan: 1, stalled: 1}
        assert fresh_status == "queued"
    finally:
        await queue.close()


async def test_a_report_worker_that_stops_is_started_again(
    postgres_db: tuple[Database, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, url = postgres_db
    monkeypatch.setattr(jobs, "WORKER_RESTART_PAUSES", (0.01,))
    queue = jobs.SharedQueue(db, _settings(url, tmp_path), None, jobs.procrastinate_conninfo(db))
    runs: list[str] = []
    started_again = asyncio.Event()

    async def worker(**options: Any) -> None:
        runs.append("run")
        if len(runs) == 1:
            raise ConnectionResetError("the listener's connection was cut")
        if len(runs) == 2:
            return  # stopped by itself (a side task failed)
        started_again.set()
        await asyncio.Event().wait()  # runs until cancelled

    monkeypatch.setattr(queue.app, "run_worker_async", worker)
    try:
        await queue.start()
        async with asyncio.timeout(10):
            await started_again.wait()
    finally:
        await queue.close()
    assert runs == ["run", "run", "run"]
