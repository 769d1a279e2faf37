"""PostgreSQL goes away under load and comes back, with a real server process.

The outage is made on the test's own database only (other test runs share the server):
``ALTER DATABASE ... ALLOW_CONNECTIONS false`` and ``pg_terminate_backend`` of each of its
connections, as a restart does (each connection is cut; new ones are refused), then
``ALLOW_CONNECTIONS true``. Meanwhile clients keep sending salary submissions and poll
answers (these through the group commit), /health is asked every few milliseconds and a
PDF report is rendering.

During the outage each request is answered 503 problem+json with ``Retry-After`` and a
reason, and /health is 503 with the reason; the server never drops a connection or
answers 500. Afterwards the service recovers by itself: /health is 200, writes are
acknowledged again, the report worker renders (the report asked before the outage and a
new one). No acknowledged write is lost, nothing is half-written (each stored answer spent
its code, each spent code has its answer), and a retry of every refused write goes in or
is recognised.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from bench.data import SURVEY_YEAR
from survey_service.collection.polls import code_digest
from survey_service.db.engine import open_database
from survey_service.db.models import PollCode, PollLink, PollResponse, Submission
from tests.conftest import _admin
from tests.factories import bearer, window
from tests.integration.faults.server import (
    Server,
    answer_index,
    invite,
    numbered_answer,
    open_campaign,
    poll_link,
    private_postgres,
    server_env,
)
from tests.samples import POLL_ANSWER, enterprise, salary_document, uscc

pytestmark = pytest.mark.slow  # seconds each; `pytest -m "not slow"` leaves them out

N_ENTERPRISES = 400  # one submission each at most
N_CODES = 3000  # poll answers at most
ROWS = 10
CONCURRENCY = {"submission": 4, "poll": 8}
BEFORE = 10  # acknowledgements of each kind before the outage, and again after it
OUTAGE_MIN = 3.0  # seconds the database stays away at least
PHASE_TIMEOUT = 20.0  # seconds any one phase may take
TEST_BUDGET = 100.0


@dataclass
class Outcomes:
    kind: str
    acknowledged: dict[str, float] = field(default_factory=dict)  # key -> when
    refused: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> problem
    unexpected: list[str] = field(default_factory=list)

    def acknowledged_after(self, moment: float) -> int:
        return sum(1 for at in self.acknowledged.values() if at > moment)


def _check_503(response: httpx.Response) -> dict[str, Any]:
    """The problem a client gets while the database is away."""
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) >= 1
    problem: dict[str, Any] = response.json()
    assert problem["status"] == 503
    assert problem["reason"] in {"database-unreachable", "connection-lost"}, problem
    return problem


async def _outage(name: str, *, on: bool) -> None:
    if on:
        await _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        # Twice: a connection whose start-up was under way when connections were refused
        # (the pools open them all the time) is admitted after the first sweep.
        for _ in range(2):
            await _admin(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            )
            await asyncio.sleep(0.1)
    else:
        await _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


async def _until(condition: Callable[[], bool], what: str, server: Server) -> None:
    deadline = time.monotonic() + PHASE_TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {PHASE_TIMEOUT:.0f}s\n{server.log()}")
        await asyncio.sleep(0.02)


async def _report_done(
    client: httpx.AsyncClient, base: str, admin: dict[str, str], rid: str
) -> None:
    deadline = time.monotonic() + 2 * PHASE_TIMEOUT
    while time.monotonic() < deadline:
        response = await client.get(f"{base}/api/v1/reports/{rid}", headers=admin)
        assert response.status_code == 200, response.text
        status = response.json()["status"]
        assert status != "failed", response.text
        if status == "done":
            return
        await asyncio.sleep(0.2)
    pytest.fail(f"report {rid} is not done: {response.text}")


@pytest.mark.timeout(120)
async def test_postgresql_going_away_gives_503s_and_the_service_recovers_by_itself(
    tmp_path: Path,
) -> None:
    async with private_postgres("survey_outage") as (url, name):
        admin_token = secrets.token_urlsafe(32)
        admin = bearer(admin_token)
        server = Server(server_env(url, tmp_path / "var", admin_token), tmp_path / "server.log")
        client = httpx.AsyncClient(
            timeout=30, limits=httpx.Limits(max_connections=32, max_keepalive_connections=32)
        )
        client.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        try:
            async with asyncio.timeout(TEST_BUDGET), client:
                await _scenario(client, server, admin, url, name)
        finally:
            server.kill()
            await _outage(name, on=False)
    log = server.log_path.read_text(errors="replace")
    assert "unhandled error" not in log, log[-4000:]
    print(f"\n{_FIGURES}")


_FIGURES: dict[str, Any] = {}


async def _scenario(
    client: httpx.AsyncClient, server: Server, admin: dict[str, str], url: str, name: str
) -> None:
    server.start()
    await server.wait_healthy(client)
    base = server.base
    response = await client.post(
        base + "/api/v1/enterprises",
        json=[enterprise(n) for n in range(N_ENTERPRISES)],
        headers=admin,
    )
    assert response.status_code == 201, response.text
    salary = await open_campaign(client, base, admin, "salary-survey", SURVEY_YEAR)
    tokens = await invite(client, base, admin, salary, [uscc(n) for n in range(N_ENTERPRISES)])
    response = await client.post(
        base + "/api/v1/campaigns",
        json={
            "form_key": "worker-satisfaction",
            "title": "outage poll",
            "year": SURVEY_YEAR,
            "campaign_year": SURVEY_YEAR,
            "settings": {"poll_rate_per_minute": 1_000_000},
        }
        | window(),
        headers=admin,
    )
    assert response.status_code == 201, response.text
    poll = int(response.json()["id"])
    slug, codes = await poll_link(client, base, admin, poll, uscc(0), codes=N_CODES)

    def submission(n: int) -> dict[str, Any]:
        document = salary_document(uscc(n))
        document["employees"] = [
            document["employees"][0] | {"annual_pay": 60_000 + i, "base_pay": 48_000}
            for i in range(ROWS)
        ]
        return {"id": str(uuid.UUID(int=n + 1, version=4)), "data": document, "status": "submitted"}

    bodies = {body["id"]: body for body in map(submission, range(N_ENTERPRISES))}
    answers = {code: numbered_answer(i, POLL_ANSWER) for i, code in enumerate(codes)}

    async def submit(sid: str) -> httpx.Response:
        uscc_code = bodies[sid]["data"]["enterprise"]["uscc"]
        return await client.post(
            f"{base}/api/v1/campaigns/{salary}/submissions",
            json=bodies[sid],
            headers=bearer(tokens[uscc_code]),
        )

    async def answer(code: str) -> httpx.Response:
        return await client.post(
            f"{base}/api/v1/polls/{slug}/responses", json={"data": answers[code], "code": code}
        )

    outcomes = {"submission": Outcomes("submission"), "poll": Outcomes("poll")}
    health: list[tuple[float, int, str | None]] = []  # when, status, reason
    stop = asyncio.Event()

    async def load(
        out: Outcomes, keys: list[str], send: Callable[[str], Awaitable[httpx.Response]]
    ) -> None:
        queue = list(reversed(keys))
        while queue and not stop.is_set():
            key = queue.pop()
            response = await send(key)  # a transport error fails the test: the server stays up
            if response.status_code == 201:
                out.acknowledged[key] = time.monotonic()
            elif response.status_code == 503:
                out.refused[key] = _check_503(response)
                await asyncio.sleep(0.05)  # a client that waits a little before the next one
            else:
                out.unexpected.append(f"{key}: {response.status_code} {response.text[:300]}")

    async def watch_health() -> None:
        while not stop.is_set():
            response = await client.get(base + "/health")
            reason = _check_503(response)["reason"] if response.status_code == 503 else None
            health.append((time.monotonic(), response.status_code, reason))
            await asyncio.sleep(0.02)

    # A report asked before the outage renders while it happens (or waits for the worker).
    response = await client.post(
        base + "/api/v1/reports", json={"type": "participation", "year": SURVEY_YEAR}, headers=admin
    )
    assert response.status_code == 202, response.text
    first_report = response.json()["id"]

    # Each kind's keys are split between that kind's tasks.
    tasks = [
        asyncio.create_task(
            load(outcomes["submission"], list(bodies)[i :: CONCURRENCY["submission"]], submit)
        )
        for i in range(CONCURRENCY["submission"])
    ] + [
        asyncio.create_task(load(outcomes["poll"], list(answers)[i :: CONCURRENCY["poll"]], answer))
        for i in range(CONCURRENCY["poll"])
    ]
    tasks.append(asyncio.create_task(watch_health()))
    try:
        await _until(
            lambda: all(len(o.acknowledged) >= BEFORE for o in outcomes.values()),
            "writes acknowledged before the outage",
            server,
        )
        outage_started = time.monotonic()
        await _outage(name, on=True)
        await asyncio.sleep(OUTAGE_MIN)
        await _until(
            lambda: (
                all(o.refused for o in outcomes.values())
                and any(status == 503 for at, status, _ in health if at > outage_started)
            ),
            "refusals and an unhealthy /health during the outage",
            server,
        )
        outage_ended = time.monotonic()
        await _outage(name, on=False)
        await _until(
            lambda: (
                any(status == 200 for at, status, _ in health if at > outage_ended)
                and all(o.acknowledged_after(outage_ended) >= BEFORE for o in outcomes.values())
            ),
            "health and writes after the outage",
            server,
        )
    finally:
        stop.set()
        await asyncio.gather(*tasks)

    for out in outcomes.values():
        assert not out.unexpected, out.unexpected
    assert server.process is not None
    assert server.process.poll() is None
    # /health said 503 with a reason while the database was away, then 200 again.
    during = [(s, r) for at, s, r in health if outage_started + 0.5 < at < outage_ended]
    assert during, "/health was not asked during the outage"
    assert all(s == 503 for s, _ in during), during
    healthy_again = min(at for at, s, _ in health if at > outage_ended and s == 200)
    assert health[-1][1] == 200
    # The failures for want of the database are counted in /metrics by reason: each
    # /health 503 at least (answers refused together, one failed commit, count once).
    scrape = await client.get(f"{base}/metrics", headers=admin)
    counted = {
        sample.labels["reason"]: sample.value
        for family in text_string_to_metric_families(scrape.text)
        for sample in family.samples
        if sample.name == "survey_database_errors_total"
    }
    assert sum(counted.values()) >= len(during), (counted, len(during))
    assert set(counted) <= {r for _, _, r in health if r is not None} | {
        o["reason"] for out in outcomes.values() for o in out.refused.values()
    }
    first_write_again = min(
        at for out in outcomes.values() for at in out.acknowledged.values() if at > outage_ended
    )
    _FIGURES.update(
        outage_seconds=round(outage_ended - outage_started, 2),
        healthy_after=round(healthy_again - outage_ended, 3),
        first_write_after=round(first_write_again - outage_ended, 3),
        acknowledged={k: len(o.acknowledged) for k, o in outcomes.items()},
        refused={k: len(o.refused) for k, o in outcomes.items()},
    )

    # The report worker came back: the report asked before renders, and a new one (the
    # wage guide, of a release made now).
    response = await client.post(
        f"{base}/api/v1/campaigns/{salary}/releases",
        json={"during_collection": True},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    response = await client.post(
        base + "/api/v1/reports",
        json={"type": "wage-benchmark", "campaign_id": salary},
        headers=admin,
    )
    assert response.status_code == 202, response.text
    await _report_done(client, base, admin, response.json()["id"])
    await _report_done(client, base, admin, first_report)

    # No acknowledged write is lost; nothing is half-written.
    stored, spent_ok = await _stored(url, slug, answers)
    assert spent_ok, "a spent code without its answer, or an answer without its code spent"
    assert set(outcomes["submission"].acknowledged) <= set(stored["submission"])
    for sid in stored["submission"]:
        assert stored["submission"][sid] == bodies[sid]["data"]
    assert set(outcomes["poll"].acknowledged) <= set(stored["poll"])

    # Each refused write, sent again, goes in now or is recognised as stored already (a
    # commit cut by the outage may have gone through without its answer reaching anyone).
    for sid in outcomes["submission"].refused:
        response = await submit(sid)
        assert response.status_code in {200, 201}, response.text
        assert (response.status_code == 200) == (sid in stored["submission"])
    for code in outcomes["poll"].refused:
        response = await answer(code)
        assert response.status_code == (403 if code in stored["poll"] else 201), response.text
    after, spent_ok = await _stored(url, slug, answers)
    assert spent_ok
    assert set(after["submission"]) == set(outcomes["submission"].acknowledged) | set(
        outcomes["submission"].refused
    )
    assert set(after["poll"]) == set(outcomes["poll"].acknowledged) | set(outcomes["poll"].refused)


async def _stored(
    url: str, slug: str, answers: dict[str, dict[str, Any]]
) -> tuple[dict[str, dict[str, Any]], bool]:
    """What is in the database: submissions by id and answers by code; and whether the
    spent codes are exactly those of the stored answers."""
    db = open_database(url)
    try:
        async with db.read() as session:
            submissions = dict(
                (await session.execute(select(Submission.id, Submission.data))).all()
            )
            link_id = await session.scalar(select(PollLink.id).where(PollLink.slug == slug))
            stored_answers = list(await session.scalars(select(PollResponse.data)))
            spent = set(
                await session.scalars(select(PollCode.code_hash).where(PollCode.used.is_(True)))
            )
    finally:
        await db.dispose()
    by_index = {answer_index(data, POLL_ANSWER): code for code, data in answers.items()}
    poll: dict[str, Any] = {}
    for data in stored_answers:
        code = by_index[answer_index(data, POLL_ANSWER)]
        assert code not in poll, "an answer stored twice"
        assert data == answers[code]
        poll[code] = data
    assert link_id is not None
    spent_ok = spent == {code_digest(link_id, code) for code in poll}
    return {"submission": submissions, "poll": poll}, spent_ok
