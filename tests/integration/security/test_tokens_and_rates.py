"""Tokens and the limits on their use, through HTTP on both databases: every token drawn
from the CSPRNG with at least 128 bits; each token's own request rate (429 + Retry-After);
failed tokens and failed sign-ins slowed per client address and audited without the token,
in a throttle that no valid token's use resets and that never costs a valid token its
access or its rate."""

from __future__ import annotations

import math
import re
import secrets

import httpx
import pytest
from sqlalchemy import select

from survey_service.db.models import AuditEntry
from tests.conftest import Service
from tests.factories import bearer, create_campaign, invite, poll_link, register_enterprises
from tests.integration.security.world import client_at, service_with
from tests.integration.web.helpers import csrf_of

URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")


async def _audit(service: Service, action: str) -> list[AuditEntry]:
    async with service.db.read() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
        return list(rows)


async def _all_audit_text(service: Service) -> str:
    async with service.db.read() as session:
        rows = await session.scalars(select(AuditEntry))
        return "\n".join(f"{r.action} {r.target} {r.detail} {r.note}" for r in rows)


# --- where tokens come from ----------------------------------------------------------------


async def test_every_token_is_drawn_from_secrets_with_at_least_128_bits(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Admin and analyst tokens, invitations and poll links: each is a value the CSPRNG
    (``secrets``) returned for at least 16 random bytes, and its URL-safe alphabet of 64
    characters gives it at least 128 bits by its length alone."""
    drawn: dict[str, int] = {}
    real = secrets.token_urlsafe

    def recorded(nbytes: int | None = None) -> str:
        value = real(nbytes)
        drawn[value] = nbytes or 32
        return value

    monkeypatch.setattr(secrets, "token_urlsafe", recorded)
    h = service.admin
    issued = [
        (await service.client.post("/api/v1/tokens", json={"role": role, "label": role},
                                   headers=h)).json()["token"]
        for role in ("admin", "analyst")
    ]  # fmt: skip
    await register_enterprises(service, 1)
    salary = await create_campaign(service, title="salary-survey", campaign_year=None)
    issued.append((await invite(service, salary, 1))[1])
    poll = await create_campaign(
        service, "worker-satisfaction", title="worker-satisfaction", campaign_year=None
    )
    issued.append((await poll_link(service, poll))["link"])
    assert len(issued) == 4
    for token in issued:
        assert token in drawn, "a token that secrets.token_urlsafe did not draw"
        assert drawn[token] >= 16
        assert URL_SAFE.match(token)
        assert len(token) * math.log2(64) >= 128


# --- each token's own rate -----------------------------------------------------------------


async def test_a_token_over_its_rate_is_told_when_to_come_back_and_others_go_on(
    service: Service,
) -> None:
    analyst = bearer(await service.token("analyst", label="busy"))
    async with service_with(service, token_rate_per_minute=3) as limited:
        statuses = [
            (await limited.client.get("/api/v1/campaigns", headers=analyst)).status_code
            for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        refused = await limited.client.get("/api/v1/campaigns", headers=analyst)
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert 1 <= int(refused.headers["retry-after"]) <= 20
        assert "3 requests a minute" in refused.json()["detail"]
        admin = await limited.client.get("/api/v1/campaigns", headers=limited.admin)
        assert admin.status_code == 200  # another token, another bucket


async def test_a_signed_in_browser_spends_its_tokens_rate_too(service: Service) -> None:
    async with service_with(service, token_rate_per_minute=3) as limited:
        form = await limited.client.get("/admin/signin")
        await limited.client.post(
            "/admin/signin", data={"token": limited.admin_token, "_csrf": csrf_of(form.text)}
        )
        pages = [(await limited.client.get("/admin")).status_code for _ in range(4)]
        assert pages == [200, 200, 200, 429]


# --- guessing ------------------------------------------------------------------------------


async def test_failed_tokens_are_slowed_per_address_and_audited_without_the_token(
    service: Service,
) -> None:
    async with service_with(service, auth_failures_per_minute=3) as limited:
        attacker = client_at(limited, "203.0.113.7")
        guesses = [secrets.token_urlsafe(32) for _ in range(6)]
        statuses = [
            (await attacker.get("/api/v1/campaigns", headers=bearer(g))).status_code
            for g in guesses
        ]
        assert statuses == [401, 401, 401, 429, 429, 429]
        last = await attacker.get("/api/v1/campaigns", headers=bearer(guesses[0]))
        assert 1 <= int(last.headers["retry-after"]) <= 20
        assert last.headers["content-type"].startswith("application/problem+json")
        elsewhere = client_at(limited, "198.51.100.2")
        other = await elsewhere.get("/api/v1/campaigns", headers=bearer(guesses[0]))
        assert other.status_code == 401  # the throttle is per address
        refused = await _audit(limited, "auth.refused")
        assert [(r.detail["address"], r.detail["reason"]) for r in refused] == [
            ("203.0.113.7", "unknown")
        ] * 3 + [("198.51.100.2", "unknown")]
        assert all(r.detail["path"] == "/api/v1/campaigns" for r in refused)
        [throttled] = await _audit(limited, "auth.throttled")  # one a minute per address
        assert (throttled.detail["address"], throttled.detail["refused"]) == ("203.0.113.7", 1)
        audit_text = await _all_audit_text(limited)
        assert not any(g in audit_text for g in guesses)
        await attacker.aclose()
        await elsewhere.aclose()


async def test_a_flood_of_bad_tokens_neither_locks_out_nor_is_reset_by_the_admin(
    service: Service,
) -> None:
    """The admin and a guesser behind one address: the admin's token, seen to work, goes on
    working through the flood and keeps its whole request rate; its successes give the
    guesser nothing back."""
    async with service_with(
        service, auth_failures_per_minute=2, token_rate_per_minute=4
    ) as limited:
        shared = client_at(limited, "192.0.2.10")
        assert (await shared.get("/api/v1/tokens", headers=limited.admin)).status_code == 200
        for _ in range(10):
            await shared.get("/api/v1/tokens", headers=bearer(secrets.token_urlsafe(32)))
        admin = [
            (await shared.get("/api/v1/tokens", headers=limited.admin)).status_code
            for _ in range(3)
        ]
        assert admin == [200, 200, 200]  # 4 in all: the flood took none of its rate
        guess = await shared.get("/api/v1/tokens", headers=bearer(secrets.token_urlsafe(32)))
        assert guess.status_code == 429  # not reset by the admin's successes
        unseen = bearer(await limited.token("admin", label="never used from here"))
        assert (await shared.get("/api/v1/tokens", headers=unseen)).status_code == 429
        fresh = client_at(limited, "192.0.2.11")
        assert (await fresh.get("/api/v1/tokens", headers=unseen)).status_code == 200
        await shared.aclose()
        await fresh.aclose()


async def test_revoked_and_expired_tokens_are_audited_with_their_id(service: Service) -> None:
    created = await service.client.post(
        "/api/v1/tokens", json={"role": "analyst", "label": "leaver"}, headers=service.admin
    )
    token, token_id = created.json()["token"], created.json()["id"]
    await service.client.post(f"/api/v1/tokens/{token_id}/revoke", headers=service.admin)
    response = await service.client.get("/api/v1/campaigns", headers=bearer(token))
    assert response.status_code == 401
    [entry] = await _audit(service, "auth.refused")
    assert (entry.detail["reason"], entry.detail["token_id"]) == ("revoked", token_id)
    assert token not in await _all_audit_text(service)


async def _sign_in(client: httpx.AsyncClient, base: str, token: str) -> httpx.Response:
    form = await client.get(f"{base}/signin")
    return await client.post(f"{base}/signin", data={"token": token, "_csrf": csrf_of(form.text)})


async def test_failed_sign_ins_on_the_pages_share_the_throttle_and_are_audited(
    service: Service,
) -> None:
    async with service_with(service, auth_failures_per_minute=3) as limited:
        browser = client_at(limited, "203.0.113.50")
        statuses = []
        for base in ("/admin", "/e", "/admin", "/e"):
            response = await _sign_in(browser, base, secrets.token_urlsafe(32))
            statuses.append(response.status_code)
        assert statuses == [401, 401, 401, 429]
        assert "登录失败次数过多" in response.text
        assert 1 <= int(response.headers["retry-after"]) <= 20
        refused = await _audit(limited, "auth.refused")
        assert [r.detail["path"] for r in refused] == [
            "/admin/signin",
            "/e/signin",
            "/admin/signin",
        ]
        # the admin's own token was seen to work in this process: it still signs in
        assert (await limited.client.get("/api/v1/tokens", headers=limited.admin)).is_success
        response = await _sign_in(browser, "/admin", limited.admin_token)
        assert (response.status_code, response.headers["location"]) == (303, "/admin")
        await browser.aclose()


async def test_a_real_token_on_the_wrong_page_is_refused_and_audited_not_throttled(
    service: Service,
) -> None:
    analyst = await service.token("analyst", label="not an admin")
    async with service_with(service, auth_failures_per_minute=1) as limited:
        browser = client_at(limited, "203.0.113.60")
        statuses = [(await _sign_in(browser, "/admin", analyst)).status_code for _ in range(3)]
        assert statuses == [401, 401, 401]
        refused = await _audit(limited, "auth.refused")
        assert {r.detail["reason"] for r in refused} == {"role"}
        await browser.aclose()
