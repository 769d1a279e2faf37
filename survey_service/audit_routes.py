"""``GET /api/v1/audit`` (admin): the audit log, newest first, filtered and paged by keyset
(``survey_service.audit_log`` reads it, for the bureau's page too)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import FromQuery, QueryParameter

from survey_service import audit_log
from survey_service.auth import require
from survey_service.deps import DB
from survey_service.errors import ServiceError
from survey_service.openapi import BEARER, problems
from survey_service.structs import INT4_MAX, Out


class AuditEntryOut(Out, kw_only=True):
    id: int
    at: datetime
    actor_token_id: int | None
    actor_role: str | None
    actor_label: str | None
    action: str
    target: str | None
    detail: dict[str, Any]


class AuditPage(Out, kw_only=True):
    items: list[AuditEntryOut]
    next_cursor: str | None


def _problem(exc: audit_log.AuditFilterError) -> Exception:
    return ServiceError("bad-request", str(exc))


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["auth"]
    guards = [require("admin")]
    security = BEARER

    @get("/", responses=problems(400, 401, 403, 422))
    async def entries(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        role: FromQuery[str | None] = None,
        actor: Annotated[int | None, QueryParameter(ge=1, le=INT4_MAX)] = None,
        action: FromQuery[str | None] = None,
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
        campaign_id: Annotated[int | None, QueryParameter(ge=1, le=INT4_MAX)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=audit_log.MAX_PAGE_SIZE)] = 100,
        cursor: FromQuery[str | None] = None,
    ) -> AuditPage:
        """Audit entries, newest first: `role` of the actor (`admin`, `analyst`,
        `enterprise`, or `none` for entries no token made), `actor` (a token's id), `action`
        (`token.create`, or a family: `token`), `since`/`until` (RFC 3339, or a day:
        `until` includes it), `campaign_id` (the campaign, its parts and its submissions).
        """
        try:
            wanted = audit_log.filter_from_text(
                request.app.state.settings.zone, role=role, actor=actor, action=action,
                since=since, until=until, campaign_id=campaign_id,
            )  # fmt: skip
            before = audit_log.read_before(cursor)
        except audit_log.AuditFilterError as exc:
            raise _problem(exc) from None
        async with db.read() as session:
            lines, next_before = await audit_log.audit_entries(
                session, wanted, limit=limit, before=before
            )
        return AuditPage(
            items=[_entry_out(line) for line in lines],
            next_cursor=str(next_before) if next_before is not None else None,
        )


def _entry_out(line: audit_log.AuditLine) -> AuditEntryOut:
    return AuditEntryOut(
        id=line.id,
        at=line.at,
        actor_token_id=line.actor_token_id,
        actor_role=line.actor_role,
        actor_label=line.actor_label,
        action=line.action,
        target=line.target,
        detail=line.detail,
    )
