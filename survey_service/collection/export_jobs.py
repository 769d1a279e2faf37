"""Microdata exports as background jobs: asked for over HTTP (202 at once), made by the
process that took the request, one at a time, and kept as a file under ``var/exports``
(the processes of one deployment share its var/ folder).

The surveys are read one at a time and their rows handed to the file's writer in a worker
thread, so a CSV or XLSX export holds one survey in memory, never the campaign; SPSS and
Stata files hold at most one part of a table (``microdata.PART_ROWS`` rows) as compact
dataframes, written when full.

One attempt makes an export: it claims the row (a random token, ``claimed_by``) and says
every ``HEARTBEAT_SECONDS`` that it is alive; it writes its own partial file and records
the outcome only while its claim holds. An export left queued, or running with a heartbeat
older than ``STALE_SECONDS`` (its process stopped), is made again by a server's sweep
(``keep_exports``, every ``SWEEP_SECONDS``, and at start); one another live process is
making is left to it.

Which data: the live data, every survey of the campaign (drafts too, with their status) at
its current revision; or, asked with ``release``, the surveys as that release's snapshot
held them (their revision then, its status and review state: ``release_surveys``), the
microdata behind its tables. A district's staff get their district's enterprises (the
registry's district, now). Worker polls are never exported: their answers are anonymous.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import anyio
import msgspec
from sqlalchemy import ColumnElement, Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.auth import Principal, audit, district_scope, recorder
from survey_service.collection import microdata, release_surveys
from survey_service.db.engine import Database
from survey_service.db.faults import unavailable_reason
from survey_service.db.locks import one_at_a_time
from survey_service.db.lookups import campaign_with_form
from survey_service.db.models import Enterprise, Export, Submission, utcnow
from survey_service.errors import ServiceError, not_found
from survey_service.structs import Body, Out

log = logging.getLogger(__name__)

SUFFIX = {"csv": ".zip", "xlsx": ".xlsx", "sav": ".zip", "dta": ".zip"}
MEDIA_TYPES = {
    ".zip": "application/zip",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
KEEP_DAYS = 7  # an export's file is deleted after this (status "expired")
AT_ONCE = 3  # exports one person may have queued or being made
HEARTBEAT_SECONDS = 10.0
STALE_SECONDS = 120.0  # a running export not heard of for this long: its process stopped
# This process's export tasks by export id: held so that the loop does not drop them, and
# so that an export already waiting here is not started twice.
_running: dict[str, asyncio.Task[None]] = {}
SWEEP_SECONDS = 60.0  # how often a server looks for stopped exports and old files
_one_at_a_time: dict[int, asyncio.Semaphore] = {}  # per event loop


class ExportIn(Body, kw_only=True, forbid_unknown_fields=True):
    format: Literal["csv", "xlsx", "sav", "dta"]
    # a release's number: the surveys as it held them; none: the live data
    release: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)] | None = None


class ExportOut(Out, kw_only=True):
    id: str
    campaign_id: int
    format: str
    district: str | None
    release: int | None  # the release whose surveys these are; None: the live data
    status: str  # queued | running | done | failed | expired
    reason: str | None
    surveys: int | None
    rows: int | None  # the repeated groups' rows (employees)
    size: int | None
    created_at: datetime
    finished_at: datetime | None
    file: str | None  # where to download it, once done


def _kept_since() -> datetime:
    """Exports made before this are expired."""
    return utcnow() - timedelta(days=KEEP_DAYS)


def status_of(row: Export) -> str:
    """The export's status now: a file older than ``KEEP_DAYS`` is expired, whether or not
    it has been deleted yet."""
    return "expired" if row.status == "done" and row.created_at < _kept_since() else row.status


def export_out(row: Export) -> ExportOut:
    status = status_of(row)
    return ExportOut(
        id=row.id, campaign_id=row.campaign_id, format=row.format, district=row.district,
        release=row.release, status=status, reason=row.reason, surveys=row.surveys,
        rows=row.rows, size=row.size, created_at=row.created_at, finished_at=row.finished_at,
        file=f"/api/v1/exports/{row.id}/file" if status == "done" else None,
    )  # fmt: skip


def folder(var_dir: Path) -> Path:
    return var_dir / "exports"


def file_of(var_dir: Path, row: Export) -> Path:
    return folder(var_dir) / f"{row.id}{SUFFIX[row.format]}"


async def ask_export(
    db: Database, var_dir: Path, principal: Principal, campaign_id: int, data: ExportIn
) -> ExportOut:
    """Record the export (audited) and start making it."""
    await expire_old(db, var_dir)
    async with db.transaction() as session:
        # One person's asks one after the other, so that two at once cannot both pass.
        await one_at_a_time(session, f"exports:{recorder(principal)}")
        busy = await session.scalar(
            select(func.count())
            .select_from(Export)
            .where(
                Export.requested_by == recorder(principal),
                Export.status.in_(("queued", "running")),
            )
        )
        if (busy or 0) >= AT_ONCE:
            raise ServiceError(
                "conflict",
                f"{busy} of your exports are still being made; ask again when one is done.",
            )
        found = await campaign_with_form(session, campaign_id)
        if found is None:
            raise not_found(f"Campaign {campaign_id}")
        _, _, form = found
        if form.kind == "poll":
            raise ServiceError(
                "unprocessable",
                "A worker poll's answers are anonymous and are never exported one by one; "
                "its figures are in the satisfaction tables.",
            )
        if data.release is not None:
            await release_surveys.recorded_release(session, campaign_id, data.release)
        row = Export(
            id=str(uuid.uuid4()), campaign_id=campaign_id, format=data.format,
            district=district_scope(principal), release=data.release, status="queued",
            requested_by=recorder(principal), created_at=utcnow(),
        )  # fmt: skip
        session.add(row)
        await session.flush()
        out = export_out(row)
        audit(session, principal, "export.request", f"export:{out.id}",
              campaign_id=campaign_id, format=data.format, release=data.release)  # fmt: skip
    start(db, var_dir, out.id)
    return out


async def readable_export(session: AsyncSession, principal: Principal, export_id: str) -> Export:
    """The export, to the bureau or to the district's staff who may read it."""
    row = await session.get(Export, export_id)
    scope = district_scope(principal)
    if row is None or (scope is not None and row.district != scope):
        raise not_found(f"Export {export_id}")
    return row


@dataclass(frozen=True, slots=True)
class Download:
    path: Path
    name: str
    media_type: str


async def download(db: Database, var_dir: Path, principal: Principal, export_id: str) -> Download:
    """The export's file, once done and while kept (audited); 409 otherwise."""
    async with db.transaction() as session:
        row = await readable_export(session, principal, export_id)
        status, reason = status_of(row), row.reason
        path = file_of(var_dir, row)
        if status == "done" and not path.exists():  # deleted by hand, or a lost disk
            status, reason = "gone", "its file is missing; ask for the export again"
        if status != "done":
            detail = f"The export is {status}" + (f": {reason}" if reason else "")
            raise ServiceError("export-not-ready", detail + ".")
        audit(session, principal, "export.download", f"export:{row.id}")
    name = f"campaign-{row.campaign_id}-{row.format}{path.suffix}"
    return Download(path, name, MEDIA_TYPES[path.suffix])


def start(db: Database, var_dir: Path, export_id: str) -> None:
    if export_id in _running:
        return
    task = asyncio.get_running_loop().create_task(run_export(db, var_dir, export_id))
    _running[export_id] = task
    task.add_done_callback(lambda _: _running.pop(export_id, None))


async def keep_exports(db: Database, var_dir: Path) -> None:
    """A server's sweep, every ``SWEEP_SECONDS`` until cancelled: the files of old exports
    deleted, and an export whose process stopped made here (not only at the next start)."""
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        try:
            await resume_exports(db, var_dir)
        except Exception as exc:
            if unavailable_reason(exc) is None:
                log.exception("exports: the sweep failed; trying again later")


async def expire_old(db: Database, var_dir: Path) -> None:
    """Delete the files of exports made more than ``KEEP_DAYS`` ago (microdata should not
    lie about); their rows stay, ``expired``."""
    expired = (Export.status == "done") & (Export.created_at < _kept_since())
    async with db.read() as session:  # the sweep runs every minute: a write only when due
        if await session.scalar(select(Export.id).where(expired).limit(1)) is None:
            return
    async with db.transaction() as session:
        for row in await session.scalars(select(Export).where(expired)):
            file_of(var_dir, row).unlink(missing_ok=True)
            row.status = "expired"


def _being_made() -> ColumnElement[bool]:
    """Running, and its attempt heard of within ``STALE_SECONDS``."""
    stale = utcnow() - timedelta(seconds=STALE_SECONDS)
    heard = func.coalesce(Export.heartbeat_at, Export.created_at)
    return (Export.status == "running") & (heard >= stale)


def _unclaimed() -> ColumnElement[bool]:
    """Exports to be made: queued, or running with no word from their attempt (its process
    stopped)."""
    return (Export.status == "queued") | ((Export.status == "running") & ~_being_made())


async def _delete_leftovers(db: Database, var_dir: Path) -> None:
    """Files of attempts that stopped part-way (a killed process's partial and part files):
    those of every export no live attempt is making, but its finished file."""
    found = await anyio.to_thread.run_sync(lambda: list(folder(var_dir).glob("*")))
    by_export: dict[str, list[Path]] = defaultdict(list)
    for path in found:
        by_export[path.name[:36]].append(path)
    if not by_export:
        return
    async with db.read() as session:
        rows = {
            row.id: (row, bool(busy))
            for row, busy in await session.execute(
                select(Export, _being_made()).where(Export.id.in_(by_export))
            )
        }
    for export_id, paths in by_export.items():
        row, busy = rows.get(export_id, (None, False))
        if busy:
            continue
        keep = file_of(var_dir, row) if row is not None and row.status == "done" else None
        for path in paths:
            if path != keep:
                await anyio.Path(path).unlink(missing_ok=True)


async def resume_exports(db: Database, var_dir: Path) -> None:
    """At start-up and in each sweep: delete the expired files and what stopped attempts
    left, and make again the exports no live process is making."""
    await expire_old(db, var_dir)
    await _delete_leftovers(db, var_dir)
    async with db.read() as session:
        left = list(
            await session.scalars(select(Export.id).where(_unclaimed()).order_by(Export.created_at))
        )
    for export_id in left:
        start(db, var_dir, export_id)


class Superseded(Exception):
    """Another attempt took the export over (this one was thought stopped)."""


@dataclass(slots=True)
class Claim:
    db: Database
    export_id: str
    token: str
    said: float = 0.0  # when the heartbeat was last written (monotonic)

    async def heartbeat(self) -> None:
        """Say this attempt is alive, every ``HEARTBEAT_SECONDS``; Superseded when another
        attempt holds the export."""
        if time.monotonic() - self.said < HEARTBEAT_SECONDS:
            return
        async with self.db.transaction() as session:
            held = await session.execute(
                update(Export)
                .where(Export.id == self.export_id, Export.claimed_by == self.token)
                .values(heartbeat_at=utcnow())
            )
        if held.rowcount != 1:  # type: ignore[attr-defined]
            raise Superseded(self.export_id)
        self.said = time.monotonic()

    async def finish(self, file: tuple[Path, Path] | None = None, **values: Any) -> bool:
        """Record the outcome if the claim still holds; the file (made, final): ``made``
        becomes ``final`` then, in the same transaction (the row stays locked meanwhile, so
        an attempt that took over cannot have its file replaced by this one's), else it is
        deleted."""
        async with self.db.transaction() as session:
            done = await session.execute(
                update(Export)
                .where(Export.id == self.export_id, Export.claimed_by == self.token)
                .values(finished_at=utcnow(), **values)
            )
            held = bool(done.rowcount == 1)  # type: ignore[attr-defined]
            if file is not None:
                made, final = file
                if held:
                    await anyio.Path(made).replace(final)
                else:
                    await anyio.Path(made).unlink(missing_ok=True)
        if not held:
            log.warning(
                "export %s: taken over by another attempt; its outcome stands", self.export_id
            )
        return held

    async def give_back(self) -> None:
        """This process stops: the export queued again, for any server to make at once."""
        async with self.db.transaction() as session:
            await session.execute(
                update(Export)
                .where(Export.id == self.export_id, Export.claimed_by == self.token)
                .values(status="queued", claimed_by=None, heartbeat_at=None)
            )


async def _claim(db: Database, export_id: str) -> tuple[Claim, Export] | None:
    token = secrets.token_hex(16)
    async with db.transaction() as session:
        claimed = await session.execute(
            update(Export)
            .where(Export.id == export_id, _unclaimed())
            .values(status="running", claimed_by=token, heartbeat_at=utcnow())
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None  # made, being made by another process, or gone
        row = await session.get(Export, export_id)
    assert row is not None
    return Claim(db, export_id, token, time.monotonic()), row


async def run_export(db: Database, var_dir: Path, export_id: str) -> None:
    lock = _one_at_a_time.setdefault(id(asyncio.get_running_loop()), asyncio.Semaphore(1))
    async with lock:
        claimed = await _claim(db, export_id)
        if claimed is None:
            return
        claim, row = claimed
        try:
            surveys, rows, made = await _write(claim, var_dir, row)
            await claim.finish((made, file_of(var_dir, row)), status="done", surveys=surveys,
                               rows=rows, size=made.stat().st_size)  # fmt: skip
        except Superseded:
            log.warning("export %s: taken over by another process", export_id)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(claim.give_back())
            raise
        except Exception as exc:
            log.exception("export %s failed", export_id)
            await claim.finish(status="failed", reason=f"{type(exc).__name__}: {exc}"[:500])


async def stop_exports() -> None:
    """At shutdown: this process's exports stopped and given back (queued), so that another
    server makes them at once rather than after ``STALE_SECONDS``."""
    tasks = list(_running.values())
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _write(claim: Claim, var_dir: Path, row: Export) -> tuple[int, int, Path]:
    """The export written to this attempt's own partial file: (surveys, repeated rows,
    the file)."""
    db = claim.db
    async with db.read() as session:
        found = await campaign_with_form(session, row.campaign_id)
    if found is None:
        raise ValueError("the campaign is gone")
    _, version, _ = found
    tables = microdata.layout(version.schema)
    final = file_of(var_dir, row)
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_suffix(f"{final.suffix}.{claim.token}.part")  # this attempt's own
    fmt = cast(microdata.Format, row.format)
    writer = await anyio.to_thread.run_sync(microdata.TableWriter, partial, fmt, tables)
    surveys = repeated = 0
    try:
        async with db.read() as session:
            release_id = (
                None if row.release is None
                else await release_surveys.recorded_release(session, row.campaign_id, row.release)
            )  # fmt: skip
            listed = (await session.execute(_listing(row, release_id))).all()
        # One survey's document at a time: a salary survey may hold 100,000 employees.
        for listing in listed:
            await claim.heartbeat()
            survey = listing._asdict()
            async with db.read() as session:
                if release_id is None:  # as it stands now: its facts read with its document
                    current = (await session.execute(_current(listing.id))).first()
                    if current is None:
                        continue
                    survey |= current._asdict()
                    data = survey.pop("data")
                else:
                    data = await session.scalar(release_surveys.document_of(release_id, listing.id))
            survey["updated_at"] = survey["updated_at"].isoformat()
            by_table: dict[int, list[list[Any]]] = defaultdict(list)
            for table, cells in microdata.rows_of(tables, survey, data or {}):
                by_table[table].append(cells)
            del data
            surveys += 1
            for table, cells in by_table.items():
                repeated += len(cells) if table else 0
                await anyio.to_thread.run_sync(writer.add, table, cells)
        await anyio.to_thread.run_sync(writer.close)
    except BaseException:
        writer.discard()
        partial.unlink(missing_ok=True)
        raise
    return surveys, repeated, partial


def _listing(row: Export, release_id: int | None) -> Select[*tuple[Any, ...]]:
    """The export's surveys with their enterprise (the registry's now), by credit code; a
    release's with the facts it held (the live ones' are read with each document)."""
    surveys = (
        select(Submission.id).where(Submission.campaign_id == row.campaign_id)
        if release_id is None
        else release_surveys.surveys_of(release_id)
    )
    query = (
        surveys.add_columns(
            Enterprise.uscc,
            Enterprise.name,
            Enterprise.district,
            Enterprise.industry,
            Enterprise.size_class,
        )
        .join(Enterprise, Enterprise.id == Submission.enterprise_id)
        .order_by(Enterprise.uscc)
    )
    return query if row.district is None else query.where(Enterprise.district == row.district)


def _current(submission_id: str) -> Select[*tuple[Any, ...]]:
    return select(
        Submission.data, Submission.status, Submission.review_state, Submission.revision,
        Submission.updated_at,
    ).where(Submission.id == submission_id)  # fmt: skip
