"""/api/v1/reports: ask for a report (202 at once), follow its status, download the PDF."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from survey_service.auth import Principal, audit, require
from survey_service.db.models import Campaign, Report
from survey_service.deps import DB
from survey_service.errors import ServiceError, not_found
from survey_service.openapi import BEARER, problems
from survey_service.reports import jobs
from survey_service.reports.files import content_disposition, file_names
from survey_service.reports.kinds import report_params
from survey_service.structs import Body, Out, RowId


class ReportIn(Body, kw_only=True):
    type: str
    campaign_id: RowId | None = None  # participation: the report of the campaign's year
    enterprise: str | None = None  # credit code (an enterprise report)
    year: RowId | None = None  # compared with a stored int4 column
    annex: bool | None = None  # participation: list the enterprises still missing (admin)


class ReportOut(Out, kw_only=True):
    id: str
    type: str
    status: str
    params: dict[str, Any]
    reason: str | None
    pages: int | None
    size: int | None
    created_at: str
    finished_at: str | None
    pdf: str | None  # where to download it once done


def report_out(row: Report) -> ReportOut:
    return ReportOut(
        id=row.id,
        type=row.kind,
        status=row.status,
        params=row.params,
        reason=row.reason,
        pages=row.pages,
        size=row.size,
        created_at=row.created_at.isoformat(),
        finished_at=row.finished_at.isoformat() if row.finished_at else None,
        pdf=f"/api/v1/reports/{row.id}/pdf" if row.status == "done" else None,
    )


def _principal(request: Request[Any, Any, Any]) -> Principal:
    principal: Principal = request.state.principal
    return principal


def _may_read(principal: Principal, row: Report) -> bool:
    """Admins read every report. Analysts read the city-wide ones (never an enterprise's
    own figures, nor the annex naming enterprises); an enterprise only its own report of
    the campaign its token is for."""
    if principal.role == "admin":
        return True
    if principal.role == "analyst":
        return row.kind != "enterprise" and not row.params.get("annex")
    return (
        row.kind == "enterprise"
        and row.enterprise_id == principal.enterprise_id
        and row.params.get("campaign_id") == principal.campaign_id
    )


class ReportController(Controller):
    path = "/api/v1/reports"
    tags = ["reports"]
    security = BEARER

    @post(
        "/",
        guards=[require("admin", "analyst", "enterprise")],
        status_code=HTTP_202_ACCEPTED,
        responses={
            200: ResponseSpec(ReportOut, description="The same report, already rendered."),
            **problems(400, 401, 403, 404, 413, 422),
        },
    )
    async def ask(
        self, request: Request[Any, Any, Any], db: DB, data: JSONBody[ReportIn]
    ) -> Response[ReportOut]:
        """202 with the report's id at once; rendering goes on in a worker. The same request
        on unchanged data is answered with the stored report (200 when done). A
        participation report takes a year, or a campaign_id (then the campaign's year)."""
        principal = _principal(request)
        raw = {
            "campaign_id": data.campaign_id,
            "enterprise": data.enterprise,
            "year": data.year,
            "annex": data.annex,
        }
        if principal.role == "enterprise":
            if data.type != "enterprise":
                raise ServiceError(
                    "forbidden", "An enterprise may ask only for its own enterprise report."
                )
            if data.campaign_id not in (None, principal.campaign_id):
                raise not_found(f"Campaign {data.campaign_id}")  # its token is for another
            raw["campaign_id"] = principal.campaign_id
        elif principal.role == "analyst" and data.type == "enterprise":
            raise ServiceError(
                "forbidden", "An enterprise's report holds its own figures: admins only."
            )
        if data.type == "participation" and data.campaign_id is not None:
            raw["year"] = await _year_of_campaign(db, data.campaign_id, data.year)
        params = report_params(data.type, {k: v for k, v in raw.items() if v is not None})
        if params.get("annex") and principal.role != "admin":
            raise ServiceError("forbidden", "The annex of missing enterprises is for admins.")
        enterprise_id = await _check_subject(db, principal, params)
        key = jobs.params_key(data.type, params)
        version = await jobs.data_version(db)
        async with db.transaction() as session:
            existing = await jobs.reusable_report(session, key, version)
            if existing is not None:
                code = HTTP_200_OK if existing.status == "done" else HTTP_202_ACCEPTED
                return Response(report_out(existing), status_code=code)
            row = Report(
                id=str(uuid.uuid4()),
                kind=data.type,
                params=params,
                params_key=key,
                data_version=version,
                status="queued",
                enterprise_id=enterprise_id,
                requested_by=principal.token_id,
            )
            session.add(row)
            await session.flush()
            audit(session, principal, "report.request", f"report:{row.id}", type=data.type)
        queue: jobs.Queue = request.app.state.reports
        await queue.enqueue(row.id)
        return Response(report_out(row), status_code=HTTP_202_ACCEPTED)

    @get(
        "/{report_id:str}",
        guards=[require("admin", "analyst", "enterprise")],
        responses=problems(400, 401, 403, 404),
    )
    async def status(
        self, request: Request[Any, Any, Any], db: DB, report_id: FromPath[str]
    ) -> ReportOut:
        return report_out(await _readable(request, db, report_id, with_pdf=False))

    @get(
        "/{report_id:str}/pdf",
        guards=[require("admin", "analyst", "enterprise")],
        media_type="application/pdf",
        responses=problems(400, 401, 403, 404, 409),
    )
    async def pdf(
        self, request: Request[Any, Any, Any], db: DB, report_id: FromPath[str]
    ) -> Response[bytes]:
        row = await _readable(request, db, report_id, with_pdf=True)
        if row.status != "done" or row.pdf is None:
            raise ServiceError(
                "report-not-ready",
                f"The report is {row.status}" + (f": {row.reason}" if row.reason else "."),
            )
        async with db.read() as session:
            name, fallback = await file_names(
                session,
                row.kind,
                row.params,
                row.finished_at or row.created_at,
                request.app.state.settings.zone,
            )
        return Response(
            row.pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": content_disposition(name, fallback)},
        )


async def _readable(
    request: Request[Any, Any, Any], db: DB, report_id: str, *, with_pdf: bool
) -> Report:
    try:
        rid = str(uuid.UUID(report_id))
    except ValueError:
        raise not_found("Report") from None
    async with db.read() as session:
        row = await jobs.load_report(session, rid, with_pdf=with_pdf)
    if row is None or not _may_read(_principal(request), row):
        raise not_found("Report")
    return row


async def _year_of_campaign(db: DB, campaign_id: int, year: int | None) -> int:
    """A participation report asked for by campaign: the campaign's year (the report is
    the year's, over all its campaigns)."""
    async with db.read() as session:
        campaign = await session.get(Campaign, campaign_id)
    if campaign is None:
        raise not_found(f"Campaign {campaign_id}")
    if year is not None and year != campaign.campaign_year:
        raise ServiceError(
            "unprocessable",
            f"Campaign {campaign_id} belongs to {campaign.campaign_year}, not to {year}.",
        )
    return campaign.campaign_year


async def _check_subject(db: DB, principal: Principal, params: dict[str, Any]) -> int | None:
    """The campaign must exist; an enterprise report names a registered enterprise, and an
    enterprise's own token only its own. Returns the enterprise's id."""
    async with db.read() as session:
        if "campaign_id" in params and await session.get(Campaign, params["campaign_id"]) is None:
            raise not_found(f"Campaign {params['campaign_id']}")
        if "enterprise" not in params:
            return None
        enterprise_id = await jobs.enterprise_id(session, params["enterprise"])
    if enterprise_id is None or (
        principal.role == "enterprise" and enterprise_id != principal.enterprise_id
    ):
        raise not_found(f"Enterprise {params['enterprise']}")
    return int(enterprise_id)
