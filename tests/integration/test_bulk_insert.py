"""Many rows in one go (db/bulk.py): what is read back is what was given, on both
databases, and SQLite gets a few multi-row statements, not one step per row."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, text

from survey_service.db import bulk
from survey_service.db.engine import Database

COLUMNS = ("n", "label", "pay")


@pytest.fixture
async def probe(database: Database) -> AsyncIterator[Database]:
    async with database.transaction() as session:
        await session.execute(text("DROP TABLE IF EXISTS bulk_probe"))
        await session.execute(
            text("CREATE TABLE bulk_probe (n INTEGER, label TEXT, pay DOUBLE PRECISION)")
        )
    yield database
    async with database.transaction() as session:
        await session.execute(text("DROP TABLE bulk_probe"))


async def test_rows_beyond_one_statement_are_stored_as_given(probe: Database) -> None:
    rows: list[tuple[Any, ...]] = [
        (n, None if n % 7 == 0 else f"工种 {n}", None if n % 5 == 0 else n * 1.5)
        for n in range(2 * bulk.ROWS_PER_STATEMENT + 201)
    ]
    statements: list[tuple[str, bool]] = []

    def seen(_c: Any, _cur: Any, statement: str, _p: Any, _ctx: Any, many: bool) -> None:
        if statement.startswith("INSERT INTO bulk_probe"):
            statements.append((statement, many))

    event.listen(probe.engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with probe.transaction() as session:
            await bulk.insert_tuples(await session.connection(), "bulk_probe", COLUMNS, rows)
            await bulk.insert_tuples(await session.connection(), "bulk_probe", COLUMNS, [])
    finally:
        event.remove(probe.engine.sync_engine, "before_cursor_execute", seen)
    async with probe.read() as session:
        stored = await session.execute(text("SELECT n, label, pay FROM bulk_probe ORDER BY n"))
        assert [tuple(r) for r in stored] == rows
    if probe.is_sqlite:  # three multi-row statements, none per row
        assert [many for _, many in statements] == [False, False, False]
        assert statements[0][0].count("(?, ?, ?)") == bulk.ROWS_PER_STATEMENT
    else:  # one executemany, which asyncpg pipelines
        assert [many for _, many in statements] == [True]
