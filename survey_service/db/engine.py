"""Engine and session factories for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode with ``synchronous=FULL`` so that an acknowledged write survives a
crash of the process or the machine, with foreign keys on. Write transactions begin with
``BEGIN IMMEDIATE`` so that two writers never deadlock on a lock upgrade; reads begin
deferred so they never wait for a writer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from survey_service.db import sqlite_driver

_BEGIN_OPTION = "sqlite_begin"


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is broken).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=FULL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=30000",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        driver = conn.connection.dbapi_connection
        assert isinstance(driver, sqlite_driver.Connection)
        driver.hold_begin(f"BEGIN {mode}")  # sent with the transaction's first statement


class JSONText(str):
    """A JSON column's value encoded already: stored as it is, not encoded again (an
    uploaded payroll's document is 20 MB of text)."""

    __slots__ = ()


def _json_dumps(value: Any) -> str:
    if isinstance(value, JSONText):
        return value
    return msgspec.json.encode(value).decode()


def create_engine(database_url: str, *, echo: bool = False) -> AsyncEngine:
    url = make_url(database_url)
    # msgspec encodes the JSON columns (a 1,000-row survey is ~1 MB) far faster than json.
    json_options: dict[str, Any] = {
        "json_serializer": _json_dumps,
        "json_deserializer": msgspec.json.decode,
    }
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url,
            echo=echo,
            pool_size=8,
            max_overflow=8,
            module=sqlite_driver.driver(),  # a statement in one trip to aiosqlite's thread
            **json_options,
        )
        _configure_sqlite(engine)
        return engine
    # A connection above pool_size is closed when it comes back, and PostgreSQL forks a
    # process for each new one: a pool smaller than a busy process's concurrent sessions
    # spends its time connecting (load bench, 2 processes: 330 -> 770 requests/s with 20).
    # The small overflow is only a valve for a request that holds a session while it opens
    # another; processes x (pool_size + max_overflow + the limits' 8) must fit the server's
    # max_connections (100 by default).
    return create_async_engine(
        url, echo=echo, pool_size=20, max_overflow=5, pool_pre_ping=True, **json_options
    )


@dataclass(frozen=True, slots=True)
class Database:
    """The engine with a read and a write session factory."""

    engine: AsyncEngine
    read: async_sessionmaker[AsyncSession]
    write: async_sessionmaker[AsyncSession]
    # SQLite: the process's write transactions queue here, in order. Left to SQLite's own
    # lock, each waiting connection polls it through busy_timeout's sleeps (up to 100 ms a
    # try), which made the slowest writes under concurrent load take seconds.
    write_lock: asyncio.Lock | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One write transaction: committed on success, rolled back on any error. Not to be
        opened inside another one (on SQLite it would wait for itself)."""
        if self.write_lock is None:
            async with self.write() as session, session.begin():
                yield session
            return
        async with self.write_lock, self.write() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


def open_database(database_url: str, *, echo: bool = False) -> Database:
    engine = create_engine(database_url, echo=echo)
    write_engine = engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
    return Database(
        engine=engine,
        read=async_sessionmaker(engine, expire_on_commit=False),
        write=async_sessionmaker(write_engine, expire_on_commit=False),
        write_lock=asyncio.Lock() if engine.dialect.name == "sqlite" else None,
    )
