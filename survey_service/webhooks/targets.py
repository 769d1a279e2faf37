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
from urllib.parse import urlsplit

from survey_service.errors import unprocessable


class TargetRefused(ValueError):
    """Why an address may not be a webhook's target (English, Chinese)."""

    def __init__(self, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.message_zh = message_zh


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def check_target(url: str, *, allow_private: bool) -> None:
    """Refuse ``url`` as a webhook target (``TargetRefused``) unless it may be one."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TargetRefused("not an http(s) address", "不是 http(s) 地址")
    if parts.scheme == "http" and not allow_private:
        raise TargetRefused("only https addresses are allowed", "只允许 https 地址")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("an address may not carry credentials", "地址中不能包含用户名或密码")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefused("the port is not a number", "端口不是数字") from None
    try:
        found = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, port, type=socket.SOCK_STREAM
        )
    except (OSError, UnicodeError):
        raise TargetRefused(
            f"the host {parts.hostname} cannot be resolved", f"无法解析主机 {parts.hostname}"
        ) from None
    if allow_private:
        return
    for *_, sockaddr in found:
        if not _public(str(sockaddr[0])):
            raise TargetRefused(
                f"the host resolves to {sockaddr[0]}, a private, loopback, link-local or "
                "reserved address",
                f"主机解析到 {sockaddr[0]}，属于内网、本机、链路本地或保留地址",
            )


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
