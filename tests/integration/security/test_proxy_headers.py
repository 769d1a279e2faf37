"""Whom the service believes about a client's address: the TCP peer, unless the peer is a
proxy named in ``trusted_proxies``; only then do its X-Forwarded-For and X-Forwarded-Proto
count. The sign-in throttle counts per address, so a header a client may set must never
choose that address."""

from __future__ import annotations

import secrets

import httpx
import pytest

from survey_service.settings import Settings
from tests.conftest import Service
from tests.factories import open_poll
from tests.integration.security.world import client_at, service_with
from tests.samples import POLL_ANSWER


def _bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {secrets.token_urlsafe(32)}"}


async def _guesses(client: httpx.AsyncClient, forwarded_for: str, count: int) -> list[int]:
    statuses = []
    for _ in range(count):
        headers = {**_bearer(), "X-Forwarded-For": forwarded_for}
        response = await client.get("/api/v1/campaigns", headers=headers)
        statuses.append(response.status_code)
    return statuses


async def test_without_trusted_proxies_forwarded_headers_are_ignored(service: Service) -> None:
    async with service_with(service, auth_failures_per_minute=2) as limited:
        guesser = client_at(limited, "203.0.113.7")
        # A new made-up address in every request: all are the peer's, throttled after two.
        statuses = [(await _guesses(guesser, f"198.51.100.{n}", 1))[0] for n in range(1, 5)]
        assert statuses == [401, 401, 429, 429]
        await guesser.aclose()


async def test_behind_a_trusted_proxy_the_forwarded_client_is_counted(service: Service) -> None:
    async with service_with(
        service, auth_failures_per_minute=2, trusted_proxies=("10.0.0.0/8",)
    ) as limited:
        proxy = client_at(limited, "10.0.0.5")
        assert await _guesses(proxy, "203.0.113.7", 3) == [401, 401, 429]
        # Another client behind the same proxy is not throttled for the first one's guesses.
        assert await _guesses(proxy, "203.0.113.8", 1) == [401]
        # A client that writes its own X-Forwarded-For: the proxy appends the address it
        # saw, and the rightmost address that is not a proxy is the one counted.
        assert await _guesses(proxy, "198.51.100.1, 203.0.113.7", 1) == [429]
        await proxy.aclose()


async def test_a_peer_that_is_not_a_trusted_proxy_cannot_forward(service: Service) -> None:
    async with service_with(
        service, auth_failures_per_minute=2, trusted_proxies=("10.0.0.5",)
    ) as limited:
        direct = client_at(limited, "203.0.113.9")
        statuses = [(await _guesses(direct, f"198.51.100.{n}", 1))[0] for n in range(1, 4)]
        assert statuses == [401, 401, 429]
        await direct.aclose()


async def test_the_scheme_comes_from_a_trusted_proxy_only(service: Service) -> None:
    """Behind a TLS-terminating proxy the poll's device cookie is marked Secure; a client
    claiming https itself is not believed."""
    async with service_with(service, trusted_proxies=("10.0.0.5",)) as behind:
        for peer, secure in (("10.0.0.5", True), ("203.0.113.9", False)):
            _, slug = await open_poll(service)
            client = client_at(behind, peer)
            response = await client.post(
                f"/api/v1/polls/{slug}/responses",
                json={"data": POLL_ANSWER},
                headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.1"},
            )
            await client.aclose()
            assert response.status_code == 201, response.text
            cookies = response.headers.get_list("set-cookie")
            assert cookies
            assert all(("; Secure" in c) is secure for c in cookies)


def test_a_trusted_proxy_must_be_an_address_or_network() -> None:
    assert Settings.from_env(
        {"SURVEY_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"}
    ).trusted_proxies == (
        "127.0.0.1",
        "10.0.0.0/8",
    )
    with pytest.raises(ValueError, match="SURVEY_TRUSTED_PROXIES: 'nginx'"):
        Settings.from_env({"SURVEY_TRUSTED_PROXIES": "nginx"})
