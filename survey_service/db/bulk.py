"""Many rows into one table at once, as each database takes them fastest.

PostgreSQL (asyncpg) gets one ``executemany``: asyncpg sends the rows in one pipeline.

SQLite gets multi-row ``INSERT ... VALUES (...), (...)`` of ``ROWS_PER_STATEMENT`` rows.
The sqlite3 module's ``executemany`` steps the statement once per row and gives up the GIL
around each step; the thread that runs it must take the GIL back a thousand times for a
1,000-row survey, and while the event loop is busy each of those waits up to the switch
interval (5 ms). Measured on the bench machine with the event loop's thread busy, a
1,000-row survey took 1.4 s by ``executemany`` and 23 ms by multi-row statements; with the
loop idle, 4.8 ms against 4.1 ms.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from functools import cache
from itertools import chain
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

# SQLite takes 32,766 parameters in a statement since 3.32.0 (999 before).
_MAX_PARAMETERS = 32_766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999
ROWS_PER_STATEMENT = 500


@cache  # a survey's slices ask the same few statements again and again
def _insert_sql(table: str, columns: tuple[str, ...], row: str, rows: int = 1) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * rows)}"  # noqa: S608


async def insert_tuples(
    conn: AsyncConnection,
    table: str,
    columns: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table``. The table and column
    names are the caller's constants, never input."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":  # asyncpg's numeric_dollar, one row for executemany
        row = "(" + ", ".join(f"${n}" for n in range(1, len(columns) + 1)) + ")"
        await conn.exec_driver_sql(_insert_sql(table, columns, row), list(rows))
        return
    row = "(" + ", ".join("?" * len(columns)) + ")"
    per_statement = max(1, min(ROWS_PER_STATEMENT, _MAX_PARAMETERS // len(columns)))
    for start in range(0, len(rows), per_statement):
        part = rows[start : start + per_statement]
        values = tuple(chain.from_iterable(part))
        await conn.exec_driver_sql(_insert_sql(table, columns, row, len(part)), values)
