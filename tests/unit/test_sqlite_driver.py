"""The SQLite driver (db/sqlite_driver.py): a statement is one trip to aiosqlite's thread,
and what SQLAlchemy reads after it (rows, rowcount, lastrowid, errors) is what sqlite3
gives."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

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


async def test_a_statement_is_one_trip_and_a_read_ends_without_a_rollback_trip(
    db: Database, trips: list[str]
) -> None:
    async with db.read() as session:
        await session.execute(text("SELECT 1"))  # warm the pool: a connection is open
    trips.clear()
    async with db.read() as session:
        assert (await session.execute(text("SELECT 40 + 2"))).scalar_one() == 42
    # BEGIN and the SELECT; the pool's rollback costs one more only when a transaction is
    # open (the read began one: it must end).
    assert trips == ["_run", "_run", "rollback"]


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
