"""The staff's tokens (admins and analysts; enterprises get theirs as invitations): create,
list, set to expire, revoke. One set of functions for the API (``survey_service.tokens``)
and the bureau's page (``survey_service.web.token_pages``), each audited in the caller's
transaction. A token is shown once, by whoever creates it; only its digest is stored."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.auth import Principal, audit, issue_token
from survey_service.db.models import AccessToken, utcnow
from survey_service.errors import conflict, not_found, unprocessable
from survey_service.reference.codes import districts

StaffRole = Literal["admin", "analyst", "district"]
STAFF_ROLES: tuple[StaffRole, ...] = ("admin", "analyst", "district")
LABEL_MAX = 200


def _bad(path: str, message: str, keyword: str) -> Exception:
    return unprocessable(
        f"{path.lstrip('/')}: {message}", [{"path": path, "message": message, "keyword": keyword}]
    )


def _future(expires_at: datetime | None, *, now: datetime) -> datetime | None:
    if expires_at is None:
        return None
    if expires_at.tzinfo is None:
        raise _bad("/expires_at", "needs a time zone", "format")
    if expires_at <= now:
        raise _bad("/expires_at", "must be in the future", "minimum")
    return expires_at.astimezone(UTC)


async def create_staff_token(
    session: AsyncSession,
    principal: Principal | None,
    role: str,
    label: str,
    expires_at: datetime | None = None,
    district: str | None = None,
) -> tuple[str, AccessToken]:
    """A new staff token (an admin's, an analyst's, or a district's staff's held to
    ``district``): (the token itself, to show once; its stored row)."""
    if role not in STAFF_ROLES:
        raise _bad("/role", f"must be one of {', '.join(STAFF_ROLES)}", "enum")
    if role == "district" and district not in districts():
        raise _bad("/district", "a district's staff needs one of the city's districts", "enum")
    if role != "district" and district is not None:
        raise _bad("/district", "only a district's staff is held to a district", "enum")
    label = label.strip()
    if not label or len(label) > LABEL_MAX:
        raise _bad("/label", f"must have 1 to {LABEL_MAX} characters", "maxLength")
    when = _future(expires_at, now=utcnow())
    staff_role: StaffRole = "admin" if role == "admin" else "district" if district else "analyst"
    token, row = await issue_token(
        session, staff_role, label=label, expires_at=when, district=district
    )
    held = {"district": district} if district else {}
    audit(session, principal, "token.create", f"token:{row.id}", role=role, **held)
    return token, row


async def staff_tokens(session: AsyncSession) -> list[AccessToken]:
    """Every admin and analyst token, oldest first (never an enterprise's invitation)."""
    rows = await session.scalars(
        select(AccessToken).where(AccessToken.role != "enterprise").order_by(AccessToken.id)
    )
    return list(rows)


async def _staff_token(session: AsyncSession, token_id: int) -> AccessToken:
    row = await session.get(AccessToken, token_id)
    if row is None or row.role == "enterprise":
        raise not_found("Token")
    return row


async def revoke_staff_token(
    session: AsyncSession, principal: Principal | None, token_id: int
) -> AccessToken:
    """Revoke the token now (again: nothing changes); its sessions end with it."""
    row = await _staff_token(session, token_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    audit(session, principal, "token.revoke", f"token:{row.id}")
    return row


async def expire_staff_token(
    session: AsyncSession,
    principal: Principal | None,
    token_id: int,
    expires_at: datetime | None = None,
) -> AccessToken:
    """Let the token expire at ``expires_at`` (now when None), earlier or later than it
    would have; never in the past. A revoked token stays revoked (409)."""
    row = await _staff_token(session, token_id)
    if row.revoked_at is not None:
        raise conflict(f"Token {row.id} is revoked; it cannot be given an expiry.")
    now = utcnow()
    row.expires_at = now if expires_at is None else _future(expires_at, now=now)
    await session.flush()
    audit(
        session, principal, "token.expire", f"token:{row.id}",
        expires_at=row.expires_at.isoformat() if row.expires_at else None,
    )  # fmt: skip
    return row


def token_state(row: AccessToken, now: datetime | None = None) -> str:
    """``active``, ``expired`` or ``revoked``, as the token's holder would find it."""
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= (now or utcnow()):
        return "expired"
    return "active"
