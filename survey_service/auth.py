"""Bearer tokens (stored as SHA-256 digests), roles and the guards that enforce them.

Tokens are 256 random bits from the CSPRNG, so an unsalted digest is enough: nothing about
a stored digest helps to guess a token.
"""

from __future__ import annotations

import hashlib
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

Role = Literal["admin", "analyst", "enterprise"]
ROLES: tuple[Role, ...] = ("admin", "analyst", "enterprise")


@dataclass(frozen=True, slots=True)
class Principal:
    token_id: int
    role: Role
    enterprise_id: int | None = None
    campaign_id: int | None = None


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
    )
    session.add(row)
    await session.flush()
    return token, row


async def principal_for(db: Database, token: str) -> Principal | None:
    async with db.read() as session:
        row = await session.scalar(
            select(AccessToken).where(AccessToken.token_hash == token_digest(token))
        )
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= utcnow():
        return None
    role: Role = row.role  # type: ignore[assignment]
    return Principal(row.id, role, row.enterprise_id, row.campaign_id)


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
        raise NotAuthorizedException(
            "A bearer token is required.", headers={"WWW-Authenticate": "Bearer"}
        )
    db: Database = connection.app.state.db
    principal = await principal_for(db, token)
    if principal is None:
        raise NotAuthorizedException(
            "The token is unknown, expired or revoked.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
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
