"""HTTP routes of the negotiation brief: read one (the enterprise, its union's negotiator,
admins) and issue a negotiator's token (admins for any enterprise, an enterprise for
itself). The PDF is the ``negotiation-brief`` report (``POST /api/v1/reports``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from survey_service.analytics import briefs
from survey_service.analytics.briefs import NegotiatorIn
from survey_service.auth import principal_of, require
from survey_service.deps import DB, PathId, Releases
from survey_service.openapi import BEARER, problems
from survey_service.structs import Out


class NegotiatorOut(Out):
    token: str  # shown once
    token_id: int
    enterprise: str
    campaign_id: int
    expires_at: datetime


class BriefController(Controller):
    path = "/api/v1/campaigns/{campaign_id:int}"
    tags = ["analytics"]
    security = BEARER

    @get(
        "/briefs/{uscc:str}",
        guards=[require("admin", "enterprise", "negotiator")],
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def brief(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        release_store: Releases,
        campaign_id: PathId,
        uscc: FromPath[str],
    ) -> dict[str, Any]:
        """The negotiation brief of one enterprise from the campaign's latest release: each
        occupation's own quartiles and mean beside the released reference in the city, the
        enterprise's industry and size class, its own change since last year, and the
        year's wage guideline applied to its median. Admins; the enterprise and its
        union's negotiator for their own (404 for any other); never analysts (403)."""
        async with db.read() as session:
            found = await briefs.brief_subject(session, principal_of(request), campaign_id, uscc)
            return await briefs.negotiation_brief(session, release_store, campaign_id, found.uscc)

    @post(
        "/negotiator-tokens",
        guards=[require("admin", "enterprise")],
        status_code=HTTP_201_CREATED,
        responses=problems(400, 401, 403, 404, 413, 422),
    )
    async def issue(
        self, request: Request[Any, Any, Any], db: DB, campaign_id: PathId,
        data: JSONBody[NegotiatorIn],
    ) -> NegotiatorOut:  # fmt: skip
        """A read-only token for the union's negotiator of one enterprise: it reads that
        enterprise's brief of this campaign and expires after `days` (default 90)."""
        async with db.transaction() as session:
            token, row, found = await briefs.issue_negotiator_token(
                session, principal_of(request), campaign_id, data.enterprise,
                days=data.days, label=data.label,
            )  # fmt: skip
            assert row.expires_at is not None
            return NegotiatorOut(
                token=token, token_id=row.id, enterprise=found.uscc,
                campaign_id=campaign_id, expires_at=row.expires_at,
            )  # fmt: skip
