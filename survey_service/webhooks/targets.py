"""Where a webhook may point. An address inside the service's own network is how a peer
service was made to reach its cloud's metadata endpoint (SSRF): an endpoint must be https on
a host whose every address is public, unless ``SURVEY_WEBHOOKS_ALLOW_PRIVATE`` allows
private, loopback and plain-http targets (a test receiver, an intranet system). The check
runs at registration and again before every delivery (a name may come to point elsewhere),
and redirects are never followed."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from survey_service.errors import unprocessable


class TargetRefused(ValueError):
    """Why an address may not be a webhook's target (English, Chinese)."""

    def __init__(self, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.message_zh = message_zh


_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known prefix: IPv4 in the last 32 bits
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")  # a network's own translator


def _embedded(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address reaches through (mapped, compatible, SIIT, NAT64,
    6to4, Teredo): a translator or tunnel would take a request to it."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    high = int(ip) >> 32
    if high in (0, 0xFFFF0000) or ip in _NAT64:  # ::a.b.c.d, ::ffff:0:a.b.c.d, NAT64
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _LOCAL_NAT64 or ip.is_site_local:
            return False
        inner = _embedded(ip)
        if inner is not None:
            return inner.is_global and not inner.is_multicast
    return ip.is_global and not ip.is_multicast


async def check_target(url: str, *, allow_private: bool) -> str:
    """Refuse ``url`` as a webhook target (``TargetRefused``) unless it may be one; the
    address its host resolved to (every one of them was checked)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TargetRefused("not an http(s) address", "不是 http(s) 地址")
    try:
        host = _ascii_host(url)  # what the sender will look up and name
    except (httpx.InvalidURL, UnicodeError):
        raise TargetRefused("not a valid address", "地址格式不正确") from None
    if parts.scheme == "http" and not allow_private:
        raise TargetRefused("only https addresses are allowed", "只允许 https 地址")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("an address may not carry credentials", "地址中不能包含用户名或密码")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefused("the port is not a number", "端口不是数字") from None
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise TargetRefused(
            f"the host {parts.hostname} cannot be resolved", f"无法解析主机 {parts.hostname}"
        ) from None
    addresses = [str(sockaddr[0]) for *_, sockaddr in found]
    if not allow_private:
        for address in addresses:
            if not _public(address):
                raise TargetRefused(
                    f"the host resolves to {address}, a private, loopback, link-local or "
                    "reserved address",
                    f"主机解析到 {address}，属于内网、本机、链路本地或保留地址",
                )
    return addresses[0]


@dataclass(frozen=True, slots=True)
class Pinned:
    """A request to the address that was checked, not to a name looked up again (which a
    DNS server could answer differently the second time): the URL with that address, the
    Host header and the TLS server name of the original host."""

    url: str
    headers: dict[str, str]
    extensions: dict[str, str]


async def pinned(url: str, *, allow_private: bool) -> Pinned:
    address = await check_target(url, allow_private=allow_private)
    parts = urlsplit(url)
    host = _ascii_host(url)
    return Pinned(
        parts._replace(netloc=_netloc(address, parts.port)).geturl(),
        {"host": _netloc(host, parts.port)},
        {"sni_hostname": host} if parts.scheme == "https" else {},
    )


def _netloc(host: str, port: int | None) -> str:
    """``host`` (an IPv6 literal in brackets) and the port when the URL gives one."""
    shown = f"[{host}]" if ":" in host else host
    return shown if port is None else f"{shown}:{port}"


def _ascii_host(url: str) -> str:
    """The URL's host as it is looked up and sent: a Chinese name in its IDNA form."""
    return httpx.URL(url).raw_host.decode("ascii")


async def registrable(url: str, *, allow_private: bool) -> None:
    """``check_target`` as a refusal of the request (422 on the field ``url``)."""
    try:
        await check_target(url, allow_private=allow_private)
    except TargetRefused as exc:
        raise unprocessable(
            f"The webhook's address is refused: {exc}.",
            [
                {
                    "path": "/url",
                    "keyword": "target",
                    "message": str(exc),
                    "message_zh": exc.message_zh,
                }
            ],
        ) from None
