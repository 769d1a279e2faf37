"""Browser sessions for the enterprise and admin pages, and their CSRF protection.

The session is Litestar's client-side cookie backend: the cookie is encrypted and
authenticated (AES-GCM, with its expiry inside the authenticated data) under a key derived
from ``SURVEY_SESSION_SECRET`` (or ``var/session-secret``, generated on first start). It
holds only the id of the token the browser signed in with and the session's CSRF token;
the token itself is never stored in the cookie, a URL or a log. Every request looks the
token up again (``auth.session_principal``), so revoking an invitation or an admin token
ends the sessions opened with it. Cookie flags: HttpOnly, SameSite=Lax, Path=/, Secure when
``SURVEY_SECURE_COOKIES`` is set, 8 hours from the last request.

CSRF: a synchroniser token per session (32 random bytes), made at the first page view and
replaced at sign-in and sign-out. Every form a signed-in page posts carries it in the hidden
field ``_csrf``; the builder's calls to the JSON API send it as ``X-CSRF-Token``
(``auth.authenticate`` checks it for a session-authenticated request that changes
anything). Bearer-token clients are not concerned: a browser never adds a bearer token on
its own. Posts must also come from this site: ``Sec-Fetch-Site`` (or, failing it,
``Origin``) naming another site is refused.

The anonymous poll (``/p/...``) has no session at all: the session middleware is skipped
for its paths, so it never reads or sets the session cookie, and its form carries no
per-visitor token, since any token the server could check would be a value tied to one
browser. Its form post is protected by the same-site check alone, which needs no value
from the worker: a forged cross-site post (the only thing CSRF could do here, besides
spending the victim's device mark) is refused by every browser that sends the fetch
metadata headers. The page does not rely on ``Origin`` there: with its
``Referrer-Policy: no-referrer`` browsers send ``Origin: null`` for same-origin posts.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from typing import Any
from urllib.parse import urlsplit

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.middleware.session.client_side import CookieBackendConfig

from survey_service.auth import (
    SESSION_CSRF,
    SESSION_TOKEN_ID,
    Principal,
    session_principal,
    spend_rate,
)
from survey_service.settings import Settings
from survey_service.tokens import read_secret

SESSION_COOKIE = "survey_session"
SESSION_SECONDS = 8 * 3600
CSRF_FIELD = "_csrf"
# Never a session here: the anonymous poll, health checks, static files, the OpenAPI
# document and the forms' public schemas (the hot read path).
NO_SESSION_PATHS = [
    r"^/p/",
    r"^/api/v1/polls/",
    r"^/health$",
    r"^/static/",
    r"^/schema",
    r"^/api/v1/forms/[^/]+/schema$",
]


def session_secret(settings: Settings) -> str:
    """The configured secret, or the one in ``var/session-secret`` (created once, 0600;
    created exclusively, so processes starting together agree on one)."""
    if settings.session_secret:
        return settings.session_secret
    path = settings.var_dir / "session-secret"
    found = read_secret(path)
    if found:
        return found
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_secret(path) or secret
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    return secret


def session_config(settings: Settings) -> CookieBackendConfig:
    key = hashlib.sha256(b"survey_service session cookie\0" + session_secret(settings).encode())
    return CookieBackendConfig(
        secret=key.digest(),
        key=SESSION_COOKIE,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        exclude=NO_SESSION_PATHS,
    )


def _session(connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
    session = connection.scope.get("session")
    if not isinstance(session, dict):
        raise RuntimeError("this path has no session (see NO_SESSION_PATHS)")
    return session


def csrf_token(request: Request[Any, Any, Any]) -> str:
    """The session's CSRF token, made on first use (a visitor who has not signed in yet
    gets one too: the sign-in form is protected like the others)."""
    session = _session(request)
    token = session.get(SESSION_CSRF)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.set_session({**session, SESSION_CSRF: token})
    return token


def same_site(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """False when the browser says the request comes from another site."""
    fetch_site = connection.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = connection.headers.get("origin")
    if origin is None or origin == "null":
        return True
    return urlsplit(origin).netloc == connection.headers.get("host", "")


def csrf_ok(request: Request[Any, Any, Any], sent: str | None) -> bool:
    """A post from a signed-in page: from this site, with the session's token."""
    session = request.scope.get("session")
    expected = session.get(SESSION_CSRF) if isinstance(session, dict) else None
    if not same_site(request) or not isinstance(expected, str) or not expected or not sent:
        return False
    return hmac.compare_digest(expected.encode(), sent.encode())


def sign_in(request: Request[Any, Any, Any], principal: Principal) -> None:
    """A new session for ``principal`` with a new CSRF token (what came before is dropped,
    so a session planted before sign-in is worth nothing after it)."""
    request.set_session(
        {SESSION_TOKEN_ID: principal.token_id, SESSION_CSRF: secrets.token_urlsafe(32)}
    )


def sign_out(request: Request[Any, Any, Any]) -> None:
    request.set_session({SESSION_CSRF: secrets.token_urlsafe(32)})


async def signed_in(request: Request[Any, Any, Any], *roles: str) -> Principal | None:
    """The principal this browser signed in as, when it has one of ``roles`` and is still
    valid (its request counted against the token's rate)."""
    principal = await session_principal(request)
    if principal is None or principal.role not in roles:
        return None
    await spend_rate(request, principal)
    return principal
