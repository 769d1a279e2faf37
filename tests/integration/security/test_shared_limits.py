"""The limits with two apps on one database, as two server processes would run: on
PostgreSQL each token's rate, each poll link's rate and the guessing throttle hold for both
together as for one app (the ``rate_limits`` table); on SQLite, which one server process
serves, each app keeps its own and never asks the database about a limit."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from survey_service.db.models import AuditEntry, RateLimit, utcnow
from survey_service.ratelimit import Rates
from survey_service.shared_rates import PRUNE_SECONDS, SharedRates
from tests.conftest import Service
from tests.factories import bearer, open_poll
from tests.integration.faults.server import Server, private_postgres, server_env
from tests.integration.security.world import client_at, service_with
from tests.integration.web.helpers import csrf_of
from tests.samples import POLL_ANSWER


@asynccontextmanager
async def two_apps(service: Service, **settings: Any) -> AsyncIterator[tuple[Service, Service]]:
    """Two apps on the service's database with the same changed settings: what two server
    processes share is the database and nothing else."""
    async with service_with(service, **settings) as one, service_with(service, **settings) as two:
        yield one, two


def apps_admit(service: Service, per_minute: int) -> int:
    """How many of a burst two apps admit together: the rate once on PostgreSQL, once per
    app on SQLite."""
    return per_minute * (1 if not service.db.is_sqlite else 2)


async def _rows(service: Service) -> int:
    async with service.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(RateLimit)) or 0)


async def test_a_tokens_rate_holds_across_two_apps_on_postgresql(service: Service) -> None:
    """Ten requests at once, five to each app, with a token of 4 a minute."""
    analyst = bearer(await service.token("analyst", label="busy"))
    async with two_apps(service, token_rate_per_minute=4) as (one, two):
        responses = await asyncio.gather(
            *(
                app.client.get("/api/v1/campaigns", headers=analyst)
                for _ in range(5)
                for app in (one, two)
            )
        )
        statuses = Counter(r.status_code for r in responses)
        admitted = apps_admit(service, 4)
        assert statuses == {200: admitted, 429: 10 - admitted}
        refused = next(r for r in responses if r.status_code == 429)
        assert 1 <= int(refused.headers["retry-after"]) <= 15  # one request every 15 s
        assert "4 requests a minute" in refused.json()["detail"]
        # another token, another rate, on either app
        assert (await two.client.get("/api/v1/campaigns", headers=two.admin)).status_code == 200


async def test_a_signed_in_browser_spends_one_rate_across_two_apps(service: Service) -> None:
    """The same session cookie sent to two apps in turn (a proxy spreading a browser's
    requests over two processes)."""
    async with two_apps(service, token_rate_per_minute=3) as (one, two):
        form = await one.client.get("/admin/signin")
        signed = await one.client.post(
            "/admin/signin", data={"token": one.admin_token, "_csrf": csrf_of(form.text)}
        )
        assert signed.status_code == 303
        two.client.cookies.update(one.client.cookies)
        pages = [
            (await app.client.get("/admin")).status_code for _ in range(3) for app in (one, two)
        ]
        assert pages.count(200) == apps_admit(service, 3)


async def test_a_links_answer_rate_holds_across_two_apps_on_postgresql(
    service: Service,
) -> None:
    """Eight answers at once to a link of 3 a minute, four through each app, each from a
    browser of its own (no device cookie)."""
    _, slug = await open_poll(service, campaign_year=None, settings={"poll_rate_per_minute": 3})
    async with two_apps(service) as (one, two):
        browsers = [client_at(app, f"10.1.0.{n}") for n in range(4) for app in (one, two)]
        async with AsyncExitStack() as stack:
            for browser in browsers:
                await stack.enter_async_context(browser)
            responses = await asyncio.gather(
                *(
                    b.post(f"/api/v1/polls/{slug}/responses", json={"data": POLL_ANSWER})
                    for b in browsers
                )
            )
        statuses = Counter(r.status_code for r in responses)
        admitted = apps_admit(service, 3)
        assert statuses == {201: admitted, 429: 8 - admitted}
        refused = next(r for r in responses if r.status_code == 429)
        assert 1 <= int(refused.headers["retry-after"]) <= 20
        assert refused.json()["type"].endswith("/too-many-answers")


async def _guess(app: Service, address: str) -> httpx.Response:
    async with client_at(app, address) as client:
        return await client.get("/api/v1/tokens", headers=bearer(secrets.token_urlsafe(32)))


async def test_failed_tokens_are_throttled_across_two_apps_on_postgresql(
    service: Service,
) -> None:
    """Three failures a minute for an address: two through one app and one through the
    other; then on PostgreSQL both refuse the address unseen (on SQLite each app counts its
    own three), and the refusals are reported once a minute for the whole service."""
    async with two_apps(service, auth_failures_per_minute=3) as (one, two):
        attacker = "203.0.113.9"
        first = [(await _guess(app, attacker)).status_code for app in (one, one, two)]
        assert first == [401, 401, 401]
        more = [(await _guess(two, attacker)).status_code for _ in range(3)]
        back = [(await _guess(one, attacker)) for _ in range(2)]
        if service.db.is_sqlite:
            assert more == [401, 401, 429]  # the second app's own three
            assert [r.status_code for r in back] == [401, 429]  # the first app's third
        else:
            assert more == [429, 429, 429]
            assert [r.status_code for r in back] == [429, 429]
        assert 1 <= int(back[-1].headers["retry-after"]) <= 20
        assert (await _guess(two, "198.51.100.9")).status_code == 401  # per address
        async with service.db.read() as session:
            throttled = list(
                await session.scalars(
                    select(AuditEntry).where(AuditEntry.action == "auth.throttled")
                )
            )
        # One report a minute per address: per app on SQLite, for the service on PostgreSQL.
        assert len(throttled) == (2 if service.db.is_sqlite else 1)
        assert {t.detail["address"] for t in throttled} == {attacker}


async def test_a_token_seen_to_work_through_one_app_passes_a_throttled_address_in_the_other(
    service: Service,
) -> None:
    """The admin works through app one from an address; a guesser behind the same address
    then floods app two. On PostgreSQL app two lets the admin's token through (app one saw
    it work); on SQLite app two has not seen it and refuses it unseen like a guess."""
    async with two_apps(service, auth_failures_per_minute=2) as (one, two):
        shared = "192.0.2.20"
        async with client_at(one, shared, one.admin) as admin_one:
            assert (await admin_one.get("/api/v1/tokens")).status_code == 200
        for _ in range(4):
            await _guess(two, shared)
        assert (await _guess(two, shared)).status_code == 429
        async with client_at(two, shared, two.admin) as admin_two:
            response = await admin_two.get("/api/v1/tokens")
        assert response.status_code == (429 if service.db.is_sqlite else 200)


async def test_limits_are_kept_in_the_database_only_on_postgresql(service: Service) -> None:
    """On SQLite a limit costs no query: the table stays empty; on PostgreSQL each limited
    key has its row (a token, a link, an address and a token seen to work)."""
    _, slug = await open_poll(service, campaign_year=None)
    async with service_with(service) as app:
        assert (await app.client.get("/api/v1/campaigns", headers=app.admin)).status_code == 200
        answered = await app.client.post(f"/api/v1/polls/{slug}/responses",
                                         json={"data": POLL_ANSWER})  # fmt: skip
        assert answered.status_code == 201
        assert (await _guess(app, "203.0.113.30")).status_code == 401
        async with app.db.read() as session:
            keys = set(await session.scalars(select(RateLimit.key)))
    if service.db.is_sqlite:
        assert keys == set()
        assert await _rows(service) == 0
    else:
        kinds = Counter(key.split(":", 1)[0] for key in keys)
        assert kinds == {"token": 1, "link": 1, "auth": 1, "known": 1}
        assert "auth:203.0.113.30" in keys


async def test_rows_at_rest_are_pruned_now_and_then(service: Service) -> None:
    """A row whose time has passed says nothing (a full allowance): on PostgreSQL a process
    deletes such rows every ``PRUNE_SECONDS`` (its clock injected here) and keeps the rest;
    on SQLite nothing is written to prune."""
    clock = Clock()
    rates = Rates("token", clock=clock)
    rates.attach(service.db)
    if rates.shared is not None:
        rates.shared = SharedRates(service.db, clock=clock)
        async with service.db.transaction() as session:
            session.add(RateLimit(key="token:at-rest", tat=utcnow() - timedelta(seconds=1)))
    assert await rates.acquire("busy", 1) == 0.0
    clock.now += PRUNE_SECONDS
    assert await rates.acquire("other", 1) == 0.0
    async with service.db.read() as session:
        keys = set(await session.scalars(select(RateLimit.key)))
    # the busy key, a minute ahead, is kept
    assert keys == (set() if service.db.is_sqlite else {"token:busy", "token:other"})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- two real server processes ---------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(90)
async def test_two_server_processes_on_postgresql_share_the_limits(tmp_path: Path) -> None:
    """Two ``python -m survey_service serve`` processes on one PostgreSQL database, asked in
    turn: a token of 4 a minute gets 4 answers in all, and an address allowed 2 failed
    tokens a minute is refused its third by whichever process it reaches. (On SQLite,
    which one process serves, the apps above show each keeping its own.)"""
    admin_token = secrets.token_urlsafe(32)
    async with private_postgres("survey_limits") as (url, _):
        env = server_env(url, tmp_path / "var", admin_token) | {
            "SURVEY_TOKEN_RATE_PER_MINUTE": "4",
            "SURVEY_AUTH_FAILURES_PER_MINUTE": "2",
        }
        servers = [Server(env, tmp_path / f"server-{n}.log") for n in (1, 2)]
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                for server in servers:  # one after the other: the first one migrates
                    server.start()
                    await server.wait_healthy(client)
                statuses = [
                    (
                        await client.get(
                            f"{servers[n % 2].base}/api/v1/campaigns", headers=bearer(admin_token)
                        )
                    ).status_code
                    for n in range(8)
                ]
                assert statuses == [200] * 4 + [429] * 4
                guesses = [
                    (
                        await client.get(
                            f"{servers[n % 2].base}/api/v1/campaigns",
                            headers=bearer(secrets.token_urlsafe(32)),
                        )
                    ).status_code
                    for n in range(4)
                ]
                assert guesses == [401, 401, 429, 429]
        finally:
            for server in servers:
                server.kill()
