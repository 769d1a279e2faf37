"""What the staff's pages (the bureau's token and audit pages, the analyst's page) share: a
303 to a page, and a signed-in post checked before anything is read from it (the session
of a given role, then the CSRF token)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, Response
from litestar.response import Redirect

from survey_service.auth import Principal, session_principal, spend_rate
from survey_service.web.i18n import lang_of, translate
from survey_service.web.pages import PAGE_HEADERS, message_page
from survey_service.web.posting import Posted, read_post
from survey_service.web.sessions import csrf_ok, csrf_token


def see_other(to: str) -> Redirect:
    return Redirect(to, status_code=303, headers=PAGE_HEADERS)


@dataclass(frozen=True, slots=True)
class SignedPost:
    """A post from a signed-in page: who sent it and what it carries, or the answer to
    give instead (a redirect to sign in, or 403 for a stale or forged page)."""

    principal: Principal | None
    posted: Posted | None
    refusal: Response[Any] | None


async def signed_post(
    request: Request[Any, Any, Any], roles: tuple[str, ...], sign_in_at: str
) -> SignedPost:
    principal = await signed_in_as(request, roles)
    if principal is None:
        return SignedPost(None, None, see_other(sign_in_at))
    posted = await read_post(request)
    if not csrf_ok(request, posted.csrf):
        refusal = message_page(
            request,
            403,
            translate(lang_of(request), "The form has expired; please try again."),
            "",
            csrf=csrf_token(request),
        )
        return SignedPost(principal, posted, refusal)
    return SignedPost(principal, posted, None)


async def signed_in_as(request: Request[Any, Any, Any], roles: tuple[str, ...]) -> Principal | None:
    """The principal of the browser's session when it has one of ``roles``."""
    principal = await session_principal(request)
    if principal is None or principal.role not in roles:
        return None
    spend_rate(request, principal)
    return principal


def field(posted: Posted, name: str) -> str:
    """A posted text field's first value, stripped ('' when absent)."""
    return (posted.fields.get(name) or [""])[0].strip()
