"""HTTP routes of the microdata exports: the bureau (the whole city) and a district's staff
(their district) ask for one, follow it and download its file; nobody else."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody
from litestar.response import File
from litestar.status_codes import HTTP_202_ACCEPTED

from survey_service.auth import BUREAU_ROLES, principal_of, require
from survey_service.collection import export_jobs
from survey_service.collection.export_jobs import ExportIn, ExportOut
from survey_service.deps import DB, Config, PathId
from survey_service.openapi import BEARER, problems


class ExportController(Controller):
    path = "/api/v1"
    tags = ["exports"]
    guards = [require(*BUREAU_ROLES)]
    security = BEARER

    @post(
        "/campaigns/{campaign_id:int}/exports",
        status_code=HTTP_202_ACCEPTED,
        responses=problems(400, 401, 403, 404, 413, 422),
    )
    async def ask(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        app_settings: Config,
        campaign_id: PathId,
        data: JSONBody[ExportIn],
    ) -> ExportOut:
        """Export the campaign's surveys (current revisions, with their enterprise and
        status; a district's staff: their district's) as `csv` (a zip of one UTF-8 CSV per
        table), `xlsx` (a sheet per table, Chinese headers and choice labels), `sav` (SPSS)
        or `dta` (Stata), both in a zip with Chinese variable and value labels. The surveys
        are one table, each repeating group of the form (the employees) another, joined by
        `submission_id`. Made in the background: follow `GET /api/v1/exports/{id}`."""
        return await export_jobs.ask_export(
            db, app_settings.var_dir, principal_of(request), campaign_id, data
        )

    @get("/exports/{export_id:str}", responses=problems(400, 401, 403, 404))
    async def status(
        self, request: Request[Any, Any, Any], db: DB, export_id: FromPath[str]
    ) -> ExportOut:
        async with db.read() as session:
            row = await export_jobs.readable_export(session, principal_of(request), export_id)
        return export_jobs.export_out(row)

    @get(
        "/exports/{export_id:str}/file",
        media_type="application/zip",
        responses=problems(400, 401, 403, 404, 409),
    )
    async def file(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        app_settings: Config,
        export_id: FromPath[str],
    ) -> File:
        """The export's file, once done and while kept (409 before, and once expired)."""
        found = await export_jobs.download(
            db, app_settings.var_dir, principal_of(request), export_id
        )
        return File(path=found.path, filename=found.name, media_type=found.media_type)
