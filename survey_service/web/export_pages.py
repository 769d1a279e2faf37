"""The microdata export in the browser: the campaign page's form asks for one (the same
service call as the API's) and ``/admin/exports/{id}`` follows it until its file can be
downloaded. The bureau exports the city, a district's staff their district."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.params import FromPath

from survey_service.auth import BUREAU_ROLES
from survey_service.collection import export_jobs
from survey_service.collection.export_jobs import ExportIn
from survey_service.deps import DB, Config, PathId
from survey_service.errors import ServiceError, converted
from survey_service.web.admin_access import SIGN_IN, see_other
from survey_service.web.i18n import lang_of
from survey_service.web.pages import page, refusal_page
from survey_service.web.sessions import csrf_token, signed_in
from survey_service.web.staff_access import field, signed_post


class ExportPageController(Controller):
    path = "/admin"
    include_in_schema = False

    @post("/campaigns/{campaign_id:int}/exports", media_type=MediaType.HTML)
    async def ask(
        self, request: Request[Any, Any, Any], db: DB, app_settings: Config, campaign_id: PathId
    ) -> Response[Any]:
        sent = await signed_post(request, BUREAU_ROLES, SIGN_IN)
        if isinstance(sent, Response):
            return sent
        principal, posted = sent
        zh = lang_of(request) == "zh"
        try:
            fields = {
                "format": field(posted, "format"),
                "release": field(posted, "release") or None,
            }
            data = converted(fields, ExportIn, strict=False)
            out = await export_jobs.ask_export(
                db, app_settings.var_dir, principal, campaign_id, data
            )
        except ServiceError as exc:
            return refusal_page(request, exc, link=f"/admin/campaigns/{campaign_id}#exports",
                                link_text="返回活动" if zh else "Back to the campaign")  # fmt: skip
        return see_other(f"/admin/exports/{out.id}")

    @get("/exports/{export_id:str}", media_type=MediaType.HTML)
    async def export(
        self, request: Request[Any, Any, Any], db: DB, export_id: FromPath[str]
    ) -> Response[Any]:
        principal = await signed_in(request, *BUREAU_ROLES)
        if principal is None:
            return see_other(SIGN_IN)
        try:
            async with db.read() as session:
                row = await export_jobs.readable_export(session, principal, export_id)
        except ServiceError as exc:
            zh = lang_of(request) == "zh"
            return refusal_page(request, exc, link="/admin", link_text="返回" if zh else "Back")
        return page(
            request, "admin_export.html", export=export_jobs.export_out(row),
            csrf=csrf_token(request),
        )  # fmt: skip
