"""Crash durability, on SQLite and PostgreSQL: a real server process (``python -m
survey_service serve``) is killed with SIGKILL during a burst of concurrent salary
submissions. After a restart on the same database every acknowledged (201) submission is
there with all its data, and nothing is half-written: each stored submission has its first
revision, its audit entry and exactly one wage row per employee, acknowledged or not. A
retry of every unacknowledged id with the same data then succeeds (201 if it never made it
in, 200 if it did), and the whole set is consistent.

``serve`` runs uvicorn with one worker, which serves in the same process (uvicorn starts a
supervisor and worker processes only for ``workers > 1``); the server is started in a
session of its own and the whole process group is killed, so a child could not survive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, make_url, select, text
from sqlalchemy.exc import DBAPIError

from bench.data import SURVEY_YEAR, salary_document
from survey_service.db.engine import open_database
from survey_service.db.models import AuditEntry, Submission, SubmissionRevision, WageRow
from survey_service.settings import PROJECT_ROOT
from tests.conftest import BACKENDS, IN_CI, PG_URL, _admin
from tests.samples import enterprise, uscc

HOST = "127.0.0.1"
N_ENTERPRISES = 40  # one submission each, all sent at once
N_ROWS = 200  # employees per submission
KILL_AFTER = 10  # acknowledgements before the server is killed
START_TIMEOUT = 20.0
TEST_BUDGET = 55.0  # seconds for the whole scenario, server starts included


@dataclass
class Server:
    """One ``python -m survey_service serve`` process in a session of its own."""

    env: dict[str, str]
    log_path: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    children_at_kill: list[int] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        self.port = _free_port()
        env = self.env | {"SURVEY_PORT": str(self.port)}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "survey_service", "serve"],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def wait_healthy(self, client: httpx.AsyncClient) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the server exited ({self.process.returncode}):\n{self.log()}")
            with contextlib.suppress(httpx.TransportError):
                response = await client.get(self.base + "/health", timeout=2)
                if response.status_code == 200 and response.json()["status"] == "ok":
                    return
            await asyncio.sleep(0.05)
        pytest.fail(f"the server did not answer /health within {START_TIMEOUT:.0f}s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL the server, any child it has, and its whole process group; wait for it."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        self.children_at_kill = _children(process.pid)
        for pid in (process.pid, *self.children_at_kill):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return "(no log)"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _children(pid: int) -> list[int]:
    """The direct children of ``pid`` (Linux /proc)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _refuses_connections(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex((HOST, port)) != 0


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of this test's own: a SQLite file, or a private PostgreSQL
    database (dropped at the end) that the server migrates on start."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'crash.db'}"
        return
    name = f"survey_crash_{secrets.token_hex(4)}"
    try:
        await _admin(f'CREATE DATABASE "{name}"')
    except (OSError, TimeoutError, DBAPIError) as exc:
        message = f"PostgreSQL at {PG_URL} cannot be reached: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _set_up(
    client: httpx.AsyncClient, base: str, admin: dict[str, str]
) -> tuple[int, dict[str, str]]:
    """Register the enterprises, open a salary-survey campaign, invite them all."""
    response = await client.post(
        base + "/api/v1/enterprises",
        json=[enterprise(n) for n in range(N_ENTERPRISES)],
        headers=admin,
    )
    assert response.status_code == 200, response.text
    now = datetime.now(UTC)
    response = await client.post(
        base + "/api/v1/campaigns",
        json={
            "form_key": "salary-survey",
            "title": "crash test",
            "year": SURVEY_YEAR,
            "opens_at": (now - timedelta(days=1)).isoformat(),
            "closes_at": (now + timedelta(days=30)).isoformat(),
        },
        headers=admin,
    )
    assert response.status_code == 201, response.text
    campaign_id = int(response.json()["id"])
    response = await client.post(
        f"{base}/api/v1/campaigns/{campaign_id}/invitations",
        json={"enterprises": [uscc(n) for n in range(N_ENTERPRISES)]},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    return campaign_id, {item["uscc"]: item["token"] for item in response.json()}


@dataclass
class Burst:
    acknowledged: set[str] = field(default_factory=set)
    lost: dict[str, str] = field(default_factory=dict)  # id -> transport error
    unexpected: list[str] = field(default_factory=list)
    unanswered_at_kill: int = 0


async def _burst(
    client: httpx.AsyncClient,
    server: Server,
    campaign_id: int,
    bodies: dict[str, dict[str, Any]],
    tokens: dict[str, str],
) -> Burst:
    """Send every submission at once; SIGKILL the server on the KILL_AFTER-th 201."""
    outcome = Burst()
    answered = 0
    url = f"{server.base}/api/v1/campaigns/{campaign_id}/submissions"

    async def submit(sid: str) -> None:
        nonlocal answered
        body = bodies[sid]
        try:
            response = await client.post(
                url, json=body, headers=_bearer(tokens[body["data"]["enterprise"]["uscc"]])
            )
        except httpx.TransportError as exc:
            outcome.lost[sid] = type(exc).__name__
            return
        answered += 1
        if response.status_code != 201:
            outcome.unexpected.append(f"{sid}: {response.status_code} {response.text[:300]}")
            return
        # A 201 counts even if it is read after the kill: the server sent it, so it had
        # committed the submission before.
        outcome.acknowledged.add(sid)
        if len(outcome.acknowledged) == KILL_AFTER:
            outcome.unanswered_at_kill = len(bodies) - answered
            server.kill()

    await asyncio.gather(*(submit(sid) for sid in bodies))
    return outcome


async def _check_database(
    url: str, bodies: dict[str, dict[str, Any]], *, expect_all: bool
) -> set[str]:
    """Directly in the database: every stored submission is whole (revision 1, its audit
    entry, one wage row per employee with row indexes 0..n-1) and is one we sent with the
    data we sent; no row belongs to a submission that is not there. Returns the stored ids."""
    db = open_database(url)
    try:
        async with db.read() as session:
            stored = {
                sid: (data, status, revision)
                for sid, data, status, revision in await session.execute(
                    select(Submission.id, Submission.data, Submission.status, Submission.revision)
                )
            }
            wage_counts = {
                sid: (n, distinct, low, high)
                for sid, n, distinct, low, high in await session.execute(
                    select(
                        WageRow.submission_id,
                        func.count(),
                        func.count(func.distinct(WageRow.row_index)),
                        func.min(WageRow.row_index),
                        func.max(WageRow.row_index),
                    ).group_by(WageRow.submission_id)
                )
            }
            revisions: dict[str, list[tuple[int, Any]]] = {}
            for sid, revision, data in await session.execute(
                select(
                    SubmissionRevision.submission_id,
                    SubmissionRevision.revision,
                    SubmissionRevision.data,
                )
            ):
                revisions.setdefault(sid, []).append((revision, data))
            audited = list(
                await session.scalars(
                    select(AuditEntry.target).where(AuditEntry.action == "submission.create")
                )
            )
            integrity = (
                await session.scalar(text("PRAGMA integrity_check")) if db.is_sqlite else "ok"
            )
    finally:
        await db.dispose()

    assert integrity == "ok", integrity
    assert set(stored) <= set(bodies), "a submission nobody sent"
    assert set(wage_counts) <= set(stored), "wage rows of a submission that is not stored"
    assert set(revisions) == set(stored), "revisions and submissions disagree"
    assert sorted(audited) == sorted(f"submission:{sid}" for sid in stored)
    for sid, (data, status, revision) in stored.items():
        sent = bodies[sid]["data"]
        n = len(sent["employees"])
        assert (status, revision) == ("submitted", 1), sid
        assert data == sent, f"{sid}: stored data differs from what was sent"
        assert revisions[sid] == [(1, sent)], f"{sid}: not exactly its revision 1"
        assert wage_counts.get(sid) == (n, n, 0, n - 1), (
            f"{sid}: wage rows (count, distinct, min, max) {wage_counts.get(sid)}, "
            f"expected {n} rows"
        )
    if expect_all:
        assert set(stored) == set(bodies)
    return set(stored)


@pytest.mark.timeout(60)
async def test_acknowledged_submissions_survive_a_kill_and_none_is_half_written(
    database_url: str, tmp_path: Path
) -> None:
    admin_token = secrets.token_urlsafe(32)
    admin = _bearer(admin_token)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")} | {
        "SURVEY_HOST": HOST,
        "SURVEY_WORKERS": "1",
        "SURVEY_VAR_DIR": str(tmp_path / "var"),
        "SURVEY_ADMIN_TOKEN": admin_token,
        "SURVEY_DATABASE_URL": database_url,
        "SURVEY_FORM_SCHEMAS": str(PROJECT_ROOT / "form_schemas"),
    }
    rng = random.Random(20240601)
    bodies: dict[str, dict[str, Any]] = {}
    for n in range(N_ENTERPRISES):
        data = salary_document(rng, N_ROWS, uscc=uscc(n), industry="C30")
        bodies[str(uuid.UUID(int=rng.getrandbits(128), version=4))] = {
            "data": data,
            "status": "submitted",
        }
    for sid, body in bodies.items():
        body["id"] = sid

    first = Server(env, tmp_path / "server-1.log")
    second = Server(env, tmp_path / "server-2.log")
    limits = httpx.Limits(max_connections=N_ENTERPRISES, max_keepalive_connections=N_ENTERPRISES)
    try:
        async with (
            asyncio.timeout(TEST_BUDGET),
            httpx.AsyncClient(limits=limits, timeout=30) as client,
        ):
            first.start()
            await first.wait_healthy(client)
            campaign_id, tokens = await _set_up(client, first.base, admin)

            burst = await _burst(client, first, campaign_id, bodies, tokens)
            assert first.process is not None
            assert first.process.poll() is not None, f"not killed: {burst}\n{first.log()}"
            assert _refuses_connections(first.port), "something still serves after the kill"
            assert not burst.unexpected, burst.unexpected
            assert len(burst.acknowledged) >= KILL_AFTER
            # The kill came while submissions were in flight, and some were lost to it.
            assert burst.unanswered_at_kill > 0
            assert burst.lost, "every submission was answered: the kill interrupted nothing"
            assert set(burst.lost) | burst.acknowledged == set(bodies)

            second.start()
            await second.wait_healthy(client)

            # Every acknowledged submission is served with all its data.
            for sid in sorted(burst.acknowledged):
                response = await client.get(
                    f"{second.base}/api/v1/submissions/{sid}", headers=admin
                )
                assert response.status_code == 200, f"acknowledged {sid}: {response.text}"
                got = response.json()
                assert (got["id"], got["status"], got["revision"]) == (sid, "submitted", 1)
                assert got["enterprise"] == bodies[sid]["data"]["enterprise"]["uscc"]
                assert got["data"] == bodies[sid]["data"]

            # Nothing is half-written, acknowledged or not.
            stored = await _check_database(database_url, bodies, expect_all=False)
            assert burst.acknowledged <= stored

            # A retry of each unacknowledged id with the same data now succeeds: 200 if it
            # had made it in before the kill (an idempotent repeat), 201 if it had not.
            url = f"{second.base}/api/v1/campaigns/{campaign_id}/submissions"
            for sid in sorted(burst.lost):
                body = bodies[sid]
                response = await client.post(
                    url, json=body, headers=_bearer(tokens[body["data"]["enterprise"]["uscc"]])
                )
                expected = 200 if sid in stored else 201
                assert response.status_code == expected, f"retry of {sid}: {response.text}"
                assert response.json()["id"] == sid

            await _check_database(database_url, bodies, expect_all=True)
    finally:
        first.kill()
        second.kill()
