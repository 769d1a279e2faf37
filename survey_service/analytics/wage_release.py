"""Wage releases: freezing a campaign's counted workers with their protection pattern, and
cutting reference tables from a release's columns (numpy, no database read).

A table of a release has the rows of the live tables (``wages.compute_rows``): every
combination of groups with its margins, the filters being dimensions of the table, the
same percentile definition (``percentiles.grouped_stats``), ``n_enterprises`` counting
contributors (a ``group_key`` counts once). ``measure=annual`` takes the workers with at
least the release's ``annual_min_months``, ``monthly`` everyone. Which cells are hidden
is the release's pattern (``wage_structure``), looked up by ``cell_key``; weighted tables
hide the weighted pattern's cells too. Analysts see one reason for every hidden cell
(``confidential``): distinct reasons would tell which rule a cell failed, and so narrow
what it may hold. Admins reading a release see the detailed reasons.

A loaded release never changes: its value orders and dimension codes are computed once,
and each table once per (release, query) in a process.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import anyio
import msgspec
import numpy as np
from numpy.typing import NDArray
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.analytics.disclosure import ALL, DisclosureRules, Key, SettingsError
from survey_service.analytics.frozen import Frozen, NothingToRelease
from survey_service.analytics.percentiles import QUANTILE_NAMES, grouped_stats
from survey_service.analytics.wage_columns import (
    WageColumns,
    dimension_codes,
    from_bytes,
    read_columns,
    to_bytes,
)
from survey_service.analytics.wage_structure import (
    CONFIDENTIAL,
    Pattern,
    cell_key,
    pattern_to_bytes,
    protect_wages,
)
from survey_service.analytics.wages import (
    DIFFERENCING_GUARD,
    EMPTY_FIGURES,
    PERCENTILE_DEFINITION,
    CampaignInfo,
    Measure,
    WageQuery,
    contributors,
    data_as_of,
    encode,
    enterprise_weights,
    min_months,
    money,
    sort_key,
    subsets,
)

PROTECTION = (
    "The release was protected once over every table it answers: a cell failing a rule is "
    "hidden with enough other cells that no published figure, margin or difference of "
    "tables narrows it to within the protection interval (an LP audit of each hidden cell)."
)

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]


def content_hash(data: bytes, rules: dict[str, Any]) -> str:
    """sha256 (hex) over the snapshot followed by the rules as canonical JSON (keys sorted,
    no whitespace)."""
    digest = hashlib.sha256(data)
    digest.update(msgspec.json.encode(rules, order="sorted"))
    return digest.hexdigest()


# --- freezing ------------------------------------------------------------------------------


async def freeze_wages(
    session: AsyncSession, campaign: CampaignInfo, earlier: Sequence[bytes]
) -> Frozen:
    """The campaign's counted workers now, protected jointly with its earlier releases
    (``earlier``: their data, oldest first). SettingsError for unusable settings,
    NothingToRelease when no worker is counted."""
    rules = DisclosureRules.of_campaign(campaign.settings)
    months = min_months(campaign)
    weights = enterprise_weights(campaign)
    columns = await read_columns(session, campaign)
    if len(columns) == 0:
        raise NothingToRelease(f"campaign {campaign.id} has no counted salary survey yet")
    who = await contributors(session, campaign, weights)
    as_of = await data_as_of(session, campaign)
    earlier_columns = [from_bytes(blob) for blob in earlier]
    pattern = await anyio.to_thread.run_sync(protect_wages, columns, rules, months, earlier_columns)
    frozen_rules = rules.as_dict() | {
        "annual_min_months": months,
        "weighted": weights is not None,
        "enterprises_without_weight": who.unweighted if weights is not None else 0,
    }
    summary = {
        "enterprises": len(np.unique(columns.enterprise)),
        "contributors": len(np.unique(columns.contributor)),
        "workers": len(columns),
        "data_as_of": as_of.isoformat() if as_of else None,
    } | pattern.summary
    return Frozen(to_bytes(columns), pattern_to_bytes(pattern), frozen_rules, summary)


# --- a loaded release and its tables -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Population:
    """The workers a measure counts, their values and a stable value order."""

    index: Ints
    values: Floats
    order: Ints


@dataclass
class WageRelease:
    """A wage release as read from the database: its columns and pattern, never changed."""

    campaign_id: int
    number: int
    created_at: datetime
    content_hash: str
    during_collection: bool
    rules: dict[str, Any]
    summary: dict[str, Any]
    columns: WageColumns
    pattern: Pattern
    _populations: dict[str, Population] = field(default_factory=dict)
    _dimensions: dict[str, tuple[list[str | None], Ints]] = field(default_factory=dict)

    @property
    def weighted(self) -> bool:
        return bool(self.rules.get("weighted"))

    def population(self, measure: Measure) -> Population:
        found = self._populations.get(measure)
        if found is None:
            if measure == "annual":
                index = np.flatnonzero(self.columns.months >= self.rules["annual_min_months"])
                values = self.columns.annual[index]
            else:
                index = np.arange(len(self.columns), dtype=np.int64)
                values = self.columns.monthly
            order = np.argsort(values, kind="stable").astype(np.int64)
            found = self._populations[measure] = Population(index.astype(np.int64), values, order)
        return found

    def dimension(self, name: str) -> tuple[list[str | None], Ints]:
        found = self._dimensions.get(name)
        if found is None:
            found = self._dimensions[name] = dimension_codes(self.columns, name)
        return found

    def meta(self) -> dict[str, Any]:
        """What every download of the release says of it."""
        return {
            "number": self.number,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "content_hash": self.content_hash,
            "during_collection": self.during_collection,
        }


@dataclass(frozen=True, slots=True)
class ReleaseRows:
    """A table of a release, with the detailed reasons (``analyst_rows`` hides them)."""

    rows: list[dict[str, Any]]
    rules: dict[str, Any]


def _distinct(values: Ints) -> Ints:
    """The distinct values, ascending. A sort, not ``np.unique``: numpy's hashing unique
    took 0.75 s on a million workers, the sort a tenth of that."""
    ordered = np.sort(values)
    out: Ints = ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered
    return out


def _n_contributors(combined: Ints, contributor: Ints, width: np.int64) -> Ints:
    """Distinct contributors per cell, in ascending order of cell code (as
    ``grouped_stats`` gives its groups)."""
    owners = _distinct(combined * width + contributor) // width
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    counts: Ints = np.diff(np.r_[starts, len(owners)]).astype(np.int64)
    return counts


def release_rows(release: WageRelease, query: WageQuery) -> ReleaseRows:
    """The rows of ``query`` over the release (hidden cells without figures, with the
    pattern's reasons) and the rules applied. SettingsError for weights the release has
    not."""
    if query.weighted and not release.weighted:
        raise SettingsError("the release has no enterprise weights")
    weighted = release.weighted and query.weighted is not False
    dims = query.dimensions
    population = release.population(query.measure)
    n = len(population.values)
    found = [release.dimension(d) for d in dims]
    groups = [g for g, _ in found]
    codes = [c[population.index] for _, c in found]
    sizes = [len(g) for g in groups]
    weights = release.columns.weight[population.index] if weighted else None
    contributor = release.columns.contributor[population.index].astype(np.int64)
    hidden = release.pattern.hidden
    weighted_hidden = release.pattern.weighted_hidden if weighted else {}
    wanted = [(dims.index(d), v) for d, v in query.filters.items()]
    # Contributors per cell from the distinct (finest cell, contributor) pairs: far fewer
    # than workers, so each grouping's count is a small sort.
    width = np.int64(int(contributor.max()) + 1 if n else 1)
    pairs = _distinct(encode(range(len(dims)), codes, sizes, n) * width + contributor)
    pair_contributor = pairs % width
    pair_codes: list[Ints] = []
    remaining = pairs // width
    for d in reversed(range(len(dims))):
        remaining, of_dimension = np.divmod(remaining, sizes[d])
        pair_codes.insert(0, of_dimension)
    rows: list[tuple[Key, dict[str, Any]]] = []
    for kept in subsets(len(dims)) if n else []:
        combined = encode(kept, codes, sizes, n)
        stats = grouped_stats(combined, population.values, weights, value_order=population.order)
        n_enterprises = _n_contributors(
            encode(kept, pair_codes, sizes, len(pairs)), pair_contributor, width
        )
        for i, code in enumerate(stats.codes):
            key: list[str | None] = [ALL] * len(dims)
            rest = int(code)
            for d in reversed(kept):
                rest, position = divmod(rest, sizes[d])
                key[d] = groups[d][position]
            cell = tuple(key)
            if any(cell[d] != v for d, v in wanted):
                continue
            at = cell_key(dims, cell, query.measure)
            reason = hidden.get(at) or weighted_hidden.get(at)
            row: dict[str, Any] = dict(zip(dims, cell, strict=True))
            if reason is None:
                row |= {"n_enterprises": int(n_enterprises[i]), "n_workers": int(stats.n[i])}
                row |= {q: money(v) for q, v in zip(QUANTILE_NAMES, stats.quantiles[i],
                                                      strict=True)}  # fmt: skip
                row["mean"] = money(stats.mean[i])
            else:
                row |= EMPTY_FIGURES
            row |= {"suppressed": reason is not None, "suppression_reason": reason}
            rows.append((cell, row))
    rows.sort(key=lambda item: sort_key(item[0]))
    return ReleaseRows([row for _, row in rows], applied_rules(release, query.measure, weighted))


def applied_rules(release: WageRelease, measure: Measure, weighted: bool) -> dict[str, Any]:
    rules = release.rules
    return {
        "min_enterprises": rules["min_enterprises"],
        "min_workers": rules["min_workers"],
        "p_percent": rules["p_percent"],
        "dominance": rules.get("dominance"),
        "suppression": True,
        "contributor": "an enterprise; the enterprises of one group (group_key) count as one",
        "complementary": PROTECTION,
        "differencing": DIFFERENCING_GUARD,
        "percentile": PERCENTILE_DEFINITION,
        "measure": measure,
        "annual_min_months": rules["annual_min_months"],
        "population": (
            f"workers with at least {rules['annual_min_months']} months in the year; "
            "annual gross pay"
            if measure == "annual"
            else "every worker; annual gross pay divided by months worked"
        ),
        "weights": {
            "source": "campaign settings.enterprise_weights, one sampling weight per enterprise",
            "enterprises_without_weight": rules.get("enterprises_without_weight", 0),
        }
        if weighted
        else None,
    }


def analyst_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with one reason for every hidden cell."""
    return [
        row | {"suppression_reason": CONFIDENTIAL} if row["suppressed"] else row for row in rows
    ]


def own_annual_pay(
    release: WageRelease, enterprise_id: int, dimension: str = "occupation"
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """One enterprise's own workers in the release by ``dimension`` (the occupation as
    reported, or a level of it), for that enterprise alone: the count, the quartiles and
    the mean of annual pay of the full-year workers, by the same definitions as the city's
    table (``grouped_stats``, the release's ``annual_min_months``), and how many workers it
    counted in all and for the full year. A group's key is None for "not stated"."""
    columns = release.columns
    mine = np.flatnonzero(columns.enterprise == enterprise_id)
    full_year = mine[columns.months[mine] >= release.rules["annual_min_months"]]
    groups, index = dimension_codes(columns, dimension)
    stats = grouped_stats(index[full_year].astype(np.int64), columns.annual[full_year])
    at = {name: QUANTILE_NAMES.index(name) for name in ("p25", "p50", "p75")}
    out = [
        {
            "occupation": groups[code],
            "n": int(n),
            **{name: float(quantiles[index]) for name, index in at.items()},
            "mean": float(mean),
        }
        for code, n, quantiles, mean in zip(
            stats.codes, stats.n, stats.quantiles, stats.mean, strict=True
        )
    ]
    out.sort(key=lambda row: (row["occupation"] is None, str(row["occupation"])))
    return out, {"workers": int(mine.size), "full_year": int(full_year.size)}


class ReleaseTableCache:
    """Tables of releases computed in this process, by release and query (they never
    change); the least recently used go first."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._tables: OrderedDict[tuple[Any, ...], ReleaseRows] = OrderedDict()

    async def rows(self, release: WageRelease, query: WageQuery) -> ReleaseRows:
        key = (
            release.campaign_id,
            release.number,
            msgspec.json.encode([sorted(query.dimensions), query.by, query.filters,
                                 query.measure, query.weighted], order="sorted"),
        )  # fmt: skip
        found = self._tables.get(key)
        if found is not None:
            self._tables.move_to_end(key)
            return found
        # Large releases take tens of milliseconds: off the event loop.
        table = await anyio.to_thread.run_sync(release_rows, release, query)
        self._tables[key] = table
        while len(self._tables) > self.size:
            self._tables.popitem(last=False)
        return table
