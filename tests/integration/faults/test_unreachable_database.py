"""A database the service cannot reach, in process: each request and /health is a 503
problem+json with ``Retry-After`` and the reason, never a 500; which errors count as the
database being unavailable, and which stay bugs (500)."""

from __future__ import annotations

import logging
import socket
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from survey_service.app import create_app
from survey_service.db.engine import open_database
from survey_service.db.faults import outage_log, unavailable_reason
from survey_service.settings import Settings
from tests.conftest import PG_URL
from tests.paths import PROJECT_ROOT


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: nothing listens there


@pytest.fixture(params=["sqlite", "postgresql"])
async def unreachable(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database URL the service cannot open: a SQLite "file" that is a directory, or a
    PostgreSQL port where nothing listens."""
    if request.param == "sqlite":
        (tmp_path / "a-directory.db").mkdir()
        yield f"sqlite+aiosqlite:///{tmp_path / 'a-directory.db'}"
    else:
        yield (
            make_url(PG_URL)
            .set(host="127.0.0.1", port=_closed_port())
            .render_as_string(hide_password=False)
        )


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_requests_on_an_unreachable_database_get_503_problems(
    unreachable: str, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=unreachable,
        var_dir=tmp_path / "var",
        form_schemas_dir=PROJECT_ROOT / "form_schemas",
    )
    db = open_database(unreachable)
    app = create_app(settings, database=db)
    transport = httpx.ASGITransport(app=app)
    # The app's logging configuration may keep records from pytest's caplog: listen here.
    logger = logging.getLogger("survey_service")
    records = Records()
    logger.addHandler(records)
    outage_log.forget()
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            health = await client.get("/health")
            forms = await client.get("/api/v1/forms")
            admin = await client.get(
                "/api/v1/campaigns", headers={"Authorization": "Bearer " + "x" * 43}
            )
    finally:
        logger.removeHandler(records)
        await app.state.reports.close()
        await db.dispose()
    for response in (health, forms, admin):
        assert response.status_code == 503, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert int(response.headers["retry-after"]) >= 1
        assert response.json()["reason"] == "database-unreachable"
        assert "Traceback" not in response.text
    assert "database-unreachable" in health.json()["detail"]
    # Logged once, without a traceback, however many requests failed.
    warnings = [r for r in records.records if "database unavailable" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert warnings[0].exc_info is None
    assert not [r.getMessage() for r in records.records if r.levelno >= logging.ERROR]


def _sqlite_error(tmp_path: Path, sql: str, *setup: str) -> sqlite3.Error:
    connection = sqlite3.connect(tmp_path / "probe.db")
    try:
        for statement in setup:
            connection.execute(statement)
        connection.execute(sql)
    except sqlite3.Error as exc:
        return exc
    finally:
        connection.close()
    raise AssertionError(f"{sql} did not fail")


def test_a_full_sqlite_database_is_unavailable_but_a_missing_table_is_a_bug(
    tmp_path: Path,
) -> None:
    full = _sqlite_error(
        tmp_path,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) "
        "INSERT INTO t SELECT randomblob(4096) FROM n",
        "CREATE TABLE t (b BLOB)",
        "PRAGMA max_page_count = 20",
    )
    assert "full" in str(full)
    wrapped = OperationalError("INSERT ...", {}, full)
    found = unavailable_reason(wrapped)
    assert found is not None
    assert found.reason == "disk-full"
    missing = _sqlite_error(tmp_path, "SELECT * FROM nowhere")
    assert unavailable_reason(OperationalError("SELECT ...", {}, missing)) is None


def test_connection_errors_are_unavailable_and_statement_errors_are_not() -> None:
    refused = unavailable_reason(ConnectionRefusedError(111, "Connection refused"))
    assert refused is not None
    assert refused.reason == "database-unreachable"

    class DriverError(Exception):
        def __init__(self, sqlstate: str) -> None:
            super().__init__(sqlstate)
            self.sqlstate = sqlstate

    def wrapped(sqlstate: str, statement: str | None = "SELECT 1") -> DBAPIError:
        return DBAPIError(statement, {}, DriverError(sqlstate))

    cases = {
        "57P01": "connection-lost",  # terminated by an administrator, or the server stopping
        "57P03": "database-unreachable",  # the server starting up
        "08006": "connection-lost",
        "53100": "disk-full",
        "53300": "database-busy",  # too many connections
    }
    for sqlstate, reason in cases.items():
        found = unavailable_reason(wrapped(sqlstate))
        assert found is not None, sqlstate
        assert found.reason == reason
    # While connecting (no statement) any refusal counts: not accepting connections.
    connecting = unavailable_reason(wrapped("55000", statement=None))
    assert connecting is not None
    assert connecting.reason == "database-unreachable"
    # Data that breaks a constraint, even when found at commit (no statement), is a bug.
    assert unavailable_reason(IntegrityError(None, {}, DriverError("23503"))) is None
    # A statement's own error is a bug of the service: a 500, with its traceback logged.
    assert unavailable_reason(wrapped("23505")) is None  # unique violation
    assert unavailable_reason(wrapped("42P01")) is None  # undefined table
    assert unavailable_reason(ValueError("no")) is None
    assert unavailable_reason(KeyError("x")) is None
