"""The migrations make the tables the models describe, on SQLite and PostgreSQL, and the
latest one goes down and up again (a fresh database of its own: the shared one is left
as it is)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from survey_service.db.engine import Database, open_database
from survey_service.db.migrate import downgrade, upgrade
from survey_service.db.models import Base
from tests.conftest import BACKENDS, _admin, create_database


@pytest.fixture(params=BACKENDS)
async def empty(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        db = open_database(f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}")
        yield db
        await db.dispose()
        return
    url, name = await create_database("survey_migrations")
    db = open_database(url)
    try:
        yield db
    finally:
        await db.dispose()
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection)
    found = compare_metadata(context, Base.metadata)
    # procrastinate's own tables (PostgreSQL's report queue) are not the service's models.
    return [d for d in found if "procrastinate" not in str(d)]


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_the_migrated_schema_is_the_models_and_the_reminders_go_down_and_up(
    empty: Database,
) -> None:
    await upgrade(empty.engine)
    async with empty.engine.connect() as conn:
        assert await conn.run_sync(_differences) == []
        assert "reminders" in await conn.run_sync(_tables)
    await downgrade(empty.engine, "0006")
    async with empty.engine.connect() as conn:
        assert "reminders" not in await conn.run_sync(_tables)
    await upgrade(empty.engine)
    async with empty.engine.connect() as conn:
        assert await conn.run_sync(_differences) == []
