"""HTTP routes for spreadsheets: the salary-survey upload and each form's template."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Controller, HttpMethod, Request, Response, post, route
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery, MultipartBody
from litestar.status_codes import HTTP_201_CREATED

from survey_service.auth import Principal, require
from survey_service.collection import saving, uploads
from survey_service.collection.template import template_workbook
from survey_service.deps import DB, Forms, PathId, Releases
from survey_service.errors import PROBLEM_JSON, not_found, problem_body
from survey_service.forms import service as forms
from survey_service.openapi import BEARER, problems
from survey_service.tabular import XLSX


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
        form_cache: Forms,
        release_store: Releases,
        campaign_id: PathId,
        data: MultipartBody[dict[str, UploadFile]],
        partial: FromQuery[bool] = False,
    ) -> Response[dict[str, Any]]:
        """A payroll sheet (.xlsx or .csv, one row per worker) becomes the enterprise's
        salary survey (a new one, or a new revision). Any rejected row stores nothing,
        unless ``partial=true``: then the good rows are stored and the rest listed."""
        principal: Principal = request.state.principal
        status, body = await saving.store_salary_upload(
            db, form_cache, release_store, principal, campaign_id, uploads.the_file(data),
            partial=partial,
        )  # fmt: skip
        if status == HTTP_201_CREATED:
            return Response(body, status_code=status)
        return Response(
            problem_body("rows-refused", _refused(body, partial)) | body,
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
