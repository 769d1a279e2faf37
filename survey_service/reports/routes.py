"""/api/v1/reports: ask for a report (202 at once), follow its status, download the PDF."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from survey_service.auth import principal_of, require
from survey_service.db.models import Report
from survey_service.deps import DB
from survey_service.errors import ServiceError
from survey_service.openapi import BEARER, problems
from survey_service.reports import jobs
from survey_service.reports.files import content_disposition, file_names
from survey_service.reports.requests import ask_report, readable_report
from survey_service.structs import Body, Out, RowId


class ReportIn(Body, kw_only=True):
    type: str
    campaign_id: RowId | None = None  # participation: the report of the campaign's year
    enterprise: str | None = None  # credit code (an enterprise report)
    year: RowId | None = None  # compared with a stored int4 column
    annex: bool | None = None  # participation: list the enterprises still missing (admin)
    # participation: count as everything stood then (a date, or an RFC 3339 date-time)
    as_of: Annotated[str, msgspec.Meta(max_length=40)] | None = None


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


class ReportController(Controller):
    path = "/api/v1/reports"
    tags = ["reports"]
    security = BEARER

    @post(
        "/",
        guards=[require("admin", "analyst", "enterprise", "negotiator")],
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
        participation report takes a year, or a campaign_id (then the campaign's year), and
        may take as_of: it counts as everything stood then and says so."""
        raw = {
            "campaign_id": data.campaign_id,
            "enterprise": data.enterprise,
            "year": data.year,
            "annex": data.annex,
            "as_of": data.as_of,
        }
        queue: jobs.Queue = request.app.state.reports
        asked = await ask_report(db, queue, principal_of(request), data.type, raw)
        row = asked.report
        if asked.reused and row.status == "done":
            return Response(report_out(row), status_code=HTTP_200_OK)
        return Response(report_out(row), status_code=HTTP_202_ACCEPTED)

    @get(
        "/{report_id:str}",
        guards=[require("admin", "analyst", "enterprise", "negotiator")],
        responses=problems(400, 401, 403, 404),
    )
    async def status(
        self, request: Request[Any, Any, Any], db: DB, report_id: FromPath[str]
    ) -> ReportOut:
        principal = principal_of(request)
        return report_out(await readable_report(db, principal, report_id, with_pdf=False))

    @get(
        "/{report_id:str}/pdf",
        guards=[require("admin", "analyst", "enterprise", "negotiator")],
        media_type="application/pdf",
        responses=problems(400, 401, 403, 404, 409),
    )
    async def pdf(
        self, request: Request[Any, Any, Any], db: DB, report_id: FromPath[str]
    ) -> Response[bytes]:
        row = await readable_report(db, principal_of(request), report_id, with_pdf=True)
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
