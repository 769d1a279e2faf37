"""HTTP routes for spreadsheets: the salary-survey upload and each form's template."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Controller, HttpMethod, Request, Response, post, route
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery, MultipartBody
from litestar.status_codes import HTTP_201_CREATED
from sqlalchemy import select

from survey_service.auth import Principal, audit, require
from survey_service.collection import campaigns, submissions, uploads
from survey_service.collection.routes import form_context, pay_reference
from survey_service.collection.template import XLSX, template_workbook
from survey_service.db.engine import Database
from survey_service.db.models import Enterprise, Submission
from survey_service.deps import DB, PathId
from survey_service.errors import PROBLEM_JSON, not_found, problem
from survey_service.forms import service as forms
from survey_service.forms.validation import validate_document
from survey_service.openapi import BEARER, problems


class SalaryUploadController(Controller):
    path = "/api/v1/campaigns/{campaign_id:int}/salary-uploads"
    tags = ["submissions"]

    @post(
        "/",
        guards=[require("enterprise")],
        security=BEARER,
        status_code=HTTP_201_CREATED,
        responses=problems(400, 401, 403, 404, 413, 422),
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        campaign_id: PathId,
        data: MultipartBody[dict[str, UploadFile]],
        partial: FromQuery[bool] = False,
    ) -> Response[dict[str, Any]]:
        """A payroll sheet (.xlsx or .csv, one row per worker) becomes the enterprise's
        salary survey (a new one, or a new revision). Any rejected row stores nothing,
        unless ``partial=true``: then the good rows are stored and the rest listed."""
        principal: Principal = request.state.principal
        status, body = await store_salary_upload(
            request, db, principal, campaign_id, uploads.the_file(data), partial=partial
        )
        if status == HTTP_201_CREATED:
            return Response(body, status_code=status)
        return Response(
            {"status": status, "title": "Rows refused", "detail": _refused(body, partial)} | body,
            status_code=status,
            media_type=PROBLEM_JSON,
        )


def _refused(body: dict[str, Any], partial: bool) -> str:
    if body["rows_rejected"] and not partial:
        return (
            f"{body['rows_rejected']} rows are not valid, so nothing was stored; `errors` names "
            "each row and column (`?partial=true` stores the valid rows)."
        )
    return "The sheet has no valid row, so nothing was stored; `errors` names what is wrong."


async def store_salary_upload(
    request: Request[Any, Any, Any],
    db: Database,
    principal: Principal,
    campaign_id: int,
    upload: UploadFile,
    *,
    partial: bool,
) -> tuple[int, dict[str, Any]]:
    """Check an uploaded sheet and store it as the enterprise's survey: ``(201, body)``, or
    ``(422, body)`` with the errors by row and column and nothing stored (the API's answer
    and the enterprise page's both)."""
    if principal.campaign_id != campaign_id:
        raise not_found(f"Campaign {campaign_id}")
    async with db.read() as session:
        campaign, version, form = await campaigns.load_campaign(session, campaign_id)
        enterprise = await session.get(Enterprise, principal.enterprise_id)
    schema = uploads.row_schema(version.schema)
    if form.kind != "salary-survey" or schema is None or enterprise is None:
        raise problem(422, "This campaign's form takes no salary spreadsheet.")
    submissions.require_open(campaign)
    sheet = await uploads.read_upload(upload, schema)
    ctx = form_context(request, form, version, await pay_reference(request, db, campaign_id))
    document: dict[str, Any] = {
        "enterprise": uploads.enterprise_part(enterprise),
        "employees": [row for _, row in sheet.rows],
    }
    check = uploads.check_rows(
        sheet, validate_document(ctx.validator, document, schema=version.schema)
    )
    body: dict[str, Any] = {
        "rows_accepted": 0,
        "rows_rejected": len(check.rejected_rows),
        "errors": check.errors,
        "warnings": list(sheet.warnings),
    }
    if check.errors and not partial:
        return 422, body | {"submission_id": None}
    if not check.accepted:
        return 422, body | {"submission_id": None}
    # Checked as it stands unless rows were left out (a partial upload).
    whole = not check.rejected_rows
    document["employees"] = check.accepted
    origin = submissions.SheetOrigin(
        check.accepted_rows,
        sheet.columns,
        [dict(w) for w in sheet.warnings] + uploads.left_out(check),
    )
    async with db.transaction() as session:
        campaign, version, form = await campaigns.load_campaign(session, campaign_id)
        existing = await session.scalar(
            select(Submission).where(
                Submission.campaign_id == campaign_id,
                Submission.enterprise_id == principal.enterprise_id,
            )
        )
        if existing is None:
            stored = await submissions.create_submission(
                session, principal, campaign, ctx, submission_id=None, data=document,
                status="submitted", checked=whole, origin=origin,
            )  # fmt: skip
            out = stored.submission
        else:
            out = await submissions.amend_submission(
                session, principal, existing, campaign, ctx, data=document,
                status="submitted", checked=whole, origin=origin,
            )  # fmt: skip
        audit(
            session, principal, "submission.upload", f"submission:{out.id}",
            rows=len(check.accepted), rejected=len(check.rejected_rows),
        )  # fmt: skip
    body |= {
        "submission_id": out.id,
        "rows_accepted": len(check.accepted),
        "warnings": out.warnings,
    }
    return 201, body


class TemplateController(Controller):
    path = "/api/v1/forms/{key:str}/template.xlsx"
    tags = ["forms"]

    @route(
        "/",
        http_method=[HttpMethod.GET, HttpMethod.HEAD],
        media_type=XLSX,
        responses=problems(400, 404),
    )
    async def template(
        self, request: Request[Any, Any, Any], db: DB, key: FromPath[str]
    ) -> Response[bytes]:
        """A workbook to fill: the columns with their Chinese labels and allowed values
        (HEAD: the same headers, no body)."""
        async with db.read() as session:
            form = await forms.get_form(session, key)
            current = forms.current_version(await forms.versions_of(session, form))
        schema = uploads.row_schema(current.schema) if current else None
        if current is None or schema is None:
            raise not_found(f"A spreadsheet template for form {key!r}")
        content = await anyio.to_thread.run_sync(lambda: template_workbook(form.title_zh, schema))
        headers = {"Content-Disposition": f'attachment; filename="{key}-template.xlsx"'}
        if request.method == HttpMethod.HEAD:
            headers["Content-Length"] = str(len(content))
            return Response(b"", media_type=XLSX, headers=headers)
        return Response(content, media_type=XLSX, headers=headers)
