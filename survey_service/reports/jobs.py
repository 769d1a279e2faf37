"""Report jobs: asked for over HTTP (202 at once), rendered by a worker, stored as PDF.

Two queues, one lifecycle. On the embedded default (SQLite, one server process) an asyncio
task in the process takes report ids from an in-memory queue; reports still ``queued`` or
``rendering`` at start-up (the process stopped) are queued again. On PostgreSQL the ids go
through procrastinate, whose workers run in every server process and share its job table,
so several processes share the rendering and a job survives its process. The servers may
also only queue (``SURVEY_SERVER_RENDERS_REPORTS=false``) and leave the rendering to
``python -m survey_service worker`` processes (``work_until_signalled``), so that rendering
does not compete with requests.

Either way the work is ``run_report``: gather the figures (the analytics functions, on
the event loop), cut the report into sections, render the sections in a process pool
(WeasyPrint holds the GIL for seconds), join them and store the PDF with its page count.
A failure stores ``failed`` and a reason.

The database may go away meanwhile (PostgreSQL restarting, a full disk). A rendered PDF is
kept and its storing tried again for a few minutes; a report whose work was cut off is
queued again (locally after a pause; with procrastinate, a worker that stops on a lost
connection is started again, and every minute a sweep retries the jobs of workers that
died and queues again the reports left without a job).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

import msgspec
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from survey_service import counters
from survey_service.db.engine import Database
from survey_service.db.faults import unavailable_reason
from survey_service.db.models import (
    Campaign,
    CollectiveContract,
    Enterprise,
    PollResponse,
    Release,
    Report,
    Review,
    Submission,
    utcnow,
)
from survey_service.reports import kinds
from survey_service.reports.render import TEMPLATES, compose, environment, render_section
from survey_service.settings import Settings
from survey_service.webhooks import events as webhook_events

log = logging.getLogger(__name__)


def params_key(kind: str, params: dict[str, Any]) -> str:
    return hashlib.sha256(msgspec.json.encode([kind, params], order="sorted")).hexdigest()


@cache
def _templates_digest() -> str:
    """The templates as this process loaded them (read once, not on every request)."""
    digest = hashlib.sha256()
    for path in sorted(TEMPLATES.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(TEMPLATES).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


async def data_version(db: Database) -> str:
    """A fingerprint of everything a report is made of: the collected data (submissions,
    reviews, poll answers), the releases, the registry, the campaigns (and whether each is
    still collecting) and the templates.
    Any change gives another version, and then a new PDF; none, and the stored one is
    returned."""
    async with db.read() as session:
        parts: list[Any] = []
        for table, stamp in (
            (Submission, Submission.updated_at),
            (Enterprise, Enterprise.updated_at),
            (Review, Review.at),
            (CollectiveContract, CollectiveContract.recorded_at),
        ):
            row = (
                await session.execute(select(func.count(), func.max(stamp)).select_from(table))
            ).one()
            parts.append([row[0], row[1].isoformat() if row[1] else None])
        parts.append(await session.scalar(select(func.count()).select_from(PollResponse)))
        # A withdrawn contract record changes no recorded_at.
        parts.append(str(await session.scalar(select(func.max(CollectiveContract.superseded_at)))))
        releases = await session.execute(
            select(Release.campaign_id, Release.number, Release.content_hash).order_by(
                Release.campaign_id, Release.number
            )
        )
        parts.append([list(r) for r in releases])
        campaigns = await session.execute(
            select(
                Campaign.id, Campaign.settings, Campaign.requires_review, Campaign.closes_at
            ).order_by(Campaign.id)
        )
        # Whether a campaign still collects: its reports are provisional until it closes.
        now = utcnow()
        parts.append([[c.id, c.settings, c.requires_review, now < c.closes_at] for c in campaigns])
    parts.append(_templates_digest())
    return hashlib.sha256(msgspec.json.encode(parts, order="sorted")).hexdigest()


async def run_report(
    db: Database, settings: Settings, report_id: str, executor: Executor | None
) -> None:
    """Render one report and store the outcome (``done`` with the PDF, or ``failed``)."""
    async with db.transaction() as session:
        claimed = await session.execute(
            update(Report)
            .where(Report.id == report_id, Report.status.in_(("queued", "rendering")))
            .values(status="rendering", started_at=utcnow())
        )
        report = await session.get(Report, report_id)
    if claimed.rowcount != 1 or report is None:  # type: ignore[attr-defined]
        return
    started = time.perf_counter()
    try:
        pdf, pages = await build_pdf(db, settings, report.kind, report.params, executor)
    except kinds.ReportError as exc:
        await _finish(db, report_id, status="failed", reason=str(exc))
        counters.report_jobs.labels(report.kind, "failed").inc()
        return
    except Exception as exc:
        log.exception("report %s failed", report_id)
        await _finish(
            db, report_id, status="failed", reason=f"rendering failed: {type(exc).__name__}"
        )
        counters.report_jobs.labels(report.kind, "failed").inc()
        return
    seconds = time.perf_counter() - started
    await _finish(
        db,
        report_id,
        status="done",
        pdf=pdf,
        pages=pages,
        size=len(pdf),
        seconds=seconds,
        done_kind=report.kind,
    )
    counters.report_jobs.labels(report.kind, "done").inc()
    counters.report_seconds.labels(report.kind).observe(seconds)


# Pauses between attempts to store a finished report while the database is away (about
# three minutes in all); then the error is raised and the report is queued again later.
FINISH_RETRY_PAUSES = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 30.0, 30.0, 30.0, 30.0)


async def _finish(
    db: Database, report_id: str, *, done_kind: str | None = None, **values: Any
) -> None:
    """Store the outcome; while the database is away keep trying for a while, rather than
    throw away a PDF that took seconds to render."""
    for pause in (*FINISH_RETRY_PAUSES, None):
        try:
            async with db.transaction() as session:
                # A report rendered twice (its first renderer thought dead): a PDF stands
                # over the other's failure, and the first outcome over a second failure.
                was = ("rendering", "failed") if values.get("status") == "done" else ("rendering",)
                stored = await session.execute(
                    update(Report)
                    .where(Report.id == report_id, Report.status.in_(was))
                    .values(finished_at=utcnow(), **values)
                )
                # ... and it is told once.
                if done_kind is not None and stored.rowcount == 1:  # type: ignore[attr-defined]
                    webhook_events.report_done(session, report_id, done_kind)
            return
        except Exception as exc:
            if pause is None or unavailable_reason(exc) is None:
                raise
            await asyncio.sleep(pause)


async def build_pdf(
    db: Database,
    settings: Settings,
    kind: str,
    params: dict[str, Any],
    executor: Executor | None,
) -> tuple[bytes, int]:
    """The report's PDF and its page count (also what the CLI writes to a file)."""
    spec = kinds.KINDS[kind]
    async with db.read() as session:
        context = await spec.gather(session, params, settings)
    env = environment()
    sections = spec.sections(env, context)
    loop = asyncio.get_running_loop()
    base = str(TEMPLATES)
    if executor is None:
        parts = [await asyncio.to_thread(render_section, s.html, base) for s in sections]
    else:
        parts = list(
            await asyncio.gather(
                *(loop.run_in_executor(executor, render_section, s.html, base) for s in sections)
            )
        )
    title = spec.title(context)
    return await asyncio.to_thread(
        lambda: compose(
            env,
            title,
            list(zip(sections, parts, strict=True)),
            subject=kind,
            numbered_from=2 if spec.cover else 1,
            mark=spec.mark(context),
        )
    )


# --- the queues ----------------------------------------------------------------------------


class Queue(Protocol):
    async def enqueue(self, report_id: str) -> None: ...

    async def close(self) -> None: ...


LOCAL_RETRY_SECONDS = 10.0  # before a report whose storing failed is tried again
WORKER_RESTART_PAUSES = (1.0, 2.0, 5.0, 10.0, 30.0)  # then 30 s each time
RECOVERY_CRON = "* * * * *"  # the sweep for lost report jobs: every minute
# A report queued this long ago without a job lost it (its defer failed after its commit).
ORPHAN_SECONDS = 60


@dataclass(slots=True)
class LocalQueue:
    """One asyncio task in this process renders the queued reports one after the other
    (each over the process pool's workers)."""

    db: Database
    settings: Settings
    executor: Executor | None
    _ids: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    _task: asyncio.Task[None] | None = None
    _rendering: str | None = None  # the report in flight
    _closing: bool = False

    async def enqueue(self, report_id: str) -> None:
        self._ids.put_nowait(report_id)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._work())

    async def requeue_unfinished(self) -> None:
        async with self.db.read() as session:
            ids = await session.scalars(
                select(Report.id)
                .where(Report.status.in_(("queued", "rendering")))
                .order_by(Report.created_at)
            )
            for report_id in list(ids):
                await self.enqueue(report_id)

    async def _work(self) -> None:
        while not self._ids.empty() and not self._closing:
            report_id = self._ids.get_nowait()
            self._rendering = report_id
            try:
                await run_report(self.db, self.settings, report_id, self.executor)
            except Exception as exc:
                # run_report stores its own failures: this is the database failing under
                # it. The report keeps its status; try it again after a pause.
                log.warning(
                    "report %s: the database failed (%s); trying again in %.0f s",
                    report_id, type(exc).__name__, LOCAL_RETRY_SECONDS,
                )  # fmt: skip
                self._ids.put_nowait(report_id)
                self._rendering = None
                await asyncio.sleep(LOCAL_RETRY_SECONDS)
            finally:
                self._rendering = None

    async def close(self) -> None:
        """At shutdown: finish the report in flight (for at most SURVEY_SHUTDOWN_SECONDS),
        take no other; those still queued keep their status, and the next start renders
        them (``requeue_unfinished``)."""
        self._closing = True
        task = self._task
        if task is None or task.done():
            return
        if self._rendering is not None:
            log.info(
                "report %s: finishing it before this process stops (at most %d s)",
                self._rendering, self.settings.shutdown_seconds,
            )  # fmt: skip
            done, _ = await asyncio.wait({task}, timeout=self.settings.shutdown_seconds)
            if done:
                return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def procrastinate_conninfo(db: Database) -> str:
    """The libpq connection string of the service's PostgreSQL (psycopg's form)."""
    url = db.engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


@dataclass(slots=True)
class SharedQueue:
    """procrastinate on PostgreSQL: jobs in the database, taken by a worker in every process
    that ``renders`` (the servers unless told otherwise, and the worker command's)."""

    db: Database
    settings: Settings
    executor: Executor | None
    conninfo: str
    renders: bool = True
    app: Any = None
    _worker: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        import procrastinate

        self.app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(conninfo=self.conninfo)
        )

        @self.app.task(name="render_report", queue="reports")  # type: ignore[untyped-decorator]
        async def render_report(report_id: str) -> None:
            await run_report(self.db, self.settings, report_id, self.executor)

        @self.app.periodic(cron=RECOVERY_CRON, periodic_id="recover_reports")  # type: ignore[untyped-decorator]
        @self.app.task(  # type: ignore[untyped-decorator]
            name="recover_reports", queue="reports", queueing_lock="recover_reports"
        )
        async def recover_reports(timestamp: int) -> None:
            await self.recover()

    async def recover(self) -> int:
        """Retry the render jobs of workers that died (no heartbeat) and queue again the
        reports left without a job; how many reports were given a job."""
        manager = self.app.job_manager
        recovered = 0
        for job in await manager.get_stalled_jobs(task_name="render_report"):
            await manager.retry_job(job)
            recovered += 1
        async with self.db.read() as session:
            orphans = list(
                await session.scalars(
                    text(
                        "SELECT r.id FROM reports r WHERE r.status IN ('queued', 'rendering')"
                        " AND r.created_at < now() - make_interval(secs => :age)"
                        " AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs j"
                        " WHERE j.task_name = 'render_report' AND j.status IN ('todo', 'doing')"
                        " AND j.args ->> 'report_id' = r.id)"
                    ),
                    {"age": ORPHAN_SECONDS},
                )
            )
        for report_id in orphans:
            await self.app.configure_task("render_report").defer_async(report_id=report_id)
            recovered += 1
        if recovered:
            log.warning(
                "report jobs recovered: %d (their worker died, or none was made)", recovered
            )
        return recovered

    async def _run_worker(self) -> None:
        """This process's worker, until ``close`` cancels it (procrastinate then takes no
        new job and waits for the one in flight). It stops by itself when the database
        goes away (its listener's connection is cut, or its pool waits too long): then it
        is started again after a pause, longer each time it stops again soon."""
        failures = 0
        while True:
            started = time.monotonic()
            why = "by itself"
            try:
                await self.app.run_worker_async(
                    queues=["reports"], concurrency=1, install_signal_handlers=False
                )
            except Exception as exc:
                why = f"on {type(exc).__name__}: {exc}".strip()
            if time.monotonic() - started > 5 * WORKER_RESTART_PAUSES[-1]:
                failures = 0  # it had been working for a while: no long pause
            pause = WORKER_RESTART_PAUSES[min(failures, len(WORKER_RESTART_PAUSES) - 1)]
            failures += 1
            log.warning("the report worker stopped %s; starting it again in %.0f s", why, pause)
            await asyncio.sleep(pause)

    async def _start(self) -> None:
        await self.app.open_async()  # once: a second call finds its pool open
        if self.renders and (self._worker is None or self._worker.done()):
            self._worker = asyncio.get_running_loop().create_task(self._run_worker())

    async def enqueue(self, report_id: str) -> None:
        await self._start()
        await self.app.configure_task("render_report").defer_async(report_id=report_id)

    async def start(self) -> None:
        await self._start()

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        if self.app is not None:
            with contextlib.suppress(Exception):
                await self.app.close_async()


async def work_until_signalled(queue: SharedQueue) -> None:
    """The worker command: render the queued reports (and run the sweep for lost ones)
    until SIGTERM or SIGINT; then take no new job, finish the one in flight (procrastinate's
    graceful shutdown) and return. A second signal ends the process at once; the sweep
    then gives its job to another worker."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    signals = (signal.SIGTERM, signal.SIGINT)

    def stop(received: signal.Signals) -> None:
        for each in signals:
            loop.remove_signal_handler(each)  # the next one acts as if we were not here
        log.info(
            "report worker: %s received; taking no new job, finishing the one in flight",
            received.name,
        )
        stopping.set()

    for each in signals:
        loop.add_signal_handler(each, stop, each)
    await queue.start()
    log.info(
        "report worker started (queue 'reports', %d rendering processes)",
        queue.settings.report_workers,
    )
    try:
        await stopping.wait()
    finally:
        await queue.close()
    log.info("report worker stopped")


async def start_queue(queue: Queue) -> None:
    """At server start: pick up what an earlier process left (local) or start this
    process's worker (procrastinate)."""
    if isinstance(queue, LocalQueue):
        await queue.requeue_unfinished()
    elif isinstance(queue, SharedQueue):
        await queue.start()


def make_queue(db: Database, settings: Settings, executor: Executor | None) -> Queue:
    """A server process's queue."""
    if db.is_sqlite:
        if not settings.server_renders_reports:
            # Ignored rather than refused: the embedded database is this one process's, so
            # no worker command can render for it, and the reports would never be made.
            log.warning(
                "SURVEY_SERVER_RENDERS_REPORTS=false is ignored on SQLite: the embedded "
                "database is served by this one process, which renders the reports itself"
            )
        return LocalQueue(db, settings, executor)
    if not settings.server_renders_reports:
        log.info(
            "report jobs are queued for `python -m survey_service worker` processes "
            "(SURVEY_SERVER_RENDERS_REPORTS=false); this process renders none"
        )
    return SharedQueue(
        db, settings, executor, procrastinate_conninfo(db), settings.server_renders_reports
    )


# --- reading the reports' rows (for the routes) ------------------------------------------------


async def reusable_report(session: AsyncSession, key: str, version: str) -> Report | None:
    """The latest report of the same request on the same data that is not failed."""
    found: Report | None = await session.scalar(
        select(Report)
        .where(
            Report.params_key == key,
            Report.data_version == version,
            Report.status.in_(("queued", "rendering", "done")),
        )
        .order_by(Report.created_at.desc())
        .limit(1)
    )
    return found


async def load_report(session: AsyncSession, report_id: str, *, with_pdf: bool) -> Report | None:
    query = select(Report).where(Report.id == report_id)
    if with_pdf:
        query = query.options(undefer(Report.pdf))
    found: Report | None = await session.scalar(query)
    return found


async def enterprise_id(session: AsyncSession, uscc: str) -> int | None:
    found: int | None = await session.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc))
    return found
