"""The bureau's wage-guideline page (``/admin/guidelines``): the guidelines recorded, a form
to record one (or replace that of the same year and region), a sheet to load several, and
removal of one recorded in error. The same service calls as the API's; an admin writes,
a district's staff reads."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.params import FromPath, FromQuery

from survey_service.analytics import guidelines
from survey_service.analytics.guidelines import SHEET_COLUMNS, GuidelineIn, region_name
from survey_service.auth import BUREAU_ROLES
from survey_service.collection import uploads
from survey_service.deps import DB
from survey_service.errors import ServiceError, converted
from survey_service.web.admin_access import SIGN_IN, see_other
from survey_service.web.i18n import lang_of
from survey_service.web.pages import page
from survey_service.web.sessions import csrf_token, signed_in
from survey_service.web.staff_access import field, field_errors, signed_post

GUIDELINES = "/admin/guidelines"
REGIONS = ("610000", guidelines.CITY)
_NUMBERS = ("base_pct", "upper_pct", "lower_pct", "warning_pct")


def _from_post(posted: Any) -> dict[str, Any]:
    """The posted form as a ``GuidelineIn`` object: numbers as numbers where they read as
    one (else as typed, for the error), an empty optional field left out."""
    raw: dict[str, Any] = {}
    for key, _, kind in SHEET_COLUMNS:
        text = field(posted, key)
        if kind == "boolean":
            raw[key] = text in ("true", "on", "1")
        elif not text:
            continue
        elif key == "year" or key in _NUMBERS:
            try:
                raw[key] = int(text) if key == "year" else float(text)
            except ValueError:
                raw[key] = text
        else:
            raw[key] = text
    return raw


class GuidelinePageController(Controller):
    path = GUIDELINES
    tags = ["admin pages"]
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def show(
        self, request: Request[Any, Any, Any], db: DB, saved: FromQuery[str | None] = None
    ) -> Response[Any]:
        principal = await signed_in(request, *BUREAU_ROLES)
        if principal is None:
            return see_other(SIGN_IN)
        return await _page(request, db, principal.role == "admin", saved=(saved or "")[:12])

    @post("/", media_type=MediaType.HTML)
    async def record(self, request: Request[Any, Any, Any], db: DB) -> Response[Any]:
        """Record one guideline from the form (one of the same year and region replaced)."""
        sent = await signed_post(request, ("admin",), SIGN_IN)
        if isinstance(sent, Response):
            return sent
        principal, posted = sent
        raw = _from_post(posted)
        try:
            item = converted(raw, GuidelineIn)
            async with db.transaction() as session:
                await guidelines.record_guidelines(session, principal, [item], indexed=False)
        except ServiceError as exc:
            by_field, detail = field_errors(exc)
            return await _page(
                request, db, True, status=exc.status_code, values=raw,
                errors=by_field, problem=detail and _detail(request, exc),
            )  # fmt: skip
        return see_other(f"{GUIDELINES}?saved={item.year}-{item.region}")

    @post("/import", media_type=MediaType.HTML)
    async def import_sheet(self, request: Request[Any, Any, Any], db: DB) -> Response[Any]:
        """Record the sheet's guidelines, or show every bad cell by row and column."""
        sent = await signed_post(request, ("admin",), SIGN_IN)
        if isinstance(sent, Response):
            return sent
        principal, posted = sent
        upload = posted.files.get("file")
        zh = lang_of(request) == "zh"
        if upload is None or not upload.filename:
            choose = "请选择要导入的文件。" if zh else "Choose a file to import."
            return await _page(request, db, True, status=422, sheet_problem=choose)
        try:
            sheet = await uploads.read_upload(upload, guidelines.sheet_row_schema())
            items = guidelines.sheet_items(sheet)
            async with db.transaction() as session:
                result = await guidelines.record_guidelines(session, principal, items, indexed=True)
        except ServiceError as exc:
            return await _page(
                request, db, True, status=exc.status_code, sheet_problem=_detail(request, exc),
                sheet_errors=list((exc.extra or {}).get("errors") or []),
            )  # fmt: skip
        return await _page(
            request, db, True, imported={"created": result.created, "updated": result.updated}
        )

    @post("/{year:int}/{region:str}/delete", media_type=MediaType.HTML)
    async def remove(
        self, request: Request[Any, Any, Any], db: DB, year: FromPath[int], region: FromPath[str]
    ) -> Response[Any]:
        sent = await signed_post(request, ("admin",), SIGN_IN)
        if isinstance(sent, Response):
            return sent
        principal, _ = sent
        try:
            async with db.transaction() as session:
                await guidelines.remove_guideline(session, principal, year, region)
        except ServiceError as exc:
            return await _page(request, db, True, status=exc.status_code,
                               problem=_detail(request, exc))  # fmt: skip
        return see_other(GUIDELINES)


def _detail(request: Request[Any, Any, Any], exc: ServiceError) -> str:
    zh_detail = (exc.extra or {}).get("detail_zh")
    return str(zh_detail or exc.detail) if lang_of(request) == "zh" else str(exc.detail)


async def _page(
    request: Request[Any, Any, Any],
    db: DB,
    may_write: bool,
    *,
    status: int = 200,
    values: dict[str, Any] | None = None,
    **context: Any,
) -> Response[str]:
    async with db.read() as session:
        rows = await guidelines.list_guidelines(session)
    return page(
        request,
        "admin_guidelines.html",
        status,
        guidelines=[guidelines.guideline_out(r) for r in rows],
        may_write=may_write,
        values=values or {"region": "610000"},
        regions=[(code, region_name(code)) for code in REGIONS],
        columns=SHEET_COLUMNS,
        csrf=csrf_token(request),
        **({"errors": {}, "problem": "", "saved": ""} | context),
    )
