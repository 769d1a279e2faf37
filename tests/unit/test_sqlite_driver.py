"""The SQLite driver (db/sqlite_driver.py): a statement is one trip to aiosqlite's thread,
and what SQLAlchemy reads after it (rows, rowcount, lastrowid, errors) is what sqlite3
gives."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from survey_service.db.engine import Database, open_database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = open_database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
    yield database
    await database.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    made: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        made.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return made


async def test_a_statement_is_one_trip_with_its_transaction_begun_in_it(
    db: Database, trips: list[str]
) -> None:
    async with db.read() as session:
        await session.execute(text("SELECT 1"))  # warm the pool: a connection is open
    trips.clear()
    async with db.read() as session:
        assert (await session.execute(text("SELECT 40 + 2"))).scalar_one() == 42
        conn = await session.connection()
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        assert raw._conn.in_transaction
    # BEGIN rides with the SELECT; the pool's rollback costs a trip only because the read
    # began a transaction (it must end).
    assert trips == ["_run", "rollback"]


async def test_a_transaction_that_runs_nothing_makes_no_trip(
    db: Database, trips: list[str]
) -> None:
    async with db.read() as session:
        await session.execute(text("SELECT 1"))
    trips.clear()
    async with db.transaction() as session:
        await session.connection()  # begun: BEGIN IMMEDIATE issued, and held
    async with db.read() as session:
        await session.connection()
    assert trips == []


async def test_a_held_begin_immediate_still_waits_for_another_writer(
    db: Database, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "driver.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process writing
        slow = open_database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
        try:
            async with slow.read() as session:  # the pool's one connection waits 50 ms
                await (await session.connection()).exec_driver_sql("PRAGMA busy_timeout=50")
            with pytest.raises(OperationalError, match="locked"):
                async with slow.transaction() as session:
                    await session.execute(text("SELECT 1"))  # its BEGIN IMMEDIATE waits
            other.execute("ROLLBACK")
            async with slow.transaction() as session:  # the lock gone, the same works
                await session.execute(text("INSERT INTO t (v) VALUES ('w')"))
        finally:
            await slow.dispose()
    finally:
        other.close()
    async with db.read() as session:
        assert (await session.execute(text("SELECT v FROM t"))).scalars().all() == ["w"]


async def test_a_stream_first_in_a_transaction_runs_the_held_begin(db: Database) -> None:
    async with db.transaction() as session:
        result = await session.stream(text("SELECT count(*) FROM t"))
        assert [tuple(r) async for r in result] == [(0,)]
        conn = await session.connection()
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        assert raw._conn.in_transaction
        await session.execute(text("INSERT INTO t (v) VALUES ('s')"))
    async with db.read() as session:
        assert (await session.execute(text("SELECT v FROM t"))).scalars().all() == ["s"]


async def test_rows_rowcount_lastrowid_and_errors_come_back(db: Database) -> None:
    async with db.transaction() as session:
        inserted = await session.execute(text("INSERT INTO t (v) VALUES ('a')"))
        assert inserted.lastrowid == 1
        conn = await session.connection()
        await conn.exec_driver_sql("INSERT INTO t (v) VALUES (?)", [("b",), ("c",)])
        updated = await session.execute(text("UPDATE t SET v = v || '!' WHERE id > 1"))
        assert updated.rowcount == 2
        rows = (await session.execute(text("SELECT id, v FROM t ORDER BY id"))).all()
        assert [tuple(r) for r in rows] == [(1, "a"), (2, "b!"), (3, "c!")]
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await session.execute(text("INSERT INTO t (v) VALUES ('a')"))
    async with db.read() as session:
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 3
