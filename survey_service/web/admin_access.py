"""What the bureau's registry, invitation and poll-link pages share: who is signed in (an
admin's or district staff's session, else a 303 to sign in) and a post checked for its
CSRF token before anything in it is used (``staff_access.signed_post`` for bureau roles)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

from survey_service.auth import BUREAU_ROLES, Principal
from survey_service.web.posting import Posted
from survey_service.web.staff_access import see_other, signed_post

__all__ = ["SIGN_IN", "admin_post", "see_other"]

SIGN_IN = "/admin/signin"


async def admin_post(request: Request[Any, Any, Any]) -> tuple[Principal, Posted] | Response[Any]:
    """Who posted from a bureau page and what the post carries, or the answer to give
    instead: a 303 to sign in, or 403 for a stale or forged page."""
    return await signed_post(request, BUREAU_ROLES, SIGN_IN)
