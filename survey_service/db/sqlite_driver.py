"""aiosqlite as SQLAlchemy's async SQLite driver, with each statement one trip to the
connection's thread.

aiosqlite runs every call on the connection in a thread of its own, and SQLAlchemy's
adapter makes four such calls for a statement: open a cursor, execute, fetch the rows,
close the cursor. Each is a hand-over to that thread and back to the event loop, about
0.2 ms, so a 1,000-row salary survey (a dozen statements) spent more time handing over
than SQLite spent storing it. Here a statement's cursor is opened, executed, read and
closed by one function in that thread; what SQLAlchemy reads afterwards (the rows, the
description, rowcount, lastrowid) comes back with it. Server-side cursors (``stream``)
keep aiosqlite's own, which fetch as they go.

A transaction's ``BEGIN`` makes no trip of its own: the engine's begin hook hands it to
``hold_begin``, and it runs in the same trip as the transaction's first statement (a
transaction that runs none ends without a trip). A ``BEGIN IMMEDIATE`` that must wait for
another writer waits there, as it would have alone.

This leans on ``aiosqlite.Connection._execute`` and ``_conn`` as SQLAlchemy's own adapter
leans on ``_tx`` and ``_conn`` (the versions are locked; the suite runs on them).
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT, await_only

Outcome = tuple[Any, int, int | None, list[Any]]


def _run(
    conn: sqlite3.Connection, operation: str, parameters: Any, many: bool, begin: str | None
) -> Outcome:
    if begin is not None:
        conn.execute(begin)
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, () if parameters is None else parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor that holds the outcome of its last statement, not a driver cursor."""

    __slots__ = ("_outcome", "arraysize")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._outcome: Outcome = (None, -1, None, [])
        self.arraysize = 1

    @property
    def description(self) -> Any:
        return self._outcome[0]

    @property
    def rowcount(self) -> int:
        return self._outcome[1]

    @property
    def lastrowid(self) -> Any:
        return self._outcome[2]

    async def _trip(self, operation: Any, parameters: Any, many: bool) -> None:
        connection: Connection = self._adapt_connection  # type: ignore[assignment]
        async with connection._execute_mutex:
            begin, connection._pending_begin = connection._pending_begin, None
            driver: aiosqlite.Connection = self._connection  # type: ignore[assignment]
            self._outcome = await driver._execute(  # type: ignore[no-untyped-call]
                _run, driver._conn, operation, parameters, many, begin
            )
            self._rows = collections.deque(self._outcome[3])

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._trip(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        await self._trip(operation, seq_of_parameters, many=True)

    async def _async_soft_close(self) -> None:
        return None  # nothing open in the thread: the rows are here already

    def close(self) -> None:
        self._rows.clear()

    def nextset(self) -> None:
        return None

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None


class Connection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("_pending_begin",)
    _cursor_cls = OneTripCursor  # type: ignore[assignment]

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._pending_begin: str | None = None  # a BEGIN waiting for the first statement

    def hold_begin(self, statement: str) -> None:
        """``statement`` (``BEGIN ...``) is sent with the next statement, in its trip."""
        self._pending_begin = statement

    def cursor(self, server_side: bool = False) -> Any:
        begin = self._pending_begin
        if server_side and begin is not None:
            # aiosqlite's own cursor knows nothing of a held BEGIN: it goes on its own.
            self._pending_begin = None
            driver: aiosqlite.Connection = self._connection  # type: ignore[assignment]
            await_only(driver._execute(driver._conn.execute, begin))  # type: ignore[no-untyped-call]
        return super().cursor(server_side)

    def commit(self) -> None:
        if self._pending_begin is not None:  # began, ran nothing: nothing to commit
            self._pending_begin = None
            return
        super().commit()

    def rollback(self) -> None:
        self._pending_begin = None
        # The pool rolls back every connection it takes back; after a read that began no
        # transaction (or one already ended) that trip would do nothing.
        connection = self._connection._connection
        if connection is not None and connection.in_transaction:
            super().rollback()


class Driver(AsyncAdapt_aiosqlite_dbapi):
    """Passed to ``create_async_engine`` as ``module``: SQLAlchemy's aiosqlite dialect with
    the one-trip cursor."""

    def connect(self, *arg: Any, **kw: Any) -> Connection:
        adapted = super().connect(*arg, **kw)
        return Connection(self, adapted._connection)


def driver() -> Driver:
    return Driver(aiosqlite, sqlite3)
