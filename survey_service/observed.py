"""An ASGI wrapper that tells, once each HTTP request is answered (or has failed: 500), its
scope, status and seconds: what the request metrics and the request log both take."""

from __future__ import annotations

import time
from collections.abc import Callable

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

Observer = Callable[[HTTPScope, int, float], None]


def observed(app: ASGIApp, observer: Observer) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_status)
        finally:
            observer(scope, status, time.perf_counter() - start)

    return middleware
