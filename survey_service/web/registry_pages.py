"""The bureau's enterprise registry pages (``/admin/enterprises``): search by name, credit
code, district and industry; add and edit an enterprise; import a workbook (every bad cell
named by row and column, nothing stored then); export what a search found as a workbook
that imports back. The same registry functions as the API's, scoped to the signed-in
person's district (the whole city for an admin)."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.params import FromPath, FromQuery

from survey_service.auth import BUREAU_ROLES, audit, district_scope
from survey_service.collection import enterprises, uploads
from survey_service.collection.enterprises import (
    IMPORT_COLUMNS,
    SIZE_LABELS,
    EnterpriseQuery,
    enterprise_out,
)
from survey_service.collection.registry_export import registry_workbook
from survey_service.collection.registry_history import periods_of
from survey_service.collection.schemas import EnterpriseIn, EnterpriseOut, RegistryPeriodOut
from survey_service.db.models import utcnow
from survey_service.deps import DB
from survey_service.errors import ServiceError, converted
from survey_service.reference.codes import districts
from survey_service.reports.files import content_disposition
from survey_service.tabular import XLSX
from survey_service.web.admin_access import SIGN_IN, admin_post, see_other
from survey_service.web.admin_pages import district_name
from survey_service.web.i18n import lang_of
from survey_service.web.pages import page
from survey_service.web.sessions import csrf_token, signed_in
from survey_service.web.staff_access import field_errors

REGISTRY = "/admin/enterprises"
PAGE_SIZE = 100
EXPORT_LIMIT = 50_000  # a city's registry is a few thousand
BOOLEANS = ("has_union", "above_designated_size", "has_collective_contract")
LABELS = {key: label for key, label, _ in IMPORT_COLUMNS}
LABELS_EN = {
    "uscc": "Unified social credit code",
    "name": "Name",
    "district": "District",
    "industry": "Industry code (GB/T 4754)",
    "size_class": "Size",
    "ownership": "Registration type",
    "staff_count": "Staff",
    "has_union": "Has a trade union",
    "above_designated_size": "Above designated size",
    "has_collective_contract": "Signed a collective wage agreement",
    "group_key": "Group",
    "contact_name": "Contact",
    "contact_phone": "Telephone",
    "contact_email": "E-mail",
}


def _after(raw: str | None) -> int:
    try:
        return max(int(raw or 0), 0)
    except ValueError:
        return 0


def _query(q: str | None, district: str | None, industry: str | None) -> EnterpriseQuery:
    return EnterpriseQuery(
        text=(q or "")[:200], district=(district or "")[:6], industry=(industry or "")[:5]
    )


def _from_post(fields: dict[str, list[str]], uscc: str | None) -> dict[str, Any]:
    """The posted form as an ``EnterpriseIn`` object: an empty optional field is null,
    an unticked box false."""

    def one(name: str) -> str:
        return (fields.get(name) or [""])[0].strip()

    raw: dict[str, Any] = {"uscc": uscc if uscc is not None else one("uscc").upper()}
    for key, _, kind in IMPORT_COLUMNS:
        if key == "uscc":
            continue
        text = one(key)
        if kind == "boolean":
            raw[key] = text in ("true", "on", "1")
        elif key in ("name", "district", "industry"):
            raw[key] = text.upper() if key == "industry" else text
        elif kind == "integer":
            raw[key] = (int(text) if text.isdigit() else text) if text else None
        else:
            raw[key] = text or None
    return raw


class RegistryPageController(Controller):
    path = REGISTRY
    tags = ["admin pages"]
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def search(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        q: FromQuery[str | None] = None,
        district: FromQuery[str | None] = None,
        industry: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        saved: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """The registry, searched; a page of 100 with the count of all that match."""
        principal = await signed_in(request, *BUREAU_ROLES)
        if principal is None:
            return see_other(SIGN_IN)
        scope = district_scope(principal)
        query = _query(q, district, industry)
        async with db.read() as session:
            rows, next_id = await enterprises.search_enterprises(
                session, query, district=scope, limit=PAGE_SIZE, after_id=_after(cursor)
            )
            total = await enterprises.count_enterprises(session, query, district=scope)
        return page(
            request,
            "admin_registry.html",
            query=query,
            rows=[enterprise_out(r) for r in rows],
            total=total,
            next_cursor=next_id,
            districts=_districts(scope),
            district_name=district_name,
            saved=(saved or "")[:18],
            csrf=csrf_token(request),
        )

    @get("/export.xlsx", media_type=MediaType.HTML)
    async def export(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        q: FromQuery[str | None] = None,
        district: FromQuery[str | None] = None,
        industry: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """What the search found, as a workbook in the import's layout."""
        principal = await signed_in(request, *BUREAU_ROLES)
        if principal is None:
            return see_other(SIGN_IN)
        async with db.read() as session:
            rows, _ = await enterprises.search_enterprises(
                session,
                _query(q, district, industry),
                district=district_scope(principal),
                limit=EXPORT_LIMIT,
            )
        content = await anyio.to_thread.run_sync(lambda: registry_workbook(rows))
        day = utcnow().date().isoformat()
        return Response(
            content,
            media_type=XLSX,
            headers={
                "Cache-Control": "private, no-store",
                "Content-Disposition": content_disposition(
                    f"企业名录-{day}.xlsx", f"enterprises-{day}.xlsx"
                ),
            },
        )

    @get("/new", media_type=MediaType.HTML)
    async def new_form(self, request: Request[Any, Any, Any]) -> Response[Any]:
        principal = await signed_in(request, *BUREAU_ROLES)
        if principal is None:
            return see_other(SIGN_IN)
        scope = district_scope(principal)
        values = {"district": scope} if scope else {}
        return _form_page(request, values, new=True, scope=scope)

    @post("/new", media_type=MediaType.HTML)
    async def add(self, request: Request[Any, Any, Any], db: DB) -> Response[Any]:
        """Register an enterprise; a credit code registered already is refused."""
        return await _save(request, db, None)

    @get("/import", media_type=MediaType.HTML)
    async def import_form(self, request: Request[Any, Any, Any]) -> Response[Any]:
        if await signed_in(request, *BUREAU_ROLES) is None:
            return see_other(SIGN_IN)
        return page(request, "admin_registry_import.html", csrf=csrf_token(request))

    @post("/import", media_type=MediaType.HTML)
    async def import_sheet(self, request: Request[Any, Any, Any], db: DB) -> Response[Any]:
        """Create or update the sheet's enterprises, or show every bad cell by row and
        column (and store nothing)."""
        checked = await admin_post(request)
        if isinstance(checked, Response):
            return checked
        principal, posted = checked
        upload = posted.files.get("file")
        lang = lang_of(request)
        if upload is None or not upload.filename:
            choose = "请选择要导入的文件。" if lang == "zh" else "Choose a file to import."
            return page(request, "admin_registry_import.html", 422, csrf=csrf_token(request),
                        problem=choose)  # fmt: skip
        try:
            sheet = await uploads.read_upload(upload, enterprises.import_row_schema())
            async with db.transaction() as session:
                created, updated, _ = await enterprises.import_enterprises(
                    session, sheet, district=district_scope(principal)
                )
                audit(session, principal, "enterprise.import", None,
                      created=created, updated=updated)  # fmt: skip
        except ServiceError as exc:
            extra = exc.extra if isinstance(exc.extra, dict) else {}
            detail = str(extra.get("detail_zh") or exc.detail) if lang == "zh" else str(exc.detail)
            return page(
                request,
                "admin_registry_import.html",
                exc.status_code,
                csrf=csrf_token(request),
                problem=detail,
                errors=list(extra.get("errors") or []),
            )
        return page(
            request,
            "admin_registry_import.html",
            csrf=csrf_token(request),
            imported={"created": created, "updated": updated},
        )

    @get("/{uscc:str}", media_type=MediaType.HTML)
    async def edit_form(
        self, request: Request[Any, Any, Any], db: DB, uscc: FromPath[str]
    ) -> Response[Any]:
        principal = await signed_in(request, *BUREAU_ROLES)
        if principal is None:
            return see_other(SIGN_IN)
        scope = district_scope(principal)
        try:
            async with db.read() as session:
                row = await enterprises.enterprise_in_scope(session, uscc, district=scope)
                history = await periods_of(session, row.id)
        except ServiceError:
            return _not_found(request)
        values = msgspec.to_builtins(enterprise_out(row))
        return _form_page(request, values, new=False, scope=scope, history=history)

    @post("/{uscc:str}", media_type=MediaType.HTML)
    async def edit(
        self, request: Request[Any, Any, Any], db: DB, uscc: FromPath[str]
    ) -> Response[Any]:
        """Change an enterprise's record (its credit code stays: it is the key)."""
        return await _save(request, db, uscc)


def _districts(scope: str | None) -> list[tuple[str, str, str]]:
    """(code, Chinese name, English name) of the districts a person may choose."""
    return [
        (code, d.name, d.name_en)
        for code, d in districts().items()
        if scope is None or code == scope
    ]


def _form_page(
    request: Request[Any, Any, Any],
    values: dict[str, Any],
    *,
    new: bool,
    scope: str | None,
    status: int = 200,
    errors: dict[str, str] | None = None,
    problem: str = "",
    history: list[RegistryPeriodOut] | None = None,
) -> Response[str]:
    return page(
        request,
        "admin_enterprise_form.html",
        status,
        new=new,
        history=history or [],
        values=values,
        errors=errors or {},
        problem=problem,
        columns=IMPORT_COLUMNS,
        labels_en=LABELS_EN,
        booleans=BOOLEANS,
        sizes=SIZE_LABELS,
        districts=_districts(scope),
        csrf=csrf_token(request),
    )


def _not_found(request: Request[Any, Any, Any]) -> Response[str]:
    zh = lang_of(request) == "zh"
    return page(
        request,
        "message.html",
        404,
        title="找不到该企业" if zh else "Enterprise not found",
        message="",
        link=REGISTRY,
        link_text="返回企业名录" if zh else "Back to the registry",
    )


async def _save(request: Request[Any, Any, Any], db: DB, uscc: str | None) -> Response[Any]:
    """Add (``uscc`` None) or edit from the posted form; the form again with its errors."""
    checked = await admin_post(request)
    if isinstance(checked, Response):
        return checked
    principal, posted = checked
    scope = district_scope(principal)
    raw = _from_post(posted.fields, uscc)
    try:
        item = converted(raw, EnterpriseIn)
        async with db.transaction() as session:
            row = await enterprises.save_enterprise(session, item, district=scope, new=uscc is None)
            saved: EnterpriseOut = enterprise_out(row)
            audit(session, principal, "enterprise.upsert", f"enterprise:{saved.uscc}",
                  created=int(uscc is None), updated=int(uscc is not None))  # fmt: skip
    except ServiceError as exc:
        if exc.status_code == 404:
            return _not_found(request)
        by_field, detail = field_errors(exc)
        return _form_page(
            request, raw, new=uscc is None, scope=scope, status=exc.status_code,
            errors=by_field, problem=detail,
        )  # fmt: skip
    return see_other(f"{REGISTRY}?saved={saved.uscc}&q={saved.uscc}")
