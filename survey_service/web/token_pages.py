"""The bureau's page of staff tokens (``/admin/tokens``): create an admin's or an analyst's
token (its label, its last day), see every one with its state, let one expire or revoke it.
A new token is shown once, on the answer to the post that made it (never in a URL, a
cookie or a later page), and the page says so. The work is ``survey_service.staff_tokens``,
as for ``/api/v1/tokens``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.params import FromQuery

from survey_service import staff_tokens
from survey_service.auth import Principal
from survey_service.db.models import AccessToken
from survey_service.deps import DB, PathId
from survey_service.errors import ServiceError
from survey_service.local_time import NotAnInstant, instant_from_text
from survey_service.reference.codes import districts
from survey_service.web.pages import page
from survey_service.web.sessions import csrf_token, signed_in
from survey_service.web.staff_access import field, see_other, signed_post

TOKENS = "/admin/tokens"
SIGN_IN = "/admin/signin"
ADMIN = ("admin",)
DONE = {"revoked", "expired"}


def _last_day(request: Request[Any, Any, Any], text: str) -> datetime | None:
    """``YYYY-MM-DD``: the token works through that day in the service's zone."""
    if not text:
        return None
    return instant_from_text(text, request.app.state.settings.zone, end_of_day=True)


async def _tokens_page(
    request: Request[Any, Any, Any],
    db: DB,
    principal: Principal,
    *,
    status: int = 200,
    created: tuple[str, AccessToken] | None = None,
    error: str = "",
    done: str = "",
) -> Response[str]:
    async with db.read() as session:
        rows = await staff_tokens.staff_tokens(session)
    return page(
        request,
        "admin_tokens.html",
        status,
        tokens=[(row, staff_tokens.token_state(row)) for row in rows],
        own_id=principal.token_id,
        roles=staff_tokens.STAFF_ROLES,
        districts=sorted(districts().values(), key=lambda d: d.code),
        created=created,
        error=error,
        done=done,
        csrf=csrf_token(request),
    )


def _reason(exc: ServiceError) -> str:
    errors = (exc.extra or {}).get("errors") if isinstance(exc.extra, dict) else None
    if errors:
        return "; ".join(f"{e['path'].lstrip('/')}: {e['message']}" for e in errors)
    return str(exc.detail)


class TokenPageController(Controller):
    path = TOKENS
    tags = ["admin pages"]
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def tokens(
        self, request: Request[Any, Any, Any], db: DB, done: FromQuery[str | None] = None
    ) -> Response[Any]:
        """Every staff token with its state, the form to make one, and each one's actions."""
        principal = await signed_in(request, *ADMIN)
        if principal is None:
            return see_other(SIGN_IN)
        return await _tokens_page(request, db, principal, done=done if done in DONE else "")

    @post("/", media_type=MediaType.HTML, status_code=201)
    async def create(self, request: Request[Any, Any, Any], db: DB) -> Response[Any]:
        """Make a token; the answer shows it, once."""
        sent = await signed_post(request, ADMIN, SIGN_IN)
        if isinstance(sent, Response):
            return sent
        principal, posted = sent
        posted = posted
        try:
            expires_at = _last_day(request, field(posted, "expires_on"))
            async with db.transaction() as session:
                created = await staff_tokens.create_staff_token(
                    session, principal, field(posted, "role"), field(posted, "label"),
                    expires_at, district=field(posted, "district") or None,
                )  # fmt: skip
        except NotAnInstant as exc:
            return await _tokens_page(request, db, principal, status=422, error=str(exc))
        except ServiceError as exc:
            return await _tokens_page(
                request, db, principal, status=exc.status_code, error=_reason(exc)
            )
        return await _tokens_page(request, db, principal, status=201, created=created)

    @post("/{token_id:int}/revoke", media_type=MediaType.HTML)
    async def revoke(
        self, request: Request[Any, Any, Any], db: DB, token_id: PathId
    ) -> Response[Any]:
        sent = await signed_post(request, ADMIN, SIGN_IN)
        if isinstance(sent, Response):
            return sent
        principal, _posted = sent
        try:
            async with db.transaction() as session:
                await staff_tokens.revoke_staff_token(session, principal, token_id)
        except ServiceError as exc:
            return await _tokens_page(
                request, db, principal, status=exc.status_code, error=_reason(exc)
            )
        return see_other(f"{TOKENS}?done=revoked")

    @post("/{token_id:int}/expire", media_type=MediaType.HTML)
    async def expire(
        self, request: Request[Any, Any, Any], db: DB, token_id: PathId
    ) -> Response[Any]:
        """Expire now, or give a last day (earlier or later than before)."""
        sent = await signed_post(request, ADMIN, SIGN_IN)
        if isinstance(sent, Response):
            return sent
        principal, posted = sent
        try:
            expires_at = _last_day(request, field(posted, "expires_on"))
            async with db.transaction() as session:
                await staff_tokens.expire_staff_token(session, principal, token_id, expires_at)
        except NotAnInstant as exc:
            return await _tokens_page(request, db, principal, status=422, error=str(exc))
        except ServiceError as exc:
            return await _tokens_page(
                request, db, principal, status=exc.status_code, error=_reason(exc)
            )
        return see_other(f"{TOKENS}?done=expired")
