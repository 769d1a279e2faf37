"""The bureau's page of the audit log (``/admin/audit``): who did what and when, newest
first, filtered by the actor's role or token, the action, a range of days and a campaign,
a page at a time (keyset: "earlier entries" starts below the last one shown). The same
reader as ``GET /api/v1/audit`` (``survey_service.audit_log``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, MediaType, Request, Response, get
from litestar.params import FromQuery

from survey_service import audit_log
from survey_service.collection import campaigns
from survey_service.deps import DB
from survey_service.structs import INT4_MAX
from survey_service.web.pages import page
from survey_service.web.sessions import csrf_token, signed_in
from survey_service.web.staff_access import see_other

SIGN_IN = "/admin/signin"
FILTERS = ("role", "actor", "action", "since", "until", "campaign")


def _whole(name: str, text: str) -> int | None:
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= INT4_MAX:
        raise audit_log.AuditFilterError(name, f"{text!r} is not a number from the list")
    return int(text)


def _families(actions: list[str]) -> list[str]:
    return sorted({action.split(".", 1)[0] for action in actions if "." in action})


class AuditPageController(Controller):
    path = "/admin/audit"
    tags = ["admin pages"]
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def audit(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        role: FromQuery[str | None] = None,
        actor: FromQuery[str | None] = None,
        action: FromQuery[str | None] = None,
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
        campaign: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """A page of the log with its filters; a filter that cannot be read is said (400)."""
        if await signed_in(request, "admin") is None:
            return see_other(SIGN_IN)
        asked = {
            name: (value or "").strip()[:100]
            for name, value in zip(FILTERS, (role, actor, action, since, until, campaign),
                                   strict=True)
        }  # fmt: skip
        lines: list[audit_log.AuditLine] = []
        next_before = None
        error = ""
        async with db.read() as session:
            actions = await audit_log.audit_actions(session)
            listed = await campaigns.list_campaigns(session)
            try:
                wanted = audit_log.filter_from_text(
                    request.app.state.settings.zone,
                    role=asked["role"], actor=_whole("actor", asked["actor"]),
                    action=asked["action"], since=asked["since"], until=asked["until"],
                    campaign_id=_whole("campaign", asked["campaign"]),
                )  # fmt: skip
                lines, next_before = await audit_log.audit_entries(
                    session, wanted, before=audit_log.read_before(cursor)
                )
            except audit_log.AuditFilterError as exc:
                error = str(exc)
        kept = {name: value for name, value in asked.items() if value}
        return page(
            request,
            "admin_audit.html",
            400 if error else 200,
            lines=lines,
            asked=asked,
            roles=audit_log.ROLES,
            actions=actions,
            families=_families(actions),
            campaigns=listed,
            error=error,
            first_page=f"?{urlencode(kept)}" if cursor else "",
            next_page=f"?{urlencode(kept | {'cursor': next_before})}" if next_before else "",
            detail_text=lambda detail: msgspec.json.encode(detail).decode() if detail else "",
            csrf=csrf_token(request),
        )
