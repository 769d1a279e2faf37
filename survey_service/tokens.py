"""Token administration (admin only): create analyst or admin tokens, list, set to expire,
revoke (``survey_service.staff_tokens`` does the work, for the page too); and the first
admin token written to ``var/admin-token`` on first start."""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy import select

from survey_service import staff_tokens
from survey_service.auth import issue_token, require, token_digest
from survey_service.db.models import AccessToken
from survey_service.deps import DB, PathId
from survey_service.openapi import BEARER, problems
from survey_service.structs import Body, Out

log = logging.getLogger(__name__)


class TokenCreate(Body, kw_only=True):
    role: Literal["admin", "analyst", "district"]
    label: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    # A district's staff: the district (its code) the token is held to.
    district: Annotated[str, msgspec.Meta(max_length=12)] | None = None
    # A time zone is required: a naive time is ambiguous (and cannot be stored as UTC).
    expires_at: Annotated[datetime, msgspec.Meta(tz=True)] | None = None


class TokenOut(Out, kw_only=True):
    id: int
    role: str
    label: str | None
    district: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    token: str | None = None


def token_out(row: AccessToken, token: str | None = None) -> TokenOut:
    return TokenOut(
        id=row.id,
        role=row.role,
        label=row.label,
        district=row.district,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        token=token,
    )


class TokenExpire(Body, kw_only=True):
    """When the token stops working: a future time with its zone; now when not given."""

    expires_at: Annotated[datetime, msgspec.Meta(tz=True)] | None = None


class TokenController(Controller):
    path = "/api/v1/tokens"
    tags = ["auth"]
    guards = [require("admin")]
    security = BEARER

    @post("/", status_code=HTTP_201_CREATED, responses=problems(400, 401, 403, 413, 422))
    async def create(
        self, request: Request[Any, Any, Any], db: DB, data: JSONBody[TokenCreate]
    ) -> TokenOut:
        """A new admin or analyst token; the token itself is in this answer only."""
        async with db.transaction() as session:
            token, row = await staff_tokens.create_staff_token(
                session,
                request.state.principal,
                data.role,
                data.label,
                data.expires_at,
                data.district,
            )
            return token_out(row, token)

    @get("/", responses=problems(401, 403))
    async def list_tokens(self, db: DB) -> list[TokenOut]:
        async with db.read() as session:
            return [token_out(r) for r in await staff_tokens.staff_tokens(session)]

    @post(
        "/{token_id:int}/revoke",
        status_code=HTTP_200_OK,
        responses=problems(400, 401, 403, 404, 422),
    )
    async def revoke(self, request: Request[Any, Any, Any], db: DB, token_id: PathId) -> TokenOut:
        async with db.transaction() as session:
            row = await staff_tokens.revoke_staff_token(session, request.state.principal, token_id)
            return token_out(row)

    @post(
        "/{token_id:int}/expire",
        status_code=HTTP_200_OK,
        responses=problems(400, 401, 403, 404, 409, 413, 422),
    )
    async def expire(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        token_id: PathId,
        data: JSONBody[TokenExpire],
    ) -> TokenOut:
        """Let the token expire at `expires_at` (earlier or later than it would have), or
        now when the body (`{}`) gives none; a revoked token is 409."""
        when = data.expires_at
        async with db.transaction() as session:
            row = await staff_tokens.expire_staff_token(
                session, request.state.principal, token_id, when
            )
            return token_out(row)


def write_secret(path: Path, secret: str) -> None:
    """Write ``secret`` to a file only its owner can read (created so, never widened)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # narrow a file that existed already (O_CREAT's mode is then ignored)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")


def read_secret(path: Path) -> str | None:
    return (path.read_text().strip() or None) if path.exists() else None


async def ensure_admin_token(db: DB, var_dir: Path, configured: str | None) -> None:
    """Make sure an admin can sign in: the configured token, or the one in var/admin-token,
    or a new one written there (mode 0600). The token is never logged."""
    token_file = var_dir / "admin-token"
    token = configured
    if token is None:
        token = read_secret(token_file)
    async with db.transaction() as session:
        if token is not None:
            row = await session.scalar(
                select(AccessToken).where(AccessToken.token_hash == token_digest(token))
            )
            if row is None:
                await issue_token(session, "admin", label="first admin", token=token)
                return
            if row.revoked_at is None or configured is not None:
                if row.revoked_at is not None:
                    log.error("SURVEY_ADMIN_TOKEN names a revoked token; it will be refused")
                return
            # The token in the file was revoked: rotate it, so the operator is not locked out.
        token, _ = await issue_token(session, "admin", label="first admin")
    write_secret(token_file, token)
    log.warning("created the first admin token; it is in %s (mode 0600)", token_file)
