"""Bearer tokens (stored as SHA-256 digests), roles and the guards that enforce them.

A browser signed in through the pages (``survey_service.web.sessions``) carries no bearer
token: its encrypted session cookie names the token it signed in with, which is looked up
again on every request (so revoking the token ends the session), and a request that
changes anything must repeat the session's CSRF token in the ``X-CSRF-Token`` header.

Tokens are 256 random bits from the CSPRNG, so an unsalted digest is enough: nothing about
a stored digest helps to guess a token. Failed tokens are audited (never the token itself)
and slowed per client address (``survey_service.guessing``); each valid token has its own
request rate (``Settings.token_rate_per_minute``, 429 with ``Retry-After`` beyond it).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.db.engine import Database
from survey_service.db.models import AccessToken, AuditEntry, utcnow
from survey_service.guessing import GuessingThrottle
from survey_service.ratelimit import Rates, too_many_requests
from survey_service.settings import Settings
from survey_service.webhooks import events as webhook_events

# A negotiator is a union's negotiator of one enterprise: its token reads that enterprise's
# negotiation brief of one campaign, nothing else, and expires.
Role = Literal["admin", "analyst", "district", "enterprise", "negotiator"]
ROLES: tuple[Role, ...] = ("admin", "analyst", "district", "enterprise", "negotiator")
# Who runs a campaign: the bureau (the whole city) and a district's staff (its district).
BUREAU_ROLES: tuple[Role, ...] = ("admin", "district")


@dataclass(frozen=True, slots=True)
class Principal:
    token_id: int
    role: Role
    enterprise_id: int | None = None
    campaign_id: int | None = None
    district: str | None = None  # a district's staff: the district it is held to


def principal_of(request: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The principal a route's guard put on the request."""
    principal: Principal = request.state.principal
    return principal


def district_scope(principal: Principal) -> str | None:
    """The district whose enterprises, invitations, submissions and progress ``principal``
    sees and manages: a district's staff its own, None (the whole city) for the bureau."""
    return principal.district if principal.role == "district" else None


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(
    session: AsyncSession,
    role: Role,
    *,
    label: str | None = None,
    enterprise_id: int | None = None,
    campaign_id: int | None = None,
    expires_at: datetime | None = None,
    token: str | None = None,
    district: str | None = None,
) -> tuple[str, AccessToken]:
    """Store a new token's digest; the clear token is returned once and never stored."""
    token = token or new_token()
    row = AccessToken(
        token_hash=token_digest(token),
        role=role,
        label=label,
        enterprise_id=enterprise_id,
        campaign_id=campaign_id,
        expires_at=expires_at,
        district=district,
    )
    session.add(row)
    await session.flush()
    return token, row


# What a signed-in browser's session holds (besides the page language, nothing else).
SESSION_TOKEN_ID = "tid"  # noqa: S105 (a key name, not a secret)
SESSION_CSRF = "csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _principal(row: AccessToken | None) -> Principal | None:
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= utcnow():
        return None
    role: Role = row.role  # type: ignore[assignment]
    return Principal(row.id, role, row.enterprise_id, row.campaign_id, row.district)


async def principal_by_id(db: Database, token_id: int) -> Principal | None:
    """The principal of a token signed in earlier, if it is still valid."""
    async with db.read() as session:
        return _principal(await session.get(AccessToken, token_id))


async def session_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """The principal a browser's session cookie signed in as, if it is still valid."""
    session = connection.scope.get("session")
    token_id = session.get(SESSION_TOKEN_ID) if isinstance(session, dict) else None
    if not isinstance(token_id, int):
        return None
    return await principal_by_id(connection.app.state.db, token_id)


def csrf_matches(connection: ASGIConnection[Any, Any, Any, Any], sent: str | None) -> bool:
    session = connection.scope.get("session")
    expected = session.get(SESSION_CSRF) if isinstance(session, dict) else None
    if not isinstance(expected, str) or not expected or not sent:
        return False
    return hmac.compare_digest(expected.encode(), sent.encode())


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    client = connection.client
    return client.host if client is not None else "unknown"


async def verified_principal(
    connection: ASGIConnection[Any, Any, Any, Any],
    token: str,
    role: Role | tuple[Role, ...] | None = None,
) -> Principal | None:
    """The principal of ``token`` (of ``role`` when given), or None when the token is
    unknown, expired, revoked or of another role: that failure is audited (the token never
    is) and, unless the token is real, counted against the client's address. Raises 429
    while the address has failed too often lately (see ``survey_service.guessing``)."""
    db: Database = connection.app.state.db
    throttle: GuessingThrottle = connection.app.state.process.guessing
    address = client_address(connection)
    digest = token_digest(token)
    where = {"address": address, "method": connection.scope.get("method"),
             "path": connection.url.path}  # fmt: skip
    wait = await throttle.wait(address, digest)
    if wait > 0:
        refused = await throttle.refused(address)
        if refused:
            async with db.transaction() as session:
                audit(session, None, "auth.throttled", None, refused=refused, **where)
        raise too_many_requests(
            "Too many failed tokens from this address.", wait, kind="too-many-failed-attempts"
        )
    async with db.read() as session:
        row = await session.scalar(select(AccessToken).where(AccessToken.token_hash == digest))
    principal = _principal(row)
    if principal is not None:
        await throttle.succeeded(digest)
        if (
            role is None
            or principal.role == role
            or (isinstance(role, tuple) and principal.role in role)
        ):
            return principal
        reason = "role"
    else:
        await throttle.failed(address)
        reason = "unknown" if row is None else "revoked" if row.revoked_at else "expired"
    async with db.transaction() as session:
        known = {"token_id": row.id} if row is not None else {}
        audit(session, None, "auth.refused", None, reason=reason, **where, **known)
    return None


async def spend_rate(connection: ASGIConnection[Any, Any, Any, Any], principal: Principal) -> None:
    """Take one request from the token's rate (shared by every process on PostgreSQL, see
    ``survey_service.ratelimit``); 429 with ``Retry-After`` when it is spent."""
    settings: Settings = connection.app.state.settings
    per_minute = settings.token_rate_per_minute
    if per_minute <= 0:
        return
    limiter: Rates = connection.app.state.process.token_limiter
    wait = await limiter.acquire(principal.token_id, per_minute)
    if wait > 0:
        raise too_many_requests(f"This token may make {per_minute} requests a minute.", wait)


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    cached: Principal | None = connection.scope.get("state", {}).get("principal")
    if cached is not None:
        return cached
    token = bearer_token(connection)
    if token is None:
        principal = await session_principal(connection)
        if principal is None:
            raise NotAuthorizedException(
                "A bearer token is required.", headers={"WWW-Authenticate": "Bearer"}
            )
        method = connection.scope.get("method", "GET")
        if method not in SAFE_METHODS and not csrf_matches(
            connection, connection.headers.get(CSRF_HEADER)
        ):
            raise PermissionDeniedException(
                "A signed-in browser must send the session's CSRF token in X-CSRF-Token."
            )
        await spend_rate(connection, principal)
        connection.state.principal = principal
        return principal
    principal = await verified_principal(connection, token)
    if principal is None:
        raise NotAuthorizedException(
            "The token is unknown, expired or revoked.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    await spend_rate(connection, principal)
    connection.state.principal = principal
    return principal


def require(*roles: Role) -> Any:
    """A guard admitting only the given roles (401 without a valid token, 403 otherwise)."""

    async def guard(
        connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler
    ) -> None:
        principal = await authenticate(connection)
        if principal.role not in roles:
            raise PermissionDeniedException("This token's role may not do this.")

    guard.__name__ = f"require_{'_'.join(roles)}"
    return guard


async def provide_principal(request: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    return await authenticate(request)


def recorder(principal: Principal) -> str:
    """Who did something, as a record names them: ``admin #12``."""
    return f"{principal.role} #{principal.token_id}"


def audit(
    session: AsyncSession,
    principal: Principal | None,
    action: str,
    target: str | None = None,
    **detail: Any,
) -> None:
    session.add(
        AuditEntry(
            actor_token_id=principal.token_id if principal else None,
            actor_role=principal.role if principal else None,
            action=action,
            target=target,
            detail=detail,
        )
    )
    webhook_events.record_audited(session, action, target, detail)
