"""HTTP routes that close a campaign early or reopen it, and read its roster (its
enterprises with their state); its edit (``PUT``) is with the other campaign routes. The
campaign pages call the same functions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, get, post
from litestar.params import FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from survey_service.auth import district_scope, principal_of, require
from survey_service.collection import campaign_edits, campaigns, roster
from survey_service.collection.schemas import CampaignOut, InstantOrDay
from survey_service.deps import DB, Config, PathId, Polls
from survey_service.openapi import BEARER, problems
from survey_service.structs import Body


class ReopenIn(Body, kw_only=True):
    closes_at: InstantOrDay


class CampaignChangeController(Controller):
    path = "/api/v1/campaigns/{campaign_id:int}"
    tags = ["campaigns"]
    security = BEARER
    guards = [require("admin")]

    @post("/close", status_code=HTTP_200_OK, responses=problems(400, 401, 403, 404, 409, 422))
    async def close(
        self, request: Request[Any, Any, Any], db: DB, poll_desk: Polls, campaign_id: PathId
    ) -> CampaignOut:
        """Close an open campaign now (409 when it is not open)."""
        return await campaign_edits.close_now(db, poll_desk, principal_of(request), campaign_id)

    @post("/reopen", status_code=HTTP_200_OK, responses=problems(400, 401, 403, 404, 409, 413, 422))
    async def reopen(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        poll_desk: Polls,
        app_settings: Config,
        campaign_id: PathId,
        data: JSONBody[ReopenIn],
    ) -> CampaignOut:
        """Open a closed campaign again until `closes_at` (a date: through that day)."""
        return await campaign_edits.reopen_until(
            db, poll_desk, principal_of(request), campaign_id, data.closes_at, app_settings.zone
        )

    @get("/roster", responses=problems(400, 401, 403, 404, 422))
    async def roster(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        campaign_id: PathId,
        wanted: Annotated[roster.RosterState | None, QueryParameter(name="state")] = None,
        district: FromQuery[str | None] = None,
        q: Annotated[str, QueryParameter(max_length=100)] = "",
        sort: FromQuery[roster.RosterSort] = "name",
        order: FromQuery[Literal["asc", "desc"]] = "asc",
        page: Annotated[int, QueryParameter(ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int, QueryParameter(ge=1, le=roster.MAX_PER_PAGE)] = 100,
    ) -> roster.RosterOut:
        """The enterprises of the campaign's audience (and any invited from outside it) with
        their state: `not_invited`, `invited`, `draft`, `submitted`, `returned`,
        `accepted`. `state`, `district` and `q` (a part of the name or credit code)
        filter; `counts` are per state over the other filters. Sorted by `sort`
        (`changed`: the latest invitation, save or review), `order` `asc|desc`."""
        query = roster.RosterQuery(
            state=wanted, district=district or None, search=q, sort=sort,
            descending=order == "desc", page=page, per_page=per_page,
        )  # fmt: skip
        async with db.read() as session:
            campaign, _, _ = await campaigns.load_campaign(session, campaign_id)
            return await roster.campaign_roster(
                session, campaign, query, district=district_scope(principal_of(request))
            )
