"""The enterprise registry: upsert by unified social credit code, list with a cursor, search,
and import from a sheet.

The functions the pages call take ``district``: the part of the city the caller may see and
manage (None: the whole city). An enterprise outside it is treated as unknown."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema_rs
import msgspec
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.collection.registry_history import facts_of, record_periods
from survey_service.collection.schemas import EnterpriseIn, EnterpriseOut
from survey_service.collection.spreadsheets import SheetRows
from survey_service.collection.uploads import refuse_bad_rows, sheet_validator, struct_row_schema
from survey_service.db.models import Enterprise, utcnow
from survey_service.errors import ServiceError, conflict, not_found, unprocessable
from survey_service.forms.formats import is_division_code, is_industry_code, is_uscc
from survey_service.reference.codes import districts

# What a new enterprise holds for the fields its first record leaves out.
NEW_ENTERPRISE: dict[str, Any] = {
    "size_class": None,
    "ownership": None,
    "staff_count": None,
    "has_union": False,
    "above_designated_size": False,
    "has_collective_contract": False,
    "group_key": None,
    "contact_name": None,
    "contact_phone": None,
    "contact_email": None,
}


def check_codes(items: list[EnterpriseIn], *, indexed: bool) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        base = f"/{i}" if indexed else ""
        for field, ok, zh in (
            ("uscc", is_uscc(item.uscc), "统一社会信用代码不正确"),
            ("district", is_division_code(item.district), "行政区划代码不正确"),
            ("industry", is_industry_code(item.industry), "行业代码不正确"),
        ):
            if not ok:
                errors.append(
                    {
                        "path": f"{base}/{field}",
                        "message": f"not a valid {field} code",
                        "message_zh": zh,
                        "keyword": "format",
                    }
                )
    return errors


def enterprise_out(row: Enterprise) -> EnterpriseOut:
    return EnterpriseOut(
        uscc=row.uscc,
        name=row.name,
        district=row.district,
        industry=row.industry,
        size_class=row.size_class,
        ownership=row.ownership,
        staff_count=row.staff_count,
        has_union=row.has_union,
        above_designated_size=row.above_designated_size,
        has_collective_contract=row.has_collective_contract,
        group_key=row.group_key,
        contact_name=row.contact_name,
        contact_phone=row.contact_phone,
        contact_email=row.contact_email,
        updated_at=row.updated_at,
    )


async def upsert_enterprises(
    session: AsyncSession, items: list[EnterpriseIn], *, indexed: bool = True
) -> tuple[int, int, list[Enterprise]]:
    """Create or update by ``uscc``; all or nothing (the caller's transaction). An update
    changes only the fields the item names: a sheet without a column, or a JSON object
    without a key, leaves that field as it was."""
    errors = check_codes(items, indexed=indexed)
    if errors:
        raise unprocessable("Some enterprise codes are not valid.", errors)
    existing = {
        e.uscc: e
        for e in await session.scalars(
            select(Enterprise).where(Enterprise.uscc.in_([i.uscc for i in items]))
        )
    }
    created = updated = 0
    rows: list[Enterprise] = []
    before = {uscc: facts_of(row) for uscc, row in existing.items()}
    for item in items:
        named = {f: getattr(item, f) for f in item.__struct_fields__}
        values = {f: v for f, v in named.items() if v is not msgspec.UNSET}
        row = existing.get(item.uscc)
        if row is None:
            row = Enterprise(**(NEW_ENTERPRISE | values))
            session.add(row)
            existing[item.uscc] = row
            created += 1
        else:
            for name, value in values.items():
                setattr(row, name, value)
            updated += 1
        rows.append(row)
    await session.flush()
    changed = {row.uscc: row for row in rows if before.get(row.uscc) != facts_of(row)}
    if changed:
        await record_periods(session, list(changed.values()), utcnow())
    return created, updated, rows


@dataclass(frozen=True, slots=True)
class EnterpriseQuery:
    """What the registry is searched by: a part of the name or the start of the credit
    code, the district, the industry code's start (``C``, ``C30``, ``C3011``)."""

    text: str = ""
    district: str = ""
    industry: str = ""


def _matching(query: EnterpriseQuery, district: str | None) -> Select[Enterprise]:
    found = select(Enterprise)
    if district is not None:
        found = found.where(Enterprise.district == district)
    text = query.text.strip()
    if text:
        found = found.where(
            Enterprise.name.icontains(text, autoescape=True)
            | Enterprise.uscc.startswith(text.upper(), autoescape=True)
        )
    if query.district:
        found = found.where(Enterprise.district == query.district)
    if query.industry.strip():
        found = found.where(
            Enterprise.industry.startswith(query.industry.strip().upper(), autoescape=True)
        )
    return found


async def search_enterprises(
    session: AsyncSession,
    query: EnterpriseQuery,
    *,
    district: str | None,
    limit: int,
    after_id: int = 0,
) -> tuple[list[Enterprise], int | None]:
    """The enterprises matching ``query`` within ``district``, by registration, a page of
    ``limit`` after ``after_id``, and the cursor of the next page."""
    found = _matching(query, district).where(Enterprise.id > after_id).order_by(Enterprise.id)
    rows = list(await session.scalars(found.limit(limit + 1)))
    next_id = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], next_id


async def count_enterprises(
    session: AsyncSession, query: EnterpriseQuery, *, district: str | None
) -> int:
    found = _matching(query, district).with_only_columns(func.count(Enterprise.id))
    return int(await session.scalar(found) or 0)


async def enterprise_in_scope(
    session: AsyncSession, uscc: str, *, district: str | None
) -> Enterprise:
    """The registered enterprise ``uscc``, or 404 when unknown or outside ``district``."""
    row = await session.scalar(select(Enterprise).where(Enterprise.uscc == uscc))
    if row is None or (district is not None and row.district != district):
        raise not_found(f"Enterprise {uscc}")
    return row


def _outside(item_district: str, district: str | None) -> bool:
    return district is not None and item_district != district


async def save_enterprise(
    session: AsyncSession, item: EnterpriseIn, *, district: str | None, new: bool
) -> Enterprise:
    """Register ``item`` (``new``: 409 when its code is registered already) or update the
    enterprise of its code (404 when unknown or outside ``district``); an enterprise is
    neither placed in nor moved to another district than the caller's (refused before
    anything is looked up, so the answer says nothing of other districts' enterprises)."""
    if _outside(item.district, district):
        raise unprocessable(
            "The enterprise would be outside your district.",
            [{"path": "/district", "message": f"only district {district} is yours",
              "message_zh": "只能登记本区县的企业", "keyword": "scope"}],
        )  # fmt: skip
    if new:
        taken = await session.scalar(select(Enterprise.id).where(Enterprise.uscc == item.uscc))
        if taken is not None:
            raise conflict(
                f"An enterprise with the credit code {item.uscc} is registered already.",
                errors=[{"path": "/uscc", "message": "registered already",
                         "message_zh": "该统一社会信用代码已登记", "keyword": "unique"}],
            )  # fmt: skip
    else:
        await enterprise_in_scope(session, item.uscc, district=district)
    _, _, rows = await upsert_enterprises(session, [item], indexed=False)
    return rows[0]


async def import_enterprises(
    session: AsyncSession, sheet: SheetRows, *, district: str | None
) -> tuple[int, int, list[Enterprise]]:
    """Create or update the sheet's enterprises (all or nothing): a 422 naming every bad
    cell by row and column, a row of another district than ``district`` among them."""
    items = import_items(sheet)
    if district is not None:
        elsewhere = set(
            await session.scalars(
                select(Enterprise.uscc).where(
                    Enterprise.uscc.in_([i.uscc for i in items]), Enterprise.district != district
                )
            )
        )
        errors = []
        for index, item in enumerate(items):
            if item.district != district or item.uscc in elsewhere:
                # Registered in another district, or named in another one here.
                key = "uscc" if item.uscc in elsewhere else "district"
                row, column = sheet.locate(index, key)
                errors.append(
                    {"row": row, "column": column,
                     "message": f"outside your district {district}",
                     "message_zh": "不属于本区县，不能导入"}
                )  # fmt: skip
        if errors:
            raise ServiceError(
                "validation-failed",
                "Some rows are outside your district; nothing was stored.",
                detail_zh="部分行不属于本区县，未保存任何数据。",
                errors=errors,
            )
    return await upsert_enterprises(session, items)


async def enterprise_page(
    session: AsyncSession, *, limit: int, after_id: int, district: str | None
) -> tuple[list[Enterprise], int | None]:
    query = select(Enterprise).where(Enterprise.id > after_id).order_by(Enterprise.id)
    if district:
        query = query.where(Enterprise.district == district)
    rows = list(await session.scalars(query.limit(limit + 1)))
    next_id = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], next_id


# The registry's columns for a spreadsheet import: key, Chinese label, JSON type.
IMPORT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("uscc", "统一社会信用代码", "string"),
    ("name", "企业名称", "string"),
    ("district", "所在区县代码", "string"),
    ("industry", "行业代码", "string"),
    ("size_class", "企业规模", "string"),
    ("ownership", "登记注册类型", "string"),
    ("staff_count", "职工人数", "integer"),
    ("has_union", "是否建立工会", "boolean"),
    ("above_designated_size", "是否规上企业", "boolean"),
    ("has_collective_contract", "是否签订工资集体协议", "boolean"),
    ("group_key", "所属集团", "string"),
    ("contact_name", "联系人", "string"),
    ("contact_phone", "联系电话", "string"),
    ("contact_email", "电子邮箱", "string"),
)

SIZE_LABELS = {
    "large": {"zh": "大型", "en": "large"},
    "medium": {"zh": "中型", "en": "medium"},
    "small": {"zh": "小型", "en": "small"},
    "micro": {"zh": "微型", "en": "micro"},
}


# The formats the registry's codes are checked with (``forms.formats``).
_IMPORT_FORMATS = {"uscc": "uscc", "district": "division-code", "industry": "industry-code"}


@cache
def import_row_schema() -> dict[str, Any]:
    """The registry import as a row schema, made from ``EnterpriseIn`` (one definition of
    what a record may hold) with the Chinese headers and the code formats, so that the one
    spreadsheet reader and validator serve it too."""
    schema = struct_row_schema(
        EnterpriseIn, {key: (label, kind) for key, label, kind in IMPORT_COLUMNS}
    )
    properties = schema["properties"]
    for key, format_name in _IMPORT_FORMATS.items():  # the format says it all: one message
        properties[key]["format"] = format_name
        properties[key].pop("minLength", None)
        properties[key].pop("maxLength", None)
    properties["size_class"] |= {"enum": list(SIZE_LABELS), "x-enum-labels": SIZE_LABELS}
    return schema


@cache
def _import_validator() -> jsonschema_rs.Draft202012Validator:
    return sheet_validator(import_row_schema())


def import_items(sheet: SheetRows) -> list[EnterpriseIn]:
    """The sheet's records, or a 422 naming every bad cell by row and column in Chinese and
    English. A district may be written by its name (耀州区) as well as its code."""
    by_name = {d.name: code for code, d in districts().items()}
    rows = [row for _, row in sheet.rows]
    for row in rows:
        named = row.get("district")
        if isinstance(named, str) and named.strip() in by_name:
            row["district"] = by_name[named.strip()]
    refuse_bad_rows(sheet, rows, _import_validator())
    return [msgspec.convert(row, EnterpriseIn) for row in rows]
