"""A webhook is sent to the address that was checked: the name is looked up once, every
address it gives must be public, and the request goes to that address with the original
Host and TLS server name, so a DNS answer that changes between the check and the connection
(rebinding to 169.254.169.254) cannot redirect it."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from survey_service.webhooks.targets import TargetRefused, pinned


def _resolving(monkeypatch: pytest.MonkeyPatch, *answers: list[str]) -> list[str]:
    asked: list[str] = []
    replies = iter(answers)

    async def getaddrinfo(self: Any, host: str, port: int, **_: Any) -> list[Any]:
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in next(replies)]

    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", getaddrinfo)
    return asked


async def test_the_request_goes_to_the_checked_address(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _resolving(monkeypatch, ["93.184.215.14"], ["169.254.169.254"])
    target = await pinned("https://hooks.example.org:8443/in?x=1", allow_private=False)
    assert target.url == "https://93.184.215.14:8443/in?x=1"
    assert target.headers == {"host": "hooks.example.org:8443"}
    assert target.extensions == {"sni_hostname": "hooks.example.org"}
    assert asked == ["hooks.example.org"]  # looked up once: the rebinding answer is unused


async def test_one_private_address_among_public_ones_refuses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _resolving(monkeypatch, ["93.184.215.14", "10.0.0.5"])
    with pytest.raises(TargetRefused):
        await pinned("https://hooks.example.org/in", allow_private=False)
