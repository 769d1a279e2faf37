"""Crash durability, on SQLite and PostgreSQL: a real server process (``python -m
survey_service serve``) is killed with SIGKILL while three kinds of writes are in flight at
once: JSON salary submissions, salary spreadsheet uploads and anonymous poll answers (these
stored by the group commit, many answers to one transaction). After a restart on the same
database:

- every acknowledged write is there with all its data: each 201 submission and upload is
  served, each 201 poll answer is stored;
- nothing is half-written, acknowledged or not: each stored submission has its first
  revision, its audit entry and exactly one wage row per employee; each stored poll answer
  spent its one-time code and each spent code has its answer;
- a retry of every write that got no answer succeeds or is recognised (a submission id
  already stored: 200; an upload: 201 again; a poll code already spent: 403), and then the
  whole set is consistent.
"""

from __future__ import annotations

import asyncio
import csv
import io
import random
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from bench.data import SURVEY_YEAR, salary_document
from survey_service.collection.polls import code_digest
from survey_service.db.engine import open_database
from survey_service.db.models import (
    AuditEntry,
    PollCode,
    PollLink,
    PollResponse,
    Submission,
    SubmissionRevision,
    WageRow,
)
from tests.conftest import BACKENDS
from tests.factories import bearer, window
from tests.integration.faults.server import (
    Server,
    answer_index,
    empty_database,
    invite,
    numbered_answer,
    open_campaign,
    poll_link,
    refuses_connections,
    server_env,
)
from tests.samples import POLL_ANSWER, enterprise, uscc

pytestmark = pytest.mark.slow  # seconds each; `pytest -m "not slow"` leaves them out

N_SUBMISSIONS = 48  # JSON submissions, one enterprise each
N_UPLOADS = 24  # spreadsheet uploads, one enterprise each
N_CODES = 600  # poll answers at most, one one-time code each
N_ROWS = 200  # employees per submission or upload
CONCURRENCY = {"submission": 8, "upload": 4, "poll": 16}
# The server is killed once each kind has this many acknowledgements.
KILL_AFTER = {"submission": 8, "upload": 3, "poll": 30}
TEST_BUDGET = 75.0  # seconds for the whole scenario, server starts included
UPLOAD_HEADER = ["occupation", "months_worked", "annual_pay", "education"]


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of this test's own that the server migrates on start."""
    async with empty_database(request.param, tmp_path, "survey_crash") as url:
        yield url


@dataclass
class Writes:
    """What was sent of one kind, and what became of it."""

    kind: str
    attempted: set[str] = field(default_factory=set)
    acknowledged: dict[str, Any] = field(default_factory=dict)  # key -> response body
    lost: dict[str, str] = field(default_factory=dict)  # key -> transport error
    unexpected: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """Everything the test sends, made before the server starts."""

    submissions: dict[str, dict[str, Any]]  # id -> body
    uploads: dict[str, list[list[Any]]]  # uscc -> rows
    answers: dict[str, dict[str, Any]]  # code -> answer data (index in it)


def _plan() -> Plan:
    rng = random.Random(20240601)
    submissions: dict[str, dict[str, Any]] = {}
    for n in range(N_SUBMISSIONS):
        data = salary_document(rng, N_ROWS, uscc=uscc(n), industry="C30")
        sid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        submissions[sid] = {"id": sid, "data": data, "status": "submitted"}
    uploads = {
        uscc(1000 + n): [
            ["6-01-02-03", 12, 50_000 + 37 * row + n, "bachelor"] for row in range(N_ROWS)
        ]
        for n in range(N_UPLOADS)
    }
    return Plan(submissions, uploads, answers={})


def _csv(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows([UPLOAD_HEADER, *rows])
    return out.getvalue().encode()


@dataclass
class Setup:
    salary_campaign: int
    poll_campaign: int
    tokens: dict[str, str]  # uscc -> invitation token
    slug: str


async def _set_up(client: httpx.AsyncClient, base: str, admin: dict[str, str], plan: Plan) -> Setup:
    """Register the enterprises, open a salary survey (every enterprise invited) and a
    worker poll whose link takes one-time codes."""
    registered = [enterprise(n) for n in range(N_SUBMISSIONS)]
    registered += [enterprise(1000 + n) for n in range(N_UPLOADS)]
    response = await client.post(base + "/api/v1/enterprises", json=registered, headers=admin)
    assert response.status_code == 201, response.text
    salary = await open_campaign(client, base, admin, "salary-survey", SURVEY_YEAR)
    tokens = await invite(client, base, admin, salary, [e["uscc"] for e in registered])
    response = await client.post(
        base + "/api/v1/campaigns",
        json={
            "form_key": "worker-satisfaction",
            "title": "crash test poll",
            "year": SURVEY_YEAR,
            "campaign_year": SURVEY_YEAR,
            "settings": {"poll_rate_per_minute": 100_000},
        }
        | window(),
        headers=admin,
    )
    assert response.status_code == 201, response.text
    poll = int(response.json()["id"])
    slug, codes = await poll_link(client, base, admin, poll, uscc(0), codes=N_CODES)
    plan.answers = {code: numbered_answer(i, POLL_ANSWER) for i, code in enumerate(codes)}
    return Setup(salary, poll, tokens, slug)


Send = Callable[[httpx.AsyncClient, str], Awaitable[httpx.Response]]


async def _stream(
    writes: Writes,
    keys: list[str],
    send: Send,
    client: httpx.AsyncClient,
    concurrency: int,
    after_ack: Callable[[], None],
) -> None:
    """Send ``keys`` with ``concurrency`` requests in flight until they run out or the
    server is gone; record each outcome."""
    queue = list(reversed(keys))

    async def worker() -> None:
        while queue:
            key = queue.pop()
            writes.attempted.add(key)
            try:
                response = await send(client, key)
            except httpx.TransportError as exc:
                writes.lost[key] = type(exc).__name__
                return  # the server is gone: this worker is done
            if response.status_code != 201:
                writes.unexpected.append(f"{key}: {response.status_code} {response.text[:300]}")
                return
            # A 201 counts even if it is read after the kill: the server had committed the
            # write before it sent the answer.
            writes.acknowledged[key] = response.json()
            after_ack()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def _burst(server: Server, setup: Setup, plan: Plan) -> tuple[dict[str, Writes], int]:
    """All three kinds at once; SIGKILL once each kind has its KILL_AFTER acknowledgements.
    Returns the outcomes and how many requests were in flight at the kill."""
    kinds = {kind: Writes(kind) for kind in CONCURRENCY}
    in_flight_at_kill = -1
    base = server.base

    def after_ack() -> None:
        nonlocal in_flight_at_kill
        if in_flight_at_kill < 0 and all(
            len(kinds[k].acknowledged) >= n for k, n in KILL_AFTER.items()
        ):
            in_flight_at_kill = sum(
                len(w.attempted) - len(w.acknowledged) - len(w.unexpected) for w in kinds.values()
            )
            server.kill()

    async def submit(client: httpx.AsyncClient, sid: str) -> httpx.Response:
        body = plan.submissions[sid]
        token = setup.tokens[body["data"]["enterprise"]["uscc"]]
        return await client.post(
            f"{base}/api/v1/campaigns/{setup.salary_campaign}/submissions",
            json=body,
            headers=bearer(token),
        )

    async def upload(client: httpx.AsyncClient, code: str) -> httpx.Response:
        return await client.post(
            f"{base}/api/v1/campaigns/{setup.salary_campaign}/salary-uploads",
            files={"file": ("payroll.csv", _csv(plan.uploads[code]), "text/csv")},
            headers=bearer(setup.tokens[code]),
        )

    async def answer(client: httpx.AsyncClient, code: str) -> httpx.Response:
        return await client.post(
            f"{base}/api/v1/polls/{setup.slug}/responses",
            json={"data": plan.answers[code], "code": code},
        )

    async with _client() as client:
        await asyncio.gather(
            _stream(kinds["submission"], list(plan.submissions), submit, client,
                    CONCURRENCY["submission"], after_ack),
            _stream(kinds["upload"], list(plan.uploads), upload, client,
                    CONCURRENCY["upload"], after_ack),
            _stream(kinds["poll"], list(plan.answers), answer, client,
                    CONCURRENCY["poll"], after_ack),
        )  # fmt: skip
    return kinds, in_flight_at_kill


def _client() -> httpx.AsyncClient:
    """A client that keeps no cookie: each poll answer comes from a new device."""
    client = httpx.AsyncClient(
        timeout=30, limits=httpx.Limits(max_connections=64, max_keepalive_connections=64)
    )
    client.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return client


@dataclass
class Stored:
    submissions: dict[str, tuple[int, dict[str, Any]]]  # id -> (revision, data)
    by_enterprise: dict[str, str]  # uscc -> submission id
    answers: set[str]  # the codes of the stored answers


async def _check_database(url: str, plan: Plan, slug: str) -> Stored:
    """Directly in the database: everything stored is whole and is what was sent."""
    db = open_database(url)
    try:
        async with db.read() as session:
            rows = list(
                await session.execute(select(Submission.id, Submission.data, Submission.revision))
            )
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
            # The current revision's document is the submission's (its data NULL).
            for sid, revision, data in await session.execute(
                select(
                    SubmissionRevision.submission_id,
                    SubmissionRevision.revision,
                    func.coalesce(SubmissionRevision.data, Submission.data),
                )
                .join(Submission, Submission.id == SubmissionRevision.submission_id)
                .order_by(SubmissionRevision.revision)
            ):
                revisions.setdefault(sid, []).append((revision, data))
            audited = sorted(
                (action, target)
                for action, target in await session.execute(
                    select(AuditEntry.action, AuditEntry.target).where(
                        AuditEntry.action.in_(("submission.create", "submission.upload"))
                    )
                )
            )
            link_id = await session.scalar(select(PollLink.id).where(PollLink.slug == slug))
            answers = [data for (data,) in await session.execute(select(PollResponse.data))]
            spent = set(
                await session.scalars(select(PollCode.code_hash).where(PollCode.used.is_(True)))
            )
            integrity = (
                await session.scalar(text("PRAGMA integrity_check")) if db.is_sqlite else "ok"
            )
    finally:
        await db.dispose()

    assert integrity == "ok", integrity
    stored = Stored({}, {}, set())
    sent_employees = {
        code: [dict(zip(UPLOAD_HEADER, row, strict=True)) for row in rows]
        for code, rows in plan.uploads.items()
    }
    for sid, data, revision in rows:
        code = data["enterprise"]["uscc"]
        stored.submissions[sid] = (revision, data)
        stored.by_enterprise[code] = sid
        if sid in plan.submissions:
            assert data == plan.submissions[sid]["data"], f"{sid}: not the data sent"
            expected_revisions = [(1, data)]
        else:  # an upload: the enterprise part comes from the registry
            assert code in plan.uploads, f"{sid}: a submission nobody sent"
            employees = [{k: e.get(k) for k in UPLOAD_HEADER} for e in data["employees"]]
            assert employees == sent_employees[code], f"upload of {code}: not the rows sent"
            expected_revisions = [(r, data) for r in range(1, revision + 1)]
        assert [r for r, _ in revisions.get(sid, [])] == [r for r, _ in expected_revisions]
        assert revisions[sid][-1][1] == data, f"{sid}: its last revision is not its data"
        n = len(data["employees"])
        assert wage_counts.get(sid) == (n, n, 0, n - 1), (
            f"{sid}: wage rows (count, distinct, min, max) {wage_counts.get(sid)}, "
            f"expected {n} rows"
        )
    assert set(wage_counts) <= set(stored.submissions), "wage rows of no stored submission"
    # A JSON submission's creation is audited, and each upload (one per revision).
    assert audited == sorted(
        ("submission.create", f"submission:{sid}")
        if sid in plan.submissions
        else ("submission.upload", f"submission:{sid}")
        for sid, (revision, _) in stored.submissions.items()
        for _ in range(revision)
    )

    by_index = {answer_index(a, POLL_ANSWER): code for code, a in plan.answers.items()}
    for data in answers:
        code = by_index.get(answer_index(data, POLL_ANSWER))
        assert code is not None, "an answer nobody sent"
        assert data == plan.answers[code], "an answer nobody sent"
        assert code not in stored.answers, "an answer stored twice"
        stored.answers.add(code)
    assert link_id is not None
    assert spent == {code_digest(link_id, code) for code in stored.answers}, (
        "a spent code without its answer, or an answer without its code spent"
    )
    return stored


async def _retry_lost(
    client: httpx.AsyncClient, base: str, setup: Setup, plan: Plan,
    kinds: dict[str, Writes], before: Stored,
) -> None:  # fmt: skip
    """Send again every write that got no answer: it either goes in now or is recognised."""
    for sid in sorted(kinds["submission"].lost):
        body = plan.submissions[sid]
        response = await client.post(
            f"{base}/api/v1/campaigns/{setup.salary_campaign}/submissions",
            json=body,
            headers=bearer(setup.tokens[body["data"]["enterprise"]["uscc"]]),
        )
        expected = 200 if sid in before.submissions else 201
        assert response.status_code == expected, f"retry of {sid}: {response.text}"
    for code in sorted(kinds["upload"].lost):
        response = await client.post(
            f"{base}/api/v1/campaigns/{setup.salary_campaign}/salary-uploads",
            files={"file": ("payroll.csv", _csv(plan.uploads[code]), "text/csv")},
            headers=bearer(setup.tokens[code]),
        )
        assert response.status_code == 201, f"retry of the upload of {code}: {response.text}"
    for code in sorted(kinds["poll"].lost):
        response = await client.post(
            f"{base}/api/v1/polls/{setup.slug}/responses",
            json={"data": plan.answers[code], "code": code},
        )
        expected = 403 if code in before.answers else 201
        assert response.status_code == expected, f"retry of answer {code}: {response.text}"


@pytest.mark.timeout(90)
async def test_acknowledged_writes_survive_a_kill_and_none_is_half_written(
    database_url: str, tmp_path: Path
) -> None:
    admin_token = secrets.token_urlsafe(32)
    admin = bearer(admin_token)
    env = server_env(database_url, tmp_path / "var", admin_token)
    plan = _plan()
    first = Server(env, tmp_path / "server-1.log")
    second = Server(env, tmp_path / "server-2.log")
    try:
        async with asyncio.timeout(TEST_BUDGET), _client() as client:
            first.start()
            await first.wait_healthy(client)
            setup = await _set_up(client, first.base, admin, plan)

            kinds, in_flight_at_kill = await _burst(first, setup, plan)
            assert first.process is not None
            assert first.process.poll() is not None, f"not killed: {kinds}\n{first.log()}"
            assert refuses_connections(first.port), "something still serves after the kill"
            for writes in kinds.values():
                assert not writes.unexpected, writes.unexpected
                assert len(writes.acknowledged) >= KILL_AFTER[writes.kind]
                assert set(writes.lost) | set(writes.acknowledged) == writes.attempted
            # The kill came while writes were in flight, and some were lost to it.
            assert in_flight_at_kill > 0
            assert any(w.lost for w in kinds.values()), "the kill interrupted nothing"

            second.start()
            await second.wait_healthy(client)

            # Every acknowledged write is served (or, for anonymous answers, stored).
            for sid in sorted(kinds["submission"].acknowledged):
                response = await client.get(
                    f"{second.base}/api/v1/submissions/{sid}", headers=admin
                )
                assert response.status_code == 200, f"acknowledged {sid}: {response.text}"
                got = response.json()
                assert (got["id"], got["status"], got["revision"]) == (sid, "submitted", 1)
                assert got["data"] == plan.submissions[sid]["data"]
            for code, body in sorted(kinds["upload"].acknowledged.items()):
                response = await client.get(
                    f"{second.base}/api/v1/submissions/{body['submission_id']}", headers=admin
                )
                assert response.status_code == 200, f"acknowledged upload {code}: {response.text}"
                assert body["rows_accepted"] == N_ROWS
                employees = response.json()["data"]["employees"]
                assert [e["annual_pay"] for e in employees] == [
                    row[2] for row in plan.uploads[code]
                ]

            # Nothing is half-written, acknowledged or not.
            stored = await _check_database(database_url, plan, setup.slug)
            assert set(kinds["submission"].acknowledged) <= set(stored.submissions)
            assert set(kinds["upload"].acknowledged) <= set(stored.by_enterprise)
            assert set(kinds["poll"].acknowledged) <= stored.answers

            await _retry_lost(client, second.base, setup, plan, kinds, stored)
            after = await _check_database(database_url, plan, setup.slug)
            assert set(after.submissions) >= set(kinds["submission"].attempted)
            assert set(after.by_enterprise) >= kinds["upload"].attempted
            assert after.answers == kinds["poll"].attempted
    finally:
        first.kill()
        second.kill()
