# TEMPORARY until wage_structure lands: a stand-in for the lead's protection engine, with
# its interface (CellKey, release_query_error, cell_key, Pattern, protect_wages,
# pattern_to_bytes, pattern_from_bytes) so that releases can be written and tested. It
# applies the primary rules only (no secondary suppression, no LP audit, no change rule
# between releases). Replace the whole file with main's when it lands.
"""TEMPORARY placeholder of the protected structure of a wage release (see the comment
above): which tables a release answers, and the hidden cells (primary rules only)."""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np

from survey_service.analytics import disclosure
from survey_service.analytics.disclosure import ALL, DisclosureRules, Key
from survey_service.analytics.wage_columns import WageColumns, dimension_codes
from survey_service.analytics.wages import Measure, WageQuery, encode, subsets

CellKey = tuple[tuple[str, str | None], ...]

OCCUPATION_LEVELS = ("occupation", "occupation_major", "occupation_middle",
                     "occupation_minor", "occupation_detailed")  # fmt: skip
INDUSTRY_LEVELS = ("industry", "industry_division")
CROSSED = (*OCCUPATION_LEVELS, *INDUSTRY_LEVELS, "district", "size_class")
ONE_WAY = ("ownership", "education", "skill_level", "job_level")
MAX_DIMENSIONS = 2


def release_query_error(query: WageQuery) -> str | None:
    dims = set(query.dimensions)
    if len(dims) > MAX_DIMENSIONS:
        return f"a release answers tables of at most {MAX_DIMENSIONS} dimensions"
    if len(dims & set(OCCUPATION_LEVELS)) > 1 or len(dims & set(INDUSTRY_LEVELS)) > 1:
        return "at most one level of occupation and one of industry in a table"
    if len(dims) > 1 and dims & set(ONE_WAY):
        return f"{', '.join(sorted(dims & set(ONE_WAY)))}: one-way tables only"
    return None


def cell_key(dimensions: Sequence[str], key: Key, measure: Measure) -> CellKey:
    kept = sorted((d, v) for d, v in zip(dimensions, key, strict=True) if v != ALL)
    return (*kept, ("measure", measure))


@dataclass(frozen=True)
class Pattern:
    hidden: dict[CellKey, str]
    weighted_hidden: dict[CellKey, str]
    summary: dict[str, Any]


def _tables() -> list[tuple[str, ...]]:
    singles = [(d,) for d in (*CROSSED, *ONE_WAY)]
    pairs = [
        p for p in itertools.combinations(CROSSED, 2)
        if release_query_error(WageQuery(list(p))) is None
    ]  # fmt: skip
    return [(), *singles, *pairs]


def protect_wages(
    columns: WageColumns, rules: DisclosureRules, min_months: int, earlier: Sequence[WageColumns]
) -> Pattern:
    hidden: dict[CellKey, str] = {}
    cells = 0
    contributors = int(columns.contributor.max()) + 1 if len(columns) else 1
    for measure in ("annual", "monthly"):
        keep = columns.months >= min_months if measure == "annual" else np.ones(len(columns), bool)
        values = (columns.annual if measure == "annual" else columns.monthly)[keep]
        contributor = columns.contributor[keep].astype(np.int64)
        for dims in _tables():
            found = [dimension_codes(columns, d) for d in dims]
            codes = [c[keep] for _, c in found]
            sizes = [len(g) for g, _ in found]
            for kept in subsets(len(dims)):
                combined = encode(kept, codes, sizes, len(values))
                cell_codes, cell = np.unique(combined, return_inverse=True)
                shares = disclosure.contributions(
                    cell.ravel().astype(np.int64), len(cell_codes), contributor, contributors,
                    values, rules.top,
                )  # fmt: skip
                n_workers = np.bincount(cell.ravel(), minlength=len(cell_codes)).astype(np.int64)
                totals = np.bincount(
                    cell.ravel(), weights=values, minlength=len(cell_codes)
                ).astype(np.float64)
                reasons = disclosure.primary_reasons(
                    rules, shares.n_contributors, n_workers, totals, shares.largest
                )
                for code, reason in zip(cell_codes, reasons, strict=True):
                    cells += 1
                    if reason is None:
                        continue
                    key: list[str | None] = [ALL] * len(dims)
                    rest = int(code)
                    for d in reversed(kept):
                        rest, index = divmod(rest, sizes[d])
                        key[d] = found[d][0][index]
                    hidden[cell_key(dims, tuple(key), measure)] = reason
    return Pattern(hidden, {}, {"cells": cells, "hidden": len(hidden)})


def _encode_key(key: CellKey) -> list[list[str | None]]:
    return [[d, v] for d, v in key]


def pattern_to_bytes(pattern: Pattern) -> bytes:
    raw = {
        "hidden": [[_encode_key(k), r] for k, r in pattern.hidden.items()],
        "weighted_hidden": [[_encode_key(k), r] for k, r in pattern.weighted_hidden.items()],
        "summary": pattern.summary,
    }
    return zlib.compress(msgspec.json.encode(raw))


def pattern_from_bytes(data: bytes) -> Pattern:
    raw = msgspec.json.decode(zlib.decompress(data))

    def table(items: list[Any]) -> dict[CellKey, str]:
        return {tuple((d, v) for d, v in key): reason for key, reason in items}

    return Pattern(table(raw["hidden"]), table(raw["weighted_hidden"]), raw["summary"])
