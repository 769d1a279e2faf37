"""Wage reference tables: per group of workers, the number of contributing enterprises and
workers, the P10/P25/P50/P75/P90 and mean of pay, with disclosure control and the change
from the previous year's campaign of the same form.

Rows counted: the wage rows of submitted surveys (accepted ones only when the campaign
``requires_review``). ``measure=annual`` (the default, as the official tables) takes
annual gross pay over workers with at least ``settings["annual_min_months"]`` (12) months;
``measure=monthly`` takes annual pay / months worked over every worker.

A table over k dimensions holds every combination of groups and all its margins (a
dimension summed over is keyed ``"*"``); disclosure control runs over that whole table.
Filters are dimensions of the table too: ``district=X`` computes the table over
``by + [district]`` and returns the slice ``district == X``. So a filtered cell, the
filtered total and the cells that another filter value would return all belong to one
table with one suppression pattern, and subtracting one query's cells from another's
(``district=X`` minus ``district=X&size_class=large``) is subtracting cells of that table,
which complementary suppression protects.

PostgreSQL groups and takes percentiles in SQL (``percentile_disc`` over ``CUBE``); SQLite,
and weighted tables on either database (``percentile_disc`` has no weights), fetch the
columns and group with numpy. Both give the same figures: the percentile definition is the
same (``percentiles``) and the contributor totals the disclosure rules need come from the
same code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, Select, func, literal_column, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Double

from survey_service.analytics import disclosure
from survey_service.analytics.disclosure import ALL, DisclosureRules, Key, SettingsError
from survey_service.analytics.percentiles import QUANTILE_NAMES, QUANTILES, grouped_stats
from survey_service.analytics.wage_dimensions import DIMENSIONS
from survey_service.db.lookups import campaign_with_form
from survey_service.db.models import Campaign, Enterprise, Form, FormVersion, Submission, WageRow
from survey_service.db.models import utcnow as _utcnow

Measure = Literal["annual", "monthly"]
Method = Literal["sql", "numpy"]
MAX_DIMENSIONS = 4
FETCH_CHUNK = 65_536
SQL_WORK_MEM = "256MB"
PERCENTILE_DEFINITION = (
    "Inverted CDF (PostgreSQL percentile_disc, numpy inverted_cdf): the smallest value whose "
    "cumulative share of the group's workers (of their weights, with enterprise weights) "
    "reaches P/100; unweighted, the value at rank max(ceil(P/100 * n), 1) in ascending order."
)
DIFFERENCING_GUARD = (
    "Filters are dimensions of the table: a filtered query returns a slice of the table over "
    "by + filter dimensions, suppressed as a whole with its margins, so cells of two queries "
    "that differ by a filter are cells of one protected table."
)

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class WageQuery:
    by: list[str]
    filters: dict[str, str] = field(default_factory=dict)  # dimension -> value
    measure: Measure = "annual"
    weighted: bool | None = None  # None: as the campaign's settings say
    suppress: bool = True

    @property
    def dimensions(self) -> list[str]:
        return [*self.by, *(d for d in self.filters if d not in self.by)]


@dataclass(frozen=True, slots=True)
class CampaignInfo:
    id: int
    year: int  # the year the data speak of
    campaign_year: int  # the yearly campaign it belongs to
    title: str
    form_key: str
    form_kind: str  # salary-survey, poll, self-assessment, custom: what the form collects
    settings: dict[str, Any]
    requires_review: bool
    schema: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Cells:
    """Every cell of a table with its margins, in no particular order."""

    keys: list[Key]
    n_workers: Ints
    quantiles: Floats
    mean: Floats
    total: Floats
    n_contributors: Ints
    largest: Floats


@dataclass(frozen=True, slots=True)
class WageTable:
    campaign: CampaignInfo
    dimensions: list[str]
    rows: list[dict[str, Any]]
    rules: dict[str, Any]
    meta: dict[str, Any]


async def load_campaign(session: AsyncSession, campaign_id: int) -> CampaignInfo | None:
    found = await campaign_with_form(session, campaign_id)
    if found is None:
        return None
    campaign, version, form = found
    return CampaignInfo(
        campaign.id, campaign.year, campaign.campaign_year, campaign.title, form.key, form.kind,
        campaign.settings or {}, campaign.requires_review, version.schema,
    )  # fmt: skip


async def previous_campaign(session: AsyncSession, campaign: CampaignInfo) -> CampaignInfo | None:
    """The latest campaign of the same form for the year before."""
    previous = await session.scalar(
        select(Campaign.id)
        .join(FormVersion, Campaign.form_version_id == FormVersion.id)
        .join(Form, FormVersion.form_id == Form.id)
        .where(Form.key == campaign.form_key, Campaign.year == campaign.year - 1)
        .order_by(Campaign.id.desc())
        .limit(1)
    )
    return await load_campaign(session, previous) if previous is not None else None


def eligible_submissions(campaign: CampaignInfo) -> Select[Any]:
    query = select(Submission.id).where(
        Submission.campaign_id == campaign.id, Submission.status == "submitted"
    )
    if campaign.requires_review:
        query = query.where(Submission.review_state == "accepted")
    return query


def min_months(campaign: CampaignInfo) -> int:
    raw = campaign.settings.get("annual_min_months", 12)
    if not isinstance(raw, int) or not 1 <= raw <= 12:
        raise SettingsError("settings.annual_min_months must be a whole number from 1 to 12")
    return raw


def base_query(campaign: CampaignInfo, dimensions: Sequence[str], measure: Measure) -> Select[Any]:
    """One row per counted worker: the group keys ('' for none), enterprise and value."""
    value = WageRow.annual_pay if measure == "annual" else WageRow.monthly_pay
    keys = [
        func.coalesce(DIMENSIONS[d].expression(), "").label(f"k{i}")
        for i, d in enumerate(dimensions)
    ]
    query = select(*keys, WageRow.enterprise_id.label("enterprise_id"), value.label("v")).where(
        WageRow.campaign_id == campaign.id,
        WageRow.submission_id.in_(eligible_submissions(campaign)),
    )
    if measure == "annual":
        query = query.where(WageRow.months_worked >= min_months(campaign))
    return query


@dataclass(frozen=True, slots=True)
class Contributors:
    """Each enterprise's contributor (its ``group_key``'s, or its own) and weight."""

    enterprise_ids: Ints  # ascending
    contributor: Ints  # dense codes
    weight: Floats
    count: int
    unweighted: int  # enterprises the weights do not name (weight 1)


async def contributors(
    session: AsyncSession, campaign: CampaignInfo, weights: dict[str, float] | None
) -> Contributors:
    rows = list(
        await session.execute(
            select(Enterprise.id, Enterprise.uscc, Enterprise.group_key)
            .where(Enterprise.id.in_(select(Submission.enterprise_id).where(
                Submission.campaign_id == campaign.id)))
            .order_by(Enterprise.id)
        )
    )  # fmt: skip
    names = [group or f"enterprise:{ident}" for ident, _, group in rows]
    codes = {name: i for i, name in enumerate(dict.fromkeys(names))}
    missing = sum(1 for _, uscc, _ in rows if weights is not None and uscc not in weights)
    return Contributors(
        enterprise_ids=np.array([r[0] for r in rows], dtype=np.int64),
        contributor=np.array([codes[n] for n in names], dtype=np.int64),
        weight=np.array([(weights or {}).get(r[1], 1.0) for r in rows], dtype=np.float64),
        count=max(1, len(codes)),
        unweighted=missing,
    )


def enterprise_weights(campaign: CampaignInfo) -> dict[str, float] | None:
    """``settings["enterprise_weights"]``: {uscc: sampling weight > 0}, or None."""
    raw = campaign.settings.get("enterprise_weights")
    if raw is None:
        return None
    if not isinstance(raw, dict) or not all(
        isinstance(w, int | float) and not isinstance(w, bool) and w > 0 and math.isfinite(w)
        for w in raw.values()
    ):
        raise SettingsError("settings.enterprise_weights must map USCCs to positive numbers")
    return {str(k): float(v) for k, v in raw.items()}


def subsets(k: int) -> list[tuple[int, ...]]:
    """Every set of kept dimensions (the others summed over), finest first."""
    masks = sorted(range(2**k), key=lambda m: (-bin(m).count("1"), m))
    return [tuple(d for d in range(k) if m >> d & 1) for m in masks]


def _factorize(column: NDArray[Any]) -> tuple[NDArray[Any], Ints]:
    uniques, inverse = np.unique(column, return_inverse=True)
    return uniques, inverse.ravel().astype(np.int64)


def encode(kept: Sequence[int], codes: Sequence[Ints], sizes: Sequence[int], n: int) -> Ints:
    combined = np.zeros(n, dtype=np.int64)
    for d in kept:
        combined = combined * sizes[d] + codes[d]
    return combined


def _decode(
    kept: Sequence[int], combined: Ints, uniques: Sequence[NDArray[Any]], k: int
) -> list[Key]:
    columns: list[list[str | None]] = [[ALL] * len(combined) for _ in range(k)]
    rest = combined.copy()
    for d in reversed(kept):
        rest, code = np.divmod(rest, len(uniques[d]))
        columns[d] = [str(v) or None for v in uniques[d][code]]
    return list(zip(*columns, strict=True)) if k else [() for _ in combined]


def contribution_cells(
    pair_keys: Sequence[NDArray[Any]], pair_contributor: Ints, pair_total: Floats, n: int, top: int
) -> dict[Key, tuple[int, Floats]]:
    """Per cell of every grouping: distinct contributors and the largest contributor totals,
    from (finest cell, enterprise) totals."""
    k = len(pair_keys)
    factors = [_factorize(column) for column in pair_keys]
    uniques = [u for u, _ in factors]
    codes = [c for _, c in factors]
    sizes = [len(u) for u in uniques]
    out: dict[Key, tuple[int, Floats]] = {}
    for kept in subsets(k):
        combined = encode(kept, codes, sizes, len(pair_total))
        cells, cell = np.unique(combined, return_inverse=True)
        shares = disclosure.contributions(
            cell.ravel().astype(np.int64), len(cells), pair_contributor, n, pair_total, top
        )
        for key, count, largest in zip(
            _decode(kept, cells, uniques, k), shares.n_contributors, shares.largest, strict=True
        ):
            out[key] = (int(count), largest)
    return out


def _lookup(contributors: Contributors, enterprise: Ints) -> Ints:
    return np.searchsorted(contributors.enterprise_ids, enterprise).astype(np.int64)


def _assemble(
    stats: dict[Key, tuple[int, Floats, float, float]],
    shares: dict[Key, tuple[int, Floats]],
    top: int,
) -> Cells:
    """The cells as columns; no cell at all (no worker counted yet) is an empty table."""
    keys = list(stats)
    return Cells(
        keys=keys,
        n_workers=np.array([stats[k][0] for k in keys], dtype=np.int64),
        quantiles=np.array([stats[k][1] for k in keys], dtype=np.float64).reshape(
            len(keys), len(QUANTILES)
        ),
        mean=np.array([stats[k][2] for k in keys], dtype=np.float64),
        total=np.array([stats[k][3] for k in keys], dtype=np.float64),
        n_contributors=np.array([shares[k][0] for k in keys], dtype=np.int64),
        largest=np.array([shares[k][1] for k in keys], dtype=np.float64).reshape(len(keys), top),
    )


def _read_columns(
    connection: Connection, query: Select[Any], k: int
) -> tuple[list[NDArray[Any]], list[Ints], Ints, Floats]:
    """The query's columns, read through the driver's cursor in chunks (no ORM rows, a
    bounded list of tuples at a time): each key column factorized (its distinct strings
    and a code per row), then enterprise ids and values."""
    compiled = query.compile(dialect=connection.dialect)
    params = compiled.construct_params()
    args: Any = tuple(params[name] for name in compiled.positiontup or ()) or params
    cursor = connection.connection.dbapi_connection.cursor(server_side=True)  # type: ignore[union-attr]
    vocabularies: list[dict[str, int]] = [{} for _ in range(k)]
    chunks: list[list[NDArray[Any]]] = []
    try:
        cursor.execute(str(compiled), args)
        while rows := cursor.fetchmany(FETCH_CHUNK):
            n = len(rows)
            chunk = []
            for i, vocabulary in enumerate(vocabularies):
                seen, inverse = np.unique(
                    np.array(list(map(itemgetter(i), rows))), return_inverse=True
                )
                lookup = np.array([vocabulary.setdefault(str(v), len(vocabulary)) for v in seen])
                chunk.append(lookup[inverse.ravel()].astype(np.int64))
            chunk.append(np.fromiter(map(itemgetter(k), rows), dtype=np.int64, count=n))
            chunk.append(np.fromiter(map(itemgetter(k + 1), rows), dtype=np.float64, count=n))
            chunks.append(chunk)
    finally:
        cursor.close()
    uniques = [np.array(list(v) or [""], dtype=str) for v in vocabularies]
    if not chunks:
        return uniques, [np.zeros(0, np.int64)] * k, np.zeros(0, np.int64), np.zeros(0)
    columns = [np.concatenate([c[i] for c in chunks]) for i in range(k + 2)]
    return uniques, columns[:k], columns[k], columns[k + 1].astype(np.float64)


async def cells_numpy(
    session: AsyncSession, query: Select[Any], k: int, who: Contributors, weighted: bool, top: int
) -> Cells:
    connection = await session.connection()
    uniques, codes, enterprise, values = await connection.run_sync(_read_columns, query, k)
    sizes = [len(u) for u in uniques]
    index = _lookup(who, enterprise)
    weights = who.weight[index] if weighted else None
    value_order = np.argsort(values, kind="stable")
    stats: dict[Key, tuple[int, Floats, float, float]] = {}
    for kept in subsets(k):
        combined = encode(kept, codes, sizes, len(values))
        grouped = grouped_stats(combined, values, weights, value_order=value_order)
        for key, n, q, mean, total in zip(
            _decode(kept, grouped.codes, uniques, k), grouped.n, grouped.quantiles,
            grouped.mean, grouped.total, strict=True,
        ):  # fmt: skip
            stats[key] = (int(n), q, float(mean), float(total))
    # (finest cell, enterprise) totals, the input of the disclosure rules.
    finest = encode(range(k), codes, sizes, len(values))
    pairs, inverse = np.unique(
        finest * np.int64(len(who.enterprise_ids)) + index, return_inverse=True
    )
    pair_total = np.bincount(inverse.ravel(), weights=values, minlength=len(pairs))
    pair_cell, pair_enterprise = np.divmod(pairs, len(who.enterprise_ids))
    pair_keys: list[NDArray[Any]] = []
    rest = pair_cell
    for d in reversed(range(k)):
        rest, code = np.divmod(rest, sizes[d])
        pair_keys.insert(0, uniques[d][code])
    shares = contribution_cells(
        pair_keys, who.contributor[pair_enterprise], pair_total.astype(np.float64), who.count, top
    )
    return _assemble(stats, shares, top)


async def cells_sql(
    session: AsyncSession, query: Select[Any], k: int, who: Contributors, top: int
) -> Cells:
    """PostgreSQL: percentiles over every grouping set (``CUBE``) in one statement, and the
    (finest cell, enterprise) totals in another."""
    # The sorts behind percentile_disc stay in memory (a 1M-row campaign needs ~80 MB;
    # the default 4 MB spills to disk), and JIT compiling costs more than it saves here.
    await session.execute(text(f"SET LOCAL work_mem = '{SQL_WORK_MEM}'"))
    await session.execute(text("SET LOCAL jit = off"))
    base = query.subquery()
    keys = [base.c[f"k{i}"] for i in range(k)]
    percentiles = func.percentile_disc(
        literal_column("ARRAY[" + ",".join(repr(q) for q in QUANTILES) + "]::float8[]"),
        type_=ARRAY(Double()),
    ).within_group(base.c.v)
    grouping = func.grouping(*keys) if k else literal_column("0")
    statement = select(grouping, *keys, func.count(), percentiles, func.avg(base.c.v),
                       func.sum(base.c.v))  # fmt: skip
    if k:
        statement = statement.group_by(func.cube(*keys))
    stats: dict[Key, tuple[int, Floats, float, float]] = {}
    for row in await session.execute(statement):
        if not row[1 + k]:
            continue  # PostgreSQL's grand total of no rows
        summed = int(row[0])
        key = tuple(ALL if summed >> (k - 1 - d) & 1 else (row[1 + d] or None) for d in range(k))
        n, q, mean, total = row[1 + k], row[2 + k], row[3 + k], row[4 + k]
        stats[key] = (int(n), np.array(q, dtype=np.float64), float(mean), float(total))
    pair_rows = list(
        await session.execute(
            select(*keys, base.c.enterprise_id, func.sum(base.c.v)).group_by(
                *keys, base.c.enterprise_id
            )
        )
    )
    pair_keys = [np.array([r[d] for r in pair_rows], dtype=str) for d in range(k)]
    enterprise = np.array([r[k] for r in pair_rows], dtype=np.int64)
    pair_total = np.array([r[k + 1] for r in pair_rows], dtype=np.float64)
    shares = contribution_cells(
        pair_keys, who.contributor[_lookup(who, enterprise)], pair_total, who.count, top
    )
    return _assemble(stats, shares, top)


def money(value: float) -> float:
    return round(float(value), 2)


def sort_key(key: Key) -> tuple[tuple[int, str], ...]:
    return tuple((2, "") if v == ALL else (1, "") if v is None else (0, v) for v in key)


def _figures(cells: Cells, i: int) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "n_enterprises": int(cells.n_contributors[i]),
        "n_workers": int(cells.n_workers[i]),
    }
    for name, value in zip(QUANTILE_NAMES, cells.quantiles[i], strict=True):
        figures[name] = money(value)
    figures["mean"] = money(cells.mean[i])
    return figures


EMPTY_FIGURES: dict[str, Any] = dict.fromkeys(
    ("n_enterprises", "n_workers", *QUANTILE_NAMES, "mean")
)
CHANGES = ("p50_change", "p50_change_pct", "mean_change", "mean_change_pct")


def suppression(cells: Cells, rules: DisclosureRules) -> list[str | None]:
    """Each cell's reason to be suppressed (None: published): primary, then complementary."""
    reasons = disclosure.primary_reasons(
        rules, cells.n_contributors, cells.n_workers, cells.total, cells.largest
    )
    added = disclosure.complementary_suppression(
        cells.keys, [int(n) for n in cells.n_workers], [r is not None for r in reasons]
    )
    return [disclosure.COMPLEMENTARY if a else r for r, a in zip(reasons, added, strict=True)]


async def compute_rows(
    session: AsyncSession,
    campaign: CampaignInfo,
    query: WageQuery,
    *,
    method: Method | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any], Method]:
    """The rows of the table's slice (disclosure applied unless ``query.suppress`` is
    False), the rules applied, and the method used."""
    rules = DisclosureRules.of_campaign(campaign.settings)
    weights = enterprise_weights(campaign)
    if query.weighted and weights is None:
        raise SettingsError("the campaign has no settings.enterprise_weights")
    weighted = weights is not None and query.weighted is not False
    dims = query.dimensions
    is_postgres = (await session.connection()).dialect.name == "postgresql"
    method = method or ("sql" if is_postgres and not weighted else "numpy")
    if method == "sql" and (weighted or not is_postgres):
        raise ValueError("the SQL path is PostgreSQL's, and unweighted")
    who = await contributors(session, campaign, weights if weighted else None)
    base = base_query(campaign, dims, query.measure)
    if method == "sql":
        cells = await cells_sql(session, base, len(dims), who, rules.top)
    else:
        cells = await cells_numpy(session, base, len(dims), who, weighted, rules.top)
    reasons = suppression(cells, rules) if query.suppress else [None] * len(cells.keys)
    wanted = [(dims.index(d), v) for d, v in query.filters.items()]
    rows = []
    for i in sorted(range(len(cells.keys)), key=lambda i: sort_key(cells.keys[i])):
        key = cells.keys[i]
        if any(key[d] != v for d, v in wanted):
            continue
        row: dict[str, Any] = dict(zip(dims, key, strict=True))
        row |= EMPTY_FIGURES if reasons[i] else _figures(cells, i)
        row |= {"suppressed": reasons[i] is not None, "suppression_reason": reasons[i]}
        rows.append(row)
    applied = rules.as_dict() | {
        "suppression": query.suppress,
        "contributor": "an enterprise; the enterprises of one group (group_key) count as one",
        "complementary": "every line of the table (a margin and the cells it sums) has 0 or at "
        "least 2 suppressed cells, and no suppressed cell is determined by the published ones",
        "differencing": DIFFERENCING_GUARD,
        "percentile": PERCENTILE_DEFINITION,
        "measure": query.measure,
        "annual_min_months": min_months(campaign),
        "population": (
            f"workers with at least {min_months(campaign)} months in the year; annual gross pay"
            if query.measure == "annual"
            else "every worker; annual gross pay divided by months worked"
        ),
        "weights": {
            "source": "campaign settings.enterprise_weights, one sampling weight per enterprise",
            "enterprises_without_weight": who.unweighted,
        }
        if weighted
        else None,
    }
    return rows, applied, method


def add_changes(rows: list[dict[str, Any]], previous: list[dict[str, Any]] | None,
                dims: Sequence[str]) -> None:  # fmt: skip
    """Year-on-year change of P50 and mean where both years publish the group's figures."""
    before = {tuple(r[d] for d in dims): r for r in previous or []}
    for row in rows:
        row.update(dict.fromkeys(CHANGES))
        old = before.get(tuple(row[d] for d in dims))
        if old is None or row["suppressed"] or old["suppressed"]:
            continue
        for name in ("p50", "mean"):
            change = row[name] - old[name]
            row[f"{name}_change"] = money(change)
            row[f"{name}_change_pct"] = money(change / old[name] * 100) if old[name] else None


async def data_as_of(session: AsyncSession, campaign: CampaignInfo) -> datetime | None:
    latest: datetime | None = await session.scalar(
        select(func.max(Submission.updated_at)).where(
            Submission.id.in_(eligible_submissions(campaign))
        )
    )
    return latest


def check_query(query: WageQuery) -> None:
    """ValueError for a query the tables do not answer."""
    if len(query.dimensions) > MAX_DIMENSIONS:
        raise ValueError(f"at most {MAX_DIMENSIONS} dimensions (by and filters together)")


async def wage_table(
    session: AsyncSession,
    campaign: CampaignInfo,
    query: WageQuery,
    *,
    method: Method | None = None,
) -> WageTable:
    """The table for ``query`` with its rules, and the year-on-year change."""
    check_query(query)
    rows, rules, used = await compute_rows(session, campaign, query, method=method)
    previous = await previous_campaign(session, campaign)
    previous_rows = None
    if previous is not None:
        try:
            previous_rows, _, _ = await compute_rows(session, previous, query, method=method)
        except SettingsError:
            previous = None  # e.g. weights asked for and the earlier year has none
    add_changes(rows, previous_rows, query.dimensions)
    as_of = await data_as_of(session, campaign)
    meta = {
        "campaign": {"id": campaign.id, "year": campaign.year, "title": campaign.title},
        "previous_campaign": {"id": previous.id, "year": previous.year, "title": previous.title}
        if previous
        else None,
        "by": query.by,
        "filters": query.filters,
        "method": used,
        "data_as_of": as_of.isoformat() if as_of else None,
        "generated_at": _utcnow().isoformat(timespec="seconds"),
    }
    return WageTable(campaign, query.dimensions, rows, rules, meta)
