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


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b:1::a00:5",  # a network's own NAT64
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "::a00:5",  # IPv4-compatible 10.0.0.5
        "::ffff:0:a00:5",  # SIIT 10.0.0.5
        "2001:0:4136:e378:8000:63bf:f5ff:fffa",  # Teredo of 10.0.0.5
        "fec0::1",  # site-local
    ],
)
async def test_an_ipv6_address_that_reaches_inside_is_refused(
    monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    async def getaddrinfo(self: Any, host: str, port: int, **_: Any) -> list[Any]:
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))]

    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", getaddrinfo)
    with pytest.raises(TargetRefused):
        await pinned("https://hooks.example.org/in", allow_private=False)


async def test_a_public_address_through_nat64_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    async def getaddrinfo(self: Any, host: str, port: int, **_: Any) -> list[Any]:
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("64:ff9b::5db8:d70e", port, 0, 0))]

    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", getaddrinfo)
    target = await pinned("https://hooks.example.org/in", allow_private=False)
    assert target.url == "https://[64:ff9b::5db8:d70e]/in"


async def test_a_chinese_host_name_is_sent_in_its_idna_form(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _resolving(monkeypatch, ["93.184.215.14"])
    target = await pinned("https://回调.例子.中国:8443/in", allow_private=False)
    assert target.headers == {"host": "xn--zbss05j.xn--fsqu00a.xn--fiqs8s:8443"}
    assert target.extensions == {"sni_hostname": "xn--zbss05j.xn--fsqu00a.xn--fiqs8s"}
    target.headers["host"].encode("ascii")


async def test_an_address_the_sender_cannot_take_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _resolving(monkeypatch, ["93.184.215.14"])
    with pytest.raises(TargetRefused):
        await pinned("https://hooks.example.org/in\x00x", allow_private=False)


async def test_an_ipv6_literal_is_named_in_brackets(monkeypatch: pytest.MonkeyPatch) -> None:
    async def getaddrinfo(self: Any, host: str, port: int, **_: Any) -> list[Any]:
        assert host == "2001:4860:4860::8888"
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (host, port, 0, 0))]

    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", getaddrinfo)
    target = await pinned("https://[2001:4860:4860::8888]:8443/in", allow_private=False)
    assert target.headers == {"host": "[2001:4860:4860::8888]:8443"}
    assert target.url == "https://[2001:4860:4860::8888]:8443/in"
