"""What the staff's pages (the bureau's token and audit pages, the analyst's page) share: a
303 to a page, and a signed-in post checked before anything is read from it (the session
of a given role, then the CSRF token)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.response import Redirect

from survey_service.auth import Principal
from survey_service.errors import ServiceError
from survey_service.web.i18n import lang_of, translate
from survey_service.web.pages import PAGE_HEADERS, message_page
from survey_service.web.posting import Posted, read_post
from survey_service.web.sessions import csrf_ok, csrf_token, signed_in


def see_other(to: str) -> Redirect:
    return Redirect(to, status_code=303, headers=PAGE_HEADERS)


async def signed_post(
    request: Request[Any, Any, Any], roles: tuple[str, ...], sign_in_at: str
) -> tuple[Principal, Posted] | Response[Any]:
    """Who posted from a signed-in page and what the post carries, or the answer to give
    instead: a 303 to sign in, or 403 for a stale or forged page."""
    principal = await signed_in(request, *roles)
    if principal is None:
        return see_other(sign_in_at)
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


def field(posted: Posted, name: str) -> str:
    """A posted text field's first value, stripped ('' when absent)."""
    return (posted.fields.get(name) or [""])[0].strip()


def field_errors(exc: ServiceError) -> tuple[dict[str, str], str]:
    """The problem's errors by field (``/uscc`` -> ``uscc``), and its detail for the rest."""
    extra = exc.extra if isinstance(exc.extra, dict) else {}
    by_field: dict[str, str] = {}
    for error in extra.get("errors") or []:
        key = str(error.get("path", "")).strip("/").split("/")[0]
        message = str(error.get("message_zh") or "") + " " + str(error.get("message") or "")
        by_field[key] = message.strip()
    return by_field, "" if by_field else str(exc.detail)
