"""Run the Alembic migrations on an async engine (used by the CLI, the app and the tests),
and the lock that lets one starting process at a time migrate and load the shipped forms."""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# pg_advisory_lock's key for start-up (any bigint the service uses for nothing else).
_STARTUP_KEY = 0x5355525645590001


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade_connection(connection: Connection, revision: str = "head") -> None:
    """Migrate on ``connection``, inside its transaction if it has one begun."""
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _downgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as connection:
        await connection.run_sync(upgrade_connection, revision)


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_downgrade, revision)


@asynccontextmanager
async def startup_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """Held while a starting process migrates, loads the shipped forms and makes the first
    admin token, so that processes started together (two servers and the worker) do it one
    after another: the later ones then find the work done instead of inserting the same
    form twice. PostgreSQL: a session advisory lock, freed if the process dies. SQLite: an
    flock on a file beside the database (alembic's SQLite DDL is not one transaction)."""
    if engine.dialect.name == "postgresql":
        async with engine.connect() as connection:
            await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _STARTUP_KEY})
            await connection.commit()
            try:
                yield
            finally:
                await connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": _STARTUP_KEY}
                )
                await connection.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    fd = os.open(f"{database}.startup-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
