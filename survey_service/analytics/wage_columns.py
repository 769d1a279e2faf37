"""A campaign's counted worker rows as columns: what a wage release freezes, and what its
tables are cut from without going back to the database.

One entry per worker of an eligible survey (submitted; accepted when the campaign requires
review). Each attribute is a vocabulary (``""`` for not stated) and an int32 code per
worker; ``dimension_codes`` derives a dimension's groups (``occupation_major``,
``industry_division``, ...) from the vocabulary exactly as the SQL expressions of
``wage_dimensions`` do, so a release and the live tables group alike.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, select
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.analytics.wage_dimensions import DIMENSIONS, section_ranges
from survey_service.analytics.wages import (
    CampaignInfo,
    contributors,
    eligible_submissions,
    enterprise_weights,
)
from survey_service.db.models import WageRow

ATTRIBUTES = ("occupation", "industry", "district", "size_class", "ownership", "education",
              "skill_level", "job_level")  # fmt: skip
FETCH_CHUNK = 65_536

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class WageColumns:
    vocab: dict[str, NDArray[np.str_]]  # per attribute: its distinct values, "" = not stated
    codes: dict[str, NDArray[np.int32]]  # per attribute: an index into vocab, per worker
    enterprise: Ints
    contributor: NDArray[np.int32]  # enterprises of one group_key share one
    months: NDArray[np.int8]
    annual: Floats
    monthly: Floats
    weight: Floats  # the enterprise's sampling weight (1.0 without one)

    def __len__(self) -> int:
        return len(self.annual)


def _read(connection: Connection, campaign_id: int, eligible: Any) -> list[list[Any]]:
    columns = [getattr(WageRow, name) for name in ATTRIBUTES]
    query = select(
        *columns, WageRow.enterprise_id, WageRow.months_worked, WageRow.annual_pay,
        WageRow.monthly_pay,
    ).where(WageRow.campaign_id == campaign_id, WageRow.submission_id.in_(eligible))  # fmt: skip
    compiled = query.compile(dialect=connection.dialect)
    params = compiled.construct_params()
    args: Any = tuple(params[name] for name in compiled.positiontup or ()) or params
    cursor = connection.connection.dbapi_connection.cursor(server_side=True)  # type: ignore[union-attr]
    chunks: list[list[Any]] = []
    try:
        cursor.execute(str(compiled), args)
        while rows := cursor.fetchmany(FETCH_CHUNK):
            chunks.append([list(column) for column in zip(*rows, strict=True)])
    finally:
        cursor.close()
    return chunks


async def read_columns(session: AsyncSession, campaign: CampaignInfo) -> WageColumns:
    """The campaign's counted worker rows, now, as columns."""
    connection = await session.connection()
    chunks = await connection.run_sync(_read, campaign.id, eligible_submissions(campaign))
    who = await contributors(session, campaign, enterprise_weights(campaign))
    k = len(ATTRIBUTES)

    def column(i: int) -> list[Any]:
        return [v for chunk in chunks for v in chunk[i]]

    vocab: dict[str, NDArray[np.str_]] = {}
    codes: dict[str, NDArray[np.int32]] = {}
    for i, name in enumerate(ATTRIBUTES):
        values = np.array([v or "" for v in column(i)], dtype=str)
        uniques, inverse = np.unique(values, return_inverse=True) if len(values) else (
            np.array([], dtype=str), np.zeros(0, dtype=np.int64))  # fmt: skip
        vocab[name] = uniques
        codes[name] = inverse.ravel().astype(np.int32)
    enterprise = np.array(column(k), dtype=np.int64)
    index = np.searchsorted(who.enterprise_ids, enterprise)
    return WageColumns(
        vocab=vocab,
        codes=codes,
        enterprise=enterprise,
        contributor=who.contributor[index].astype(np.int32),
        months=np.array(column(k + 1), dtype=np.int8),
        annual=np.array(column(k + 2), dtype=np.float64),
        monthly=np.array(column(k + 3), dtype=np.float64),
        weight=who.weight[index].astype(np.float64),
    )


# --- dimensions over the vocabulary (the SQL expressions of wage_dimensions, in Python) ---


@cache
def _section_of_division() -> dict[str, str]:
    out: dict[str, str] = {}
    for section, low, high in section_ranges():
        for n in range(int(low), int(high) + 1):
            out[f"{n:02d}"] = section
    return out


def _industry_section(code: str) -> str | None:
    if not code:
        return None
    if code[0] >= "A":
        return code[0]
    return _section_of_division().get(code[:2])


def _industry_division(code: str) -> str | None:
    if not code:
        return None
    if code[0] >= "A":
        return code[1:3] or None
    return code[:2]


def _occupation_cut(length: int) -> Any:
    def cut(code: str) -> str | None:
        return code[:length] if code and len(code) >= length else None

    return cut


def _detailed(code: str) -> str | None:
    return code if len(code) == 10 else None


_DERIVED: dict[str, tuple[str, Any]] = {
    "occupation_major": ("occupation", _occupation_cut(1)),
    "occupation_middle": ("occupation", _occupation_cut(4)),
    "occupation_minor": ("occupation", _occupation_cut(7)),
    "occupation_detailed": ("occupation", _detailed),
    "industry": ("industry", _industry_section),
    "industry_division": ("industry", _industry_division),
}


def dimension_codes(columns: WageColumns, dimension: str) -> tuple[list[str | None], Ints]:
    """A dimension's groups (sorted, None = not stated, last) and each worker's group index."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    attribute, derive = _DERIVED.get(dimension, (dimension, None))
    vocabulary = columns.vocab[attribute]
    mapped = [derive(str(v)) if derive else (str(v) or None) for v in vocabulary]
    groups: list[str | None] = sorted({m for m in mapped if m is not None})
    if any(m is None for m in mapped):
        groups.append(None)
    position = {g: i for i, g in enumerate(groups)}
    lookup = np.array([position[m] for m in mapped] or [0], dtype=np.int64)
    return groups, lookup[columns.codes[attribute]] if len(columns) else np.zeros(0, np.int64)


# --- storage -------------------------------------------------------------------------------


def to_bytes(columns: WageColumns) -> bytes:
    arrays: dict[str, Any] = {
        "enterprise": columns.enterprise, "contributor": columns.contributor,
        "months": columns.months, "annual": columns.annual, "monthly": columns.monthly,
        "weight": columns.weight,
    }  # fmt: skip
    for name in ATTRIBUTES:
        arrays[f"vocab_{name}"] = columns.vocab[name]
        arrays[f"codes_{name}"] = columns.codes[name]
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def from_bytes(data: bytes) -> WageColumns:
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        return WageColumns(
            vocab={n: arrays[f"vocab_{n}"] for n in ATTRIBUTES},
            codes={n: arrays[f"codes_{n}"] for n in ATTRIBUTES},
            enterprise=arrays["enterprise"],
            contributor=arrays["contributor"],
            months=arrays["months"],
            annual=arrays["annual"],
            monthly=arrays["monthly"],
            weight=arrays["weight"],
        )


def select_rows(columns: WageColumns, keep: NDArray[np.bool_]) -> WageColumns:
    """The workers where ``keep`` holds (vocabularies unchanged)."""
    return WageColumns(
        vocab=columns.vocab,
        codes={n: c[keep] for n, c in columns.codes.items()},
        enterprise=columns.enterprise[keep],
        contributor=columns.contributor[keep],
        months=columns.months[keep],
        annual=columns.annual[keep],
        monthly=columns.monthly[keep],
        weight=columns.weight[keep],
    )
