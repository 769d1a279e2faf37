"""The wage guidelines (工资指导线): each year a province (and some cities) publishes the
growth of pay it advises for that year's wage negotiations: a base line (基准线) for
enterprises doing normally, an upper line (上线) for those doing well, a lower line (下线,
which may be zero or below for those in difficulty) and in some years a warning line (预警线)
above which pay should not grow. Both sides of a negotiation quote them, so the service
keeps them as data: entered by the bureau or loaded from a sheet, each with its source, and
marked ``example`` when the figures only stand in for a published guideline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any

import jsonschema_rs
import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.auth import Principal, audit
from survey_service.collection.spreadsheets import SheetRows
from survey_service.collection.uploads import (
    check_rows,
    rows_refused,
    sheet_validator,
    struct_row_schema,
)
from survey_service.db.models import WageGuideline
from survey_service.errors import not_found, unprocessable
from survey_service.forms.validation import validate_document
from survey_service.structs import Body, Out

# The city the service serves, and the province whose guideline applies where the city
# publishes none of its own.
CITY = "610200"

Pct = Annotated[float, msgspec.Meta(ge=-50, le=100)]
# A province (610000) or a city (610200): GB/T 2260 codes of those levels end in 00.
Region = Annotated[str, msgspec.Meta(pattern=r"^[1-9][0-9]{3}00$")]
Year = Annotated[int, msgspec.Meta(ge=1990, le=2100)]


class GuidelineIn(Body, kw_only=True):
    """A year's guideline for a region; an existing one (same year and region) is replaced."""

    year: Year
    region: Region
    base_pct: Pct
    upper_pct: Pct
    lower_pct: Pct
    warning_pct: Pct | None = None
    source: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    source_url: Annotated[str, msgspec.Meta(max_length=500, pattern=r"^https?://\S+$")] | None = (
        None
    )
    published_on: date | None = None
    example: bool = False


class GuidelineOut(Out):
    year: int
    region: str
    region_name: str
    base_pct: float
    upper_pct: float
    lower_pct: float
    warning_pct: float | None
    source: str
    source_url: str | None
    published_on: date | None
    example: bool
    updated_at: datetime


class GuidelineUpsertResult(Out):
    created: int
    updated: int
    guidelines: list[GuidelineOut]


# The sheet's columns: key, Chinese header, JSON type.
SHEET_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("year", "年度", "integer"),
    ("region", "地区代码", "string"),
    ("base_pct", "基准线(%)", "number"),
    ("upper_pct", "上线(%)", "number"),
    ("lower_pct", "下线(%)", "number"),
    ("warning_pct", "预警线(%)", "number"),
    ("source", "来源", "string"),
    ("source_url", "来源链接", "string"),
    ("published_on", "发布日期", "string"),
    ("example", "示例数据", "boolean"),
)

_REGION_NAMES = {"610000": "陕西省", CITY: "铜川市"}


def region_name(code: str) -> str:
    return _REGION_NAMES.get(code, code)


def province_of(region: str) -> str:
    return region[:2] + "0000"


def guideline_out(row: WageGuideline) -> GuidelineOut:
    return GuidelineOut(
        year=row.year,
        region=row.region,
        region_name=region_name(row.region),
        base_pct=row.base_pct,
        upper_pct=row.upper_pct,
        lower_pct=row.lower_pct,
        warning_pct=row.warning_pct,
        source=row.source,
        source_url=row.source_url,
        published_on=row.published_on,
        example=row.example,
        updated_at=row.updated_at,
    )


def check_lines(items: list[GuidelineIn], *, indexed: bool) -> list[dict[str, Any]]:
    """What JSON Schema cannot say: the lines in their order, each year and region once."""
    errors: list[dict[str, Any]] = []
    seen: set[tuple[int, str]] = set()
    for index, item in enumerate(items):
        at = f"/{index}" if indexed else ""
        if not item.lower_pct <= item.base_pct <= item.upper_pct:
            errors.append(
                {"path": f"{at}/base_pct", "keyword": "lines",
                 "message": "the lines must satisfy lower <= base <= upper",
                 "message_zh": "应满足 下线 ≤ 基准线 ≤ 上线"}
            )  # fmt: skip
        if item.warning_pct is not None and item.warning_pct < item.base_pct:
            errors.append(
                {"path": f"{at}/warning_pct", "keyword": "lines",
                 "message": "the warning line cannot be below the base line",
                 "message_zh": "预警线不能低于基准线"}
            )  # fmt: skip
        if (item.year, item.region) in seen:
            errors.append(
                {"path": f"{at}/region", "keyword": "unique",
                 "message": f"{item.year} {item.region} is named twice",
                 "message_zh": f"{item.year} 年 {item.region} 重复"}
            )  # fmt: skip
        seen.add((item.year, item.region))
    return errors


async def upsert_guidelines(
    session: AsyncSession, items: list[GuidelineIn], *, indexed: bool = True
) -> tuple[int, int, list[WageGuideline]]:
    """Create or replace by (year, region); all or nothing (the caller's transaction)."""
    errors = check_lines(items, indexed=indexed)
    if errors:
        raise unprocessable("Some guidelines are not valid.", errors)
    existing = {
        (g.year, g.region): g
        for g in await session.scalars(
            select(WageGuideline).where(WageGuideline.year.in_({i.year for i in items}))
        )
    }
    created = updated = 0
    rows: list[WageGuideline] = []
    for item in items:
        values = msgspec.structs.asdict(item)
        row = existing.get((item.year, item.region))
        if row is None:
            row = WageGuideline(**values)
            session.add(row)
            created += 1
        else:
            for name, value in values.items():
                setattr(row, name, value)
            updated += 1
        rows.append(row)
    await session.flush()
    for row in rows:
        await session.refresh(row)
    return created, updated, rows


async def record_guidelines(
    session: AsyncSession, principal: Principal | None, items: list[GuidelineIn], *, indexed: bool
) -> GuidelineUpsertResult:
    """Record guidelines (all or nothing) and say who did, for the API and the page alike."""
    created, updated, rows = await upsert_guidelines(session, items, indexed=indexed)
    audit(session, principal, "guideline.upsert", None, created=created, updated=updated)
    return GuidelineUpsertResult(
        created=created, updated=updated, guidelines=[guideline_out(r) for r in rows]
    )


async def list_guidelines(
    session: AsyncSession, *, year: int | None = None, region: str | None = None
) -> list[WageGuideline]:
    query = select(WageGuideline).order_by(WageGuideline.year.desc(), WageGuideline.region)
    if year is not None:
        query = query.where(WageGuideline.year == year)
    if region is not None:
        query = query.where(WageGuideline.region == region)
    return list(await session.scalars(query))


async def remove_guideline(
    session: AsyncSession, principal: Principal | None, year: int, region: str
) -> None:
    """Remove a guideline recorded in error (404 when there is none)."""
    row = await session.scalar(
        select(WageGuideline).where(WageGuideline.year == year, WageGuideline.region == region)
    )
    if row is None:
        raise not_found("guideline")
    await session.delete(row)
    audit(session, principal, "guideline.delete", f"{year}/{region}")


async def guideline_for(
    session: AsyncSession, year: int, region: str = CITY
) -> WageGuideline | None:
    """The guideline that applies in ``region`` in ``year``: its own, else its province's."""
    found = {
        g.region: g
        for g in await session.scalars(
            select(WageGuideline).where(
                WageGuideline.year == year,
                WageGuideline.region.in_({region, province_of(region)}),
            )
        )
    }
    return found.get(region) or found.get(province_of(region))


@dataclass(frozen=True, slots=True)
class LineApplied:
    """One line of a guideline applied to an amount: what that growth would make of it."""

    name: str
    name_en: str
    pct: float
    amount: float


def applied(guideline: WageGuideline | GuidelineOut, amount: float) -> list[LineApplied]:
    """The guideline's lines applied to ``amount`` (a median's annual pay, say): a worked
    example of what each line would mean for it, from the lowest line to the highest."""
    lines = [
        ("下线", "lower line", guideline.lower_pct),
        ("基准线", "base line", guideline.base_pct),
        ("上线", "upper line", guideline.upper_pct),
    ]
    if guideline.warning_pct is not None:
        lines.append(("预警线", "warning line", guideline.warning_pct))
    return [LineApplied(zh, en, pct, round(amount * (1 + pct / 100))) for zh, en, pct in lines]


# --- loading a sheet ---------------------------------------------------------------------


@cache
def sheet_row_schema() -> dict[str, Any]:
    """A guideline sheet's row schema, made from ``GuidelineIn`` with the Chinese headers."""
    schema = struct_row_schema(
        GuidelineIn, {key: (label, kind) for key, label, kind in SHEET_COLUMNS}
    )
    schema["properties"]["published_on"]["format"] = "date"
    return schema


@cache
def _sheet_validator() -> jsonschema_rs.Draft202012Validator:
    return sheet_validator(sheet_row_schema())


def sheet_items(sheet: SheetRows) -> list[GuidelineIn]:
    """The sheet's guidelines, or a 422 naming every bad cell by row and column: a cell of
    the wrong kind, and the lines out of order in the rows that are otherwise good."""
    rows = [row for _, row in sheet.rows]
    check = check_rows(sheet, validate_document(_sheet_validator(), {"employees": rows}))
    items = [msgspec.convert(rows[i], GuidelineIn, strict=False) for i in check.accepted]
    errors = list(check.errors)
    for error in check_lines(items, indexed=True):
        index, key = error["path"].split("/")[1:3]
        row, column = sheet.locate(check.accepted[int(index)], key)
        errors.append(
            {"row": row, "column": column, "message": error["message"],
             "message_zh": error["message_zh"]}
        )  # fmt: skip
    if errors:
        raise rows_refused(errors)
    return items
