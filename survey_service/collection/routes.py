"""HTTP routes of the collection API: enterprises, campaigns, invitations, submissions,
progress."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from litestar import Controller, Request, Response, get, post, put
from litestar.datastructures import UploadFile
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from survey_service.auth import Principal, audit, district_scope, principal_of, require
from survey_service.collection import (
    campaign_edits,
    campaigns,
    enterprises,
    progress,
    reviews,
    saving,
    submissions,
    uploads,
)
from survey_service.collection.registry_history import periods_of
from survey_service.collection.schemas import (
    AmendmentIn,
    CampaignIn,
    CampaignOut,
    EnterpriseIn,
    EnterprisePage,
    EnterpriseUpsertResult,
    InvitationOut,
    InvitationsIn,
    ProgressOut,
    RegistryPeriodOut,
    ReviewIn,
    ReviewOut,
    SubmissionIn,
    SubmissionOut,
    SubmissionPage,
)
from survey_service.collection.submission_writer import NewSubmission
from survey_service.collection.template import template_workbook
from survey_service.db.models import (
    Campaign,
)
from survey_service.deps import DB, Config, Forms, PathId, Polls, Releases, Submissions
from survey_service.errors import ServiceError, not_found
from survey_service.forms.routes import decode_items
from survey_service.openapi import BEARER, body_of, problems
from survey_service.structs import INT4_MAX
from survey_service.tabular import XLSX

Limit = Annotated[int, QueryParameter(ge=1, le=1000)]


def read_cursor(raw: str | None) -> int:
    """The id a page starts after: none (or empty) is the first page."""
    if not raw:
        return 0
    try:
        after = int(raw)
    except ValueError:
        after = -1
    if not 0 <= after <= INT4_MAX:
        raise ServiceError("bad-request", "The cursor is not one this service gave out.")
    return after


class EnterpriseController(Controller):
    path = "/api/v1/enterprises"
    tags = ["enterprises"]
    guards = [require("admin")]
    security = BEARER

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        operation_class=body_of(EnterpriseIn | list[EnterpriseIn]),
        responses={
            200: ResponseSpec(EnterpriseUpsertResult, description="All were updates."),
            **problems(400, 401, 403, 413, 422),
        },
    )
    async def upsert(
        self, request: Request[Any, Any, Any], db: DB
    ) -> Response[EnterpriseUpsertResult]:
        """Create or update enterprises by `uscc`: one object or a list (all or nothing).
        201 when at least one enterprise was created, 200 when all were updates."""
        items, indexed = decode_items(await request.body(), EnterpriseIn)
        async with db.transaction() as session:
            created, updated, rows = await enterprises.upsert_enterprises(
                session, items, indexed=indexed
            )
            audit(
                session,
                principal_of(request),
                "enterprise.upsert",
                None,
                created=created,
                updated=updated,
            )
            result = EnterpriseUpsertResult(
                created=created,
                updated=updated,
                enterprises=[enterprises.enterprise_out(r) for r in rows],
            )
        return Response(result, status_code=HTTP_201_CREATED if created else HTTP_200_OK)

    @post("/import", status_code=HTTP_200_OK, responses=problems(400, 401, 403, 413, 422))
    async def import_sheet(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        data: MultipartBody[dict[str, UploadFile]],
    ) -> EnterpriseUpsertResult:
        """Create or update enterprises from a .xlsx or .csv sheet (Chinese or English
        headers); any bad row stores nothing and is named by row and column."""
        sheet = await uploads.read_upload(uploads.the_file(data), enterprises.import_row_schema())
        async with db.transaction() as session:
            created, updated, rows = await enterprises.import_enterprises(
                session, sheet, district=None
            )
            audit(
                session, principal_of(request), "enterprise.import", None,
                created=created, updated=updated,
            )  # fmt: skip
            return EnterpriseUpsertResult(
                created=created,
                updated=updated,
                enterprises=[enterprises.enterprise_out(r) for r in rows],
            )

    @get("/template.xlsx", media_type=XLSX, responses=problems(401, 403))
    async def import_template(self) -> Response[bytes]:
        """A workbook to fill for ``/import``: the Chinese headers, drop-downs and an
        instructions sheet (说明) describing every column."""
        content = await anyio.to_thread.run_sync(
            lambda: template_workbook("企业名录", enterprises.import_row_schema())
        )
        return Response(
            content,
            media_type=XLSX,
            headers={"Content-Disposition": 'attachment; filename="enterprises-template.xlsx"'},
        )

    @get("/", responses=problems(400, 401, 403, 422))
    async def list_enterprises(
        self,
        db: DB,
        limit: Limit = 100,
        cursor: FromQuery[str | None] = None,
        district: FromQuery[str | None] = None,
    ) -> EnterprisePage:
        async with db.read() as session:
            rows, next_id = await enterprises.enterprise_page(
                session, limit=limit, after_id=read_cursor(cursor), district=district
            )
        return EnterprisePage(
            items=[enterprises.enterprise_out(r) for r in rows],
            next_cursor=str(next_id) if next_id is not None else None,
        )

    @get("/{uscc:str}/history", responses=problems(400, 401, 403, 404))
    async def enterprise_history(self, db: DB, uscc: FromPath[str]) -> list[RegistryPeriodOut]:
        """What the registry said of the enterprise, period by period (latest first): the
        facts participation is counted by, so that a past year's figures can be made again
        as they stood."""
        async with db.read() as session:
            row = await enterprises.enterprise_in_scope(session, uscc, district=None)
            return await periods_of(session, row.id)


class CampaignController(Controller):
    path = "/api/v1/campaigns"
    tags = ["campaigns"]
    security = BEARER

    @post(
        "/",
        guards=[require("admin")],
        status_code=HTTP_201_CREATED,
        responses=problems(400, 401, 403, 404, 413, 422),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        app_settings: Config,
        data: JSONBody[CampaignIn],
    ) -> CampaignOut:
        return await campaign_edits.save_new_campaign(
            db, principal_of(request), data, app_settings.zone
        )

    @get("/", guards=[require("admin", "analyst")], responses=problems(401, 403))
    async def list_campaigns(self, request: Request[Any, Any, Any], db: DB) -> list[CampaignOut]:
        """Every campaign; analysts do not see the enterprises' sampling weights."""
        async with db.read() as session:
            return await campaigns.list_campaigns(session, principal_of(request).role)

    @get(
        "/{campaign_id:int}",
        guards=[require("admin", "analyst", "enterprise")],
        responses=problems(400, 401, 403, 404, 422),
    )
    async def get_campaign(
        self, request: Request[Any, Any, Any], db: DB, campaign_id: PathId
    ) -> CampaignOut:
        """The campaign; only admins see the enterprises' sampling weights."""
        principal = _own_campaign(request, campaign_id)
        async with db.read() as session:
            campaign, version, form = await campaigns.load_campaign(session, campaign_id)
            return campaigns.campaign_out(campaign, form, version, principal.role)

    @put(
        "/{campaign_id:int}",
        guards=[require("admin")],
        responses=problems(400, 401, 403, 404, 409, 413, 422),
    )
    async def update(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        poll_desk: Polls,
        app_settings: Config,
        campaign_id: PathId,
        data: JSONBody[CampaignIn],
    ) -> CampaignOut:
        """Replace the campaign's fields (`settings` whole: send back what `GET` gave). The
        form version can change only while nothing has been collected or released (409).
        Moving the end later extends the invitation codes that lasted to the old end."""
        return await campaign_edits.edit_campaign(
            db, poll_desk, principal_of(request), campaign_id, data, app_settings.zone
        )

    @post(
        "/{campaign_id:int}/invitations",
        guards=[require("admin")],
        status_code=HTTP_201_CREATED,
        responses=problems(400, 401, 403, 404, 413, 422),
    )
    async def invite(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        campaign_id: PathId,
        data: JSONBody[InvitationsIn],
    ) -> Response[list[InvitationOut]]:
        """One code per enterprise, shown once. An enterprise invited already keeps its
        code (`state: already_invited`, no token) unless `reissue: true`, which replaces it
        (`state: reissued`; the old code stops working). 201 when a code was issued, else
        200."""
        async with db.transaction() as session:
            campaign, _, _ = await campaigns.load_campaign(session, campaign_id)
            out = await campaigns.invite(
                session, campaign, data.enterprises, data.expires_at, reissue=data.reissue
            )
            audit(
                session,
                principal_of(request),
                "campaign.invite",
                f"campaign:{campaign_id}",
                issued=[o.uscc for o in out if o.state == "issued"],
                reissued=[o.uscc for o in out if o.state == "reissued"],
                kept=[o.uscc for o in out if o.state == "already_invited"],
            )
        issued = any(o.token is not None for o in out)
        return Response(out, status_code=HTTP_201_CREATED if issued else HTTP_200_OK)

    @post(
        "/{campaign_id:int}/invitations/{uscc:str}/revoke",
        guards=[require("admin")],
        status_code=HTTP_204_NO_CONTENT,
        responses=problems(400, 401, 403, 404, 422),
    )
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        campaign_id: PathId,
        uscc: FromPath[str],
    ) -> None:
        async with db.transaction() as session:
            campaign, _, _ = await campaigns.load_campaign(session, campaign_id)
            await campaigns.revoke_invitation(session, campaign, uscc)
            audit(
                session, principal_of(request), "campaign.revoke", f"campaign:{campaign_id}:{uscc}"
            )

    @post(
        "/{campaign_id:int}/submissions",
        guards=[require("enterprise")],
        responses={
            200: ResponseSpec(SubmissionOut, description="The same submission again (a retry)."),
            **problems(400, 401, 403, 404, 409, 413, 422),
        },
    )
    async def submit(
        self,
        request: Request[Any, Any, Any],
        submission_writer: Submissions,
        campaign_id: PathId,
        data: JSONBody[SubmissionIn],
    ) -> Response[SubmissionOut]:
        """201 for a new submission; the same id with the same data again is 200 (a retry);
        the same id with other data is 409."""
        principal = _own_campaign(request, campaign_id)
        # Stored with the submissions arriving at the same time, in one transaction;
        # answered once that has committed (a 503 problem if it failed), never before.
        stored = await submission_writer.create(
            NewSubmission(principal, campaign_id, data.id, data.data, data.status)
        )
        return Response(stored.submission, status_code=201 if stored.created else 200)

    @get(
        "/{campaign_id:int}/submissions",
        guards=[require("admin")],
        responses=problems(400, 401, 403, 404, 422),
    )
    async def list_submissions(
        self,
        db: DB,
        campaign_id: PathId,
        limit: Limit = 100,
        cursor: FromQuery[str | None] = None,
    ) -> SubmissionPage:
        async with db.read() as session:
            await campaigns.load_campaign(session, campaign_id)
            return await submissions.submission_page(
                session, campaign_id, limit=limit, after=cursor
            )

    @get(
        "/{campaign_id:int}/progress",
        guards=[require("admin", "analyst", "district")],
        responses=problems(400, 401, 403, 404, 422),
    )
    async def progress(
        self, request: Request[Any, Any, Any], db: DB, campaign_id: PathId
    ) -> ProgressOut:
        """Invited enterprises, drafts and submitted surveys, overall and by district (a
        district's staff: their district only)."""
        scope = district_scope(principal_of(request))
        async with db.read() as session:
            await campaigns.load_campaign(session, campaign_id)
            return await progress.campaign_progress(session, campaign_id, district=scope)


def _own_campaign(request: Request[Any, Any, Any], campaign_id: int) -> Principal:
    principal = principal_of(request)
    if principal.role == "enterprise" and principal.campaign_id != campaign_id:
        raise not_found(f"Campaign {campaign_id}")
    return principal


class SubmissionController(Controller):
    path = "/api/v1/submissions"
    tags = ["submissions"]
    guards = [require("admin", "enterprise")]
    security = BEARER

    @get("/{submission_id:str}", responses=problems(400, 401, 403, 404))
    async def get_submission(
        self, request: Request[Any, Any, Any], db: DB, submission_id: FromPath[str]
    ) -> SubmissionOut:
        async with db.read() as session:
            row = await submissions.visible_submission(
                session, principal_of(request), submission_id
            )
            return submissions.submission_out(row, await submissions.uscc_of(session, row))

    @put(
        "/{submission_id:str}",
        guards=[require("enterprise")],
        responses=problems(400, 401, 403, 404, 409, 413, 422),
    )
    async def amend(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        form_cache: Forms,
        release_store: Releases,
        submission_id: FromPath[str],
        data: JSONBody[AmendmentIn],
    ) -> SubmissionOut:
        """Amend: a new revision; every earlier revision is kept."""
        principal = principal_of(request)
        reference = (
            await saving.pay_reference(release_store, db, principal.campaign_id)
            if principal.campaign_id is not None
            else None
        )
        async with db.transaction() as session:
            row = await submissions.visible_submission(session, principal, submission_id)
            campaign = await session.get(Campaign, row.campaign_id)
            assert campaign is not None
            _, version, form = await campaigns.load_campaign(session, campaign.id)
            out = await submissions.amend_submission(
                session,
                principal,
                row,
                campaign,
                saving.form_context(form_cache, form, version, reference),
                data=data.data,
                status=data.status,
            )
            audit(session, principal, "submission.amend", f"submission:{row.id}:{out.revision}")
        return out

    @post(
        "/{submission_id:str}/review",
        guards=[require("admin")],
        status_code=HTTP_200_OK,
        responses=problems(400, 401, 403, 404, 409, 413, 422),
    )
    async def review(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        submission_id: FromPath[str],
        data: JSONBody[ReviewIn],
    ) -> ReviewOut:
        """Accept a submitted survey, or return it with a reason for the enterprise."""
        async with db.transaction() as session:
            return await reviews.review(
                session, principal_of(request), submission_id, data.state, data.reason,
                district=None,
            )  # fmt: skip

    @get("/{submission_id:str}/reviews", responses=problems(400, 401, 403, 404))
    async def reviews(
        self, request: Request[Any, Any, Any], db: DB, submission_id: FromPath[str]
    ) -> list[ReviewOut]:
        """The review history: the enterprise sees why its survey was returned."""
        async with db.read() as session:
            row = await submissions.visible_submission(
                session, principal_of(request), submission_id
            )
            return await submissions.review_history(session, row.id)
