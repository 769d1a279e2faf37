"""What the bureau's registry, invitation and poll-link pages share: who is signed in (an
admin's session, else a 303 to sign in), a post checked for its CSRF token before anything
in it is used, and the part of the city the signed-in person manages."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.response import Redirect

from survey_service.auth import BUREAU_ROLES, Principal
from survey_service.web.i18n import lang_of, translate
from survey_service.web.pages import PAGE_HEADERS, message_page
from survey_service.web.posting import Posted, read_post
from survey_service.web.sessions import csrf_ok, csrf_token
from survey_service.web.staff_access import signed_in_as

SIGN_IN = "/admin/signin"


def see_other(to: str) -> Redirect:
    return Redirect(to, status_code=303, headers=PAGE_HEADERS)


async def admin_post(request: Request[Any, Any, Any]) -> tuple[Principal, Posted] | Response[Any]:
    """Who posted from an admin's page and what the post carries, or the answer to give
    instead: a 303 to sign in, or 403 for a stale or forged page."""
    principal = await signed_in_as(request, BUREAU_ROLES)
    if principal is None:
        return see_other(SIGN_IN)
    posted = await read_post(request)
    if not csrf_ok(request, posted.csrf):
        return message_page(
            request,
            403,
            translate(lang_of(request), "The form has expired; please try again."),
            "",
            csrf=csrf_token(request),
        )
    return principal, posted
