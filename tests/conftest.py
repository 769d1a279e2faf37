"""Fixtures shared by every test: each database test runs on SQLite and on PostgreSQL.

PostgreSQL is found at ``SURVEY_TEST_PG_URL`` (default: the local ``test`` database).
Under ``CI=true`` a PostgreSQL that cannot be reached fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import bindparam, make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from survey_service.app import create_app
from survey_service.auth import issue_token
from survey_service.db.engine import Database, open_database
from survey_service.db.migrate import upgrade
from survey_service.db.models import Base
from survey_service.forms.registry import load_shipped_forms
from survey_service.process_state import ProcessState
from survey_service.reports.jobs import make_queue
from survey_service.settings import Settings
from tests.paths import PROJECT_ROOT

PG_URL = os.environ.get("SURVEY_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ["sqlite", "postgresql"]


async def _admin(sql: str) -> None:
    """Run one statement on the server's `test` database outside a transaction."""
    engine = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with asyncio.timeout(10), engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


async def open_backend(backend: str, tmp: Path) -> tuple[Database, str | None]:
    """A fresh database: a file for SQLite; on PostgreSQL a database of this run's own, so
    that parallel runs on one server never see each other's tables."""
    if backend == "sqlite":
        db = open_database(f"sqlite+aiosqlite:///{tmp / 'test.db'}")
        await upgrade(db.engine)
        return db, None
    url, name = await create_database(f"survey_test_{os.getpid()}")
    db = open_database(url)
    await upgrade(db.engine)
    return db, name


async def create_database(prefix: str) -> tuple[str, str]:
    """A new empty PostgreSQL database (its URL and name) on the test server. When the
    server cannot be reached the test is skipped, and under ``CI=true`` it fails: an
    unreachable PostgreSQL must not pass CI by skipping half of the suite."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    await require_postgres(f'CREATE DATABASE "{name}"')
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False), name


async def require_postgres(sql: str = "SELECT 1") -> None:
    """Run ``sql`` on the test server; skip the test when the server cannot be reached, and
    fail it under ``CI=true``."""
    try:
        await _admin(sql)
    except (OSError, TimeoutError, DBAPIError) as exc:
        message = f"PostgreSQL at {PG_URL} cannot be reached: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def run_command(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m survey_service ARGS`` from the checkout with ``env``, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "survey_service", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def run_cli(service: Service, var_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m survey_service ARGS`` against the service's database (given as
    ``SURVEY_DATABASE_URL``, as an operator would), its output captured."""
    url = service.db.engine.url.render_as_string(hide_password=False)
    return run_command(
        os.environ | {"SURVEY_DATABASE_URL": url, "SURVEY_VAR_DIR": str(var_dir)}, *args
    )


@pytest.fixture(scope="session", params=BACKENDS)
async def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Database]:
    db, pg_name = await open_backend(request.param, tmp_path_factory.mktemp(request.param))
    yield db
    await db.dispose()
    if pg_name is not None:
        await _admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


_OWNED_SEQUENCES = text(
    """
    SELECT quote_ident(s.relname) FROM pg_class s
    JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')
    JOIN pg_class t ON t.oid = d.refobjid
    WHERE s.relkind = 'S' AND t.relname IN :tables
    """
).bindparams(bindparam("tables", expanding=True))


async def clear(db: Database, keep: frozenset[str] = frozenset()) -> None:
    """Every table of the models but ``keep`` emptied, and on PostgreSQL their sequences
    restarted.

    On PostgreSQL the deletes and restarts go as one simple query: TRUNCATE makes new files
    for each of the ~35 tables and cost about 120 ms a test, these few rows about 17 ms.
    """
    tables = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name not in keep]
    deletes = [f'DELETE FROM "{name}"' for name in tables]
    async with db.engine.begin() as conn:
        if db.is_sqlite:
            for statement in deletes:
                await conn.execute(text(statement))
            return
        sequences = (await conn.execute(_OWNED_SEQUENCES, {"tables": tables})).scalars()
        restarts = [f"ALTER SEQUENCE {name} RESTART" for name in sequences]
        raw = await conn.get_raw_connection()
        await raw.driver_connection.execute(";\n".join(deletes + restarts))


FORM_TABLES = frozenset({"forms", "form_versions"})
# Per database, its form tables' rows just after the shipped forms were loaded on an empty
# database: while they are found unchanged, a test keeps them instead of loading the forms
# again (about 25 ms a test). A test that adds or changes a form changes them.
_shipped_rows: dict[int, list[Any]] = {}


async def _form_rows(db: Database) -> list[Any]:
    async with db.engine.connect() as conn:
        return [
            list(await conn.execute(text(f'SELECT * FROM "{name}" ORDER BY id')))
            for name in sorted(FORM_TABLES)
        ]


async def fresh_database(db: Database, forms_dir: Path) -> None:
    """Empty but for the shipped forms, as a test starts."""
    kept = _shipped_rows.get(id(db))
    if kept is not None and await _form_rows(db) == kept:
        await clear(db, keep=FORM_TABLES)
        return
    await clear(db)
    await load_shipped_forms(db, forms_dir)
    _shipped_rows[id(db)] = await _form_rows(db)


@dataclass
class Service:
    """A running app on a clean database, with an admin token at hand."""

    client: httpx.AsyncClient
    db: Database
    settings: Settings
    admin_token: str
    app: Litestar

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    async def token(self, role: str, **kwargs: object) -> str:
        async with self.db.transaction() as session:
            token, _ = await issue_token(session, role, **kwargs)  # type: ignore[arg-type]
        return token


# One app per database (so per backend and xdist worker), made by the first test that asks
# and reused by the rest: building the routes costs ~0.2 s, about a third of a typical
# test. Each test gets it with a fresh ProcessState (caches, limits, poll desk) and report
# queue over the cleared database, which is all an app keeps between requests.
_apps: dict[int, tuple[Litestar, Settings]] = {}


def _app_for(database: Database, paths: pytest.TempPathFactory) -> tuple[Litestar, Settings]:
    found = _apps.get(id(database))
    if found is not None:
        app, settings = found
        app.state.process = ProcessState.new(settings)
        app.state.process.attach(database)
        app.state.reports = make_queue(database, settings, None)
        return found
    settings = Settings(
        database_url=str(database.engine.url),
        var_dir=paths.mktemp("var"),
        form_schemas_dir=PROJECT_ROOT / "form_schemas",
        form_cache_seconds=0.0,
    )
    _apps[id(database)] = app, settings = create_app(settings, database=database), settings
    return app, settings


@pytest.fixture
async def service(
    database: Database, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Service]:
    app, settings = _app_for(database, tmp_path_factory)
    await fresh_database(database, settings.form_schemas_dir)
    async with database.transaction() as session:
        admin_token, _ = await issue_token(session, "admin", label="test admin")
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Service(client, database, settings, admin_token, app)
    finally:
        await app.state.reports.close()
        await app.state.process.close()
