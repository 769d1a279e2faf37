"""Backup and restore of the whole database through the portable archive (``archive.py``).

``backup`` reads every table of the models in one read-only snapshot (the service may go
on serving meanwhile), a few rows at a time, straight into the archive: a database much
larger than memory is fine. The archive is written beside its target and renamed into
place once complete, so a failed backup leaves no half-written file under its name.

``restore`` checks the archive first (format, schema revision, tables and columns, every
file's sha256 and row count), then in one transaction migrates an empty database (either
backend: SQLite and PostgreSQL restore each other's archives), inserts the rows in the
order of the foreign keys and moves PostgreSQL's id sequences past them. Any error rolls
everything back. A database that holds any row is refused unless ``force``: then its rows
are deleted first, in the same transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import Integer, Table, func, insert, inspect, select, text
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from survey_service import __version__
from survey_service.db import archive
from survey_service.db.engine import Database
from survey_service.db.migrate import alembic_config, upgrade_connection
from survey_service.db.models import Base, utcnow

ROWS_PER_FETCH = 1000
ROWS_PER_FETCH_LARGE = 20  # rows of a table that may hold megabytes each
INSERT_BATCH_BYTES = 2 << 20  # archive lines inserted at once, at most (as dicts: ~10x)
INSERT_BATCH_ROWS = 1000


class BackupError(Exception):
    """Why a backup or a restore was refused; nothing was changed."""


@dataclass(frozen=True, slots=True)
class Outcome:
    manifest: archive.Manifest
    seconds: float
    archive_bytes: int


async def _size(path: Path) -> int:
    return await asyncio.to_thread(os.path.getsize, path)


# State that is not data: the limits' counters (they start afresh after a restore, as after
# a crash of PostgreSQL) are neither archived nor restored.
NOT_ARCHIVED = frozenset({"rate_limits"})


def model_tables() -> list[Table]:
    """Every table of the models that a backup holds, parents before children."""
    return [t for t in Base.metadata.sorted_tables if t.name not in NOT_ARCHIVED]


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def _revision(conn: AsyncConnection) -> str | None:
    if not await conn.run_sync(lambda sync: inspect(sync).has_table("alembic_version")):
        return None
    revision: str | None = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    return revision


async def backup(db: Database, path: Path) -> Outcome:
    """Write the whole database to the archive at ``path``."""
    started = time.perf_counter()
    partial = path.with_name(path.name + ".partial")
    try:
        async with db.engine.connect() as conn:
            if not db.is_sqlite:  # one snapshot for every table
                await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                revision = await _revision(conn)
                if revision is None:
                    raise BackupError("the database has no schema yet: nothing to back up")
                with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as out:
                    entries = [await _write_table(conn, out, table) for table in model_tables()]
                    manifest = archive.Manifest(
                        format=archive.FORMAT,
                        format_version=archive.FORMAT_VERSION,
                        schema_revision=revision,
                        created_at=utcnow(),
                        source_backend=db.engine.dialect.name,
                        service_version=__version__,
                        left_out=archive.LEFT_OUT,
                        tables=entries,
                    )
                    archive.write_manifest(out, manifest)
        os.replace(partial, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return Outcome(manifest, time.perf_counter() - started, await _size(path))


async def _write_table(
    conn: AsyncConnection, out: zipfile.ZipFile, table: Table
) -> archive.TableEntry:
    writer = archive.TableWriter(out, table)
    per_fetch = ROWS_PER_FETCH_LARGE if archive.has_large_values(table) else ROWS_PER_FETCH
    query = select(table).order_by(*table.primary_key.columns)
    result = await conn.stream(query.execution_options(yield_per=per_fetch))
    async for rows in result.partitions():
        for row in rows:
            writer.write(dict(row._mapping))
    return writer.close()


def check_archive(path: Path) -> tuple[zipfile.ZipFile, archive.Manifest]:
    """The opened archive and its manifest, once everything in it has been checked."""
    opened = archive.open_archive(path)
    try:
        manifest = archive.read_manifest(opened)
        head = head_revision()
        if manifest.schema_revision != head:
            raise archive.ArchiveError(
                f"the archive was made at schema revision {manifest.schema_revision}, and this "
                f"survey_service is at {head}: restore it with the version that made it, then "
                "upgrade"
            )
        archive.check_tables(manifest, model_tables())
        archive.verify_files(opened, manifest)
    except BaseException:
        opened.close()
        raise
    return opened, manifest


async def restore(db: Database, path: Path, *, force: bool = False) -> Outcome:
    """Load the archive at ``path`` into the database, all or nothing."""
    started = time.perf_counter()
    try:
        opened, manifest = check_archive(path)
    except archive.ArchiveError as exc:
        raise BackupError(str(exc)) from None
    with opened:
        try:
            await _restore_checked(db, opened, manifest, force=force)
        except archive.ArchiveError as exc:
            raise BackupError(str(exc)) from None
        except (IntegrityError, DataError) as exc:  # an archive edited with its hashes
            raise BackupError(f"the archive's rows do not fit the schema: {exc.orig}") from None
    return Outcome(manifest, time.perf_counter() - started, await _size(path))


async def _restore_checked(
    db: Database, opened: zipfile.ZipFile, manifest: archive.Manifest, *, force: bool
) -> None:
    """The restore's one transaction."""
    async with db.transaction() as session:
        conn = await session.connection()
        revision = await _revision(conn)
        if revision is None:
            await conn.run_sync(upgrade_connection, manifest.schema_revision)
        elif revision != manifest.schema_revision:
            raise BackupError(
                f"the database is at schema revision {revision}, the archive at "
                f"{manifest.schema_revision}"
            )
        else:
            filled = await _filled_tables(conn)
            if filled and not force:
                raise BackupError(
                    "the database is not empty (rows in " + ", ".join(filled) + "): "
                    "restore into an empty database, or give --force to replace its data"
                )
            if filled:
                await _delete_all(conn, db.is_sqlite)
        tables = {table.name: table for table in model_tables()}
        for entry in sorted(manifest.tables, key=lambda e: list(tables).index(e.name)):
            await _load_table(conn, opened, entry, tables[entry.name])
        if not db.is_sqlite:
            await _move_sequences(conn)


async def _filled_tables(conn: AsyncConnection) -> list[str]:
    filled = []
    for table in model_tables():
        if (await conn.execute(select(table).limit(1))).first() is not None:
            filled.append(table.name)
    return filled


async def _delete_all(conn: AsyncConnection, is_sqlite: bool) -> None:
    tables = list(reversed(model_tables()))
    if is_sqlite:
        for table in tables:
            await conn.execute(table.delete())
    else:
        names = ", ".join(f'"{table.name}"' for table in tables)
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))


async def _load_table(
    conn: AsyncConnection, opened: zipfile.ZipFile, entry: archive.TableEntry, table: Table
) -> None:
    statement = insert(table)
    batch: list[dict[str, Any]] = []
    size = 0
    loaded = 0
    for row, line_size in archive.read_rows(opened, entry, table):
        batch.append(row)
        size += line_size
        if len(batch) >= INSERT_BATCH_ROWS or size >= INSERT_BATCH_BYTES:
            await conn.execute(statement, batch)
            loaded += len(batch)
            batch, size = [], 0
    if batch:
        await conn.execute(statement, batch)
        loaded += len(batch)
    if loaded != entry.rows:  # verify_files counted the lines; this counts the rows
        raise BackupError(f"table {entry.name}: {loaded} rows loaded, {entry.rows} expected")


async def _move_sequences(conn: AsyncConnection) -> None:
    """Past the highest restored id, so that new rows do not collide (PostgreSQL only)."""
    for table in model_tables():
        for column in table.primary_key.columns:
            if not isinstance(column.type, Integer):
                continue
            sequence = await conn.scalar(
                text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": table.name, "column": column.name},
            )
            if sequence is None:
                continue
            highest = await conn.scalar(select(func.max(column)))
            await conn.execute(
                text("SELECT setval(:sequence, :next, false)"),
                {"sequence": sequence, "next": (highest or 0) + 1},
            )
