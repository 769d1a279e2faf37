"""HTTP routes of releases: make one (admin), list and read them (admin, analyst)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.status_codes import HTTP_201_CREATED

from survey_service.analytics import releases
from survey_service.analytics.releases import ReleaseInfo
from survey_service.auth import Principal, require
from survey_service.deps import DB, PathId
from survey_service.errors import converted
from survey_service.forms.routes import decode_json
from survey_service.openapi import BEARER, body_of, problems
from survey_service.structs import Body, Out


class ReleaseIn(Body):
    """``during_collection``: release a campaign still open (the release says so)."""

    during_collection: bool = False
    note: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class ReleaseOut(Out):
    campaign_id: int
    number: int
    kind: str  # wages | satisfaction | assessment
    created_at: datetime
    during_collection: bool
    content_hash: str  # sha256 (hex) of the data and the rules as canonical JSON
    summary: dict[str, Any]
    rules: dict[str, Any]


class ReleaseList(Out):
    releases: list[ReleaseOut]  # newest first


def release_out(info: ReleaseInfo) -> ReleaseOut:
    return ReleaseOut(
        campaign_id=info.campaign_id,
        number=info.number,
        kind=info.kind,
        created_at=info.created_at,
        during_collection=info.during_collection,
        content_hash=info.content_hash,
        summary=info.summary,
        rules=info.rules,
    )


class ReleaseController(Controller):
    path = "/api/v1/campaigns/{campaign_id:int}/releases"
    tags = ["analytics"]
    security = BEARER

    @post(
        "/",
        guards=[require("admin")],
        status_code=HTTP_201_CREATED,
        operation_class=body_of(ReleaseIn, required=False),
        responses=problems(400, 401, 403, 404, 409, 413, 422),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        campaign_id: PathId,
    ) -> ReleaseOut:
        """Freeze and protect the campaign's data as its next release (1, 2, ...). A
        campaign still open is refused (409) unless `during_collection` is true; one with
        nothing counted yet is 422. The body may be left out."""
        raw = await request.body()
        body = converted(decode_json(raw), ReleaseIn) if raw.strip() else ReleaseIn()
        principal: Principal = request.state.principal
        info = await releases.create_release(
            db,
            campaign_id,
            during_collection=body.during_collection,
            note=body.note or None,
            created_by=principal.token_id,
            audit=releases.audit_release(principal),
        )
        return release_out(info)

    @get(
        "/",
        guards=[require("admin", "analyst", "district")],
        responses=problems(400, 401, 403, 404, 422),
    )
    async def list_releases(self, db: DB, campaign_id: PathId) -> ReleaseList:
        """The campaign's releases, newest first."""
        async with db.read() as session:
            found = await releases.list_releases(session, campaign_id)
        return ReleaseList(releases=[release_out(i) for i in found])

    @get(
        "/{number:int}",
        guards=[require("admin", "analyst", "district")],
        responses=problems(400, 401, 403, 404, 422),
    )
    async def get_release(self, db: DB, campaign_id: PathId, number: PathId) -> ReleaseOut:
        """One release of the campaign, by number."""
        async with db.read() as session:
            info = await releases.get_release(session, campaign_id, number)
        return release_out(info)
