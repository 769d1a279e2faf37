"""The wage tables an analyst may ask of a release, as one linked structure, and its
protection (``protection.protect``) computed once when the release is made.

Allowed tables: a *set* of at most two dimensions (``by`` and filters together) from
``TWO_WAY`` (occupation at any level, industry section or division, district, size class;
one level per hierarchy), or one of ``ONE_WAY`` alone; each for both measures. The order of
``by`` does not matter: a cell is keyed by its (dimension, group) pairs, sorted, and the
full-year flag (``yes``: the annual tables' workers; ``all``: the monthly tables'; ``no``:
the part-year workers, never shown, whose figures are the difference of the other two).

The structure holds, per family of tables over the same base dimensions, every table at
every level, their margins, and the cells of the finest levels (the occupation code as
reported; the industry code as reported, never shown), linked by three kinds of line: a
margin and the groups it sums, a group and its finest subgroups, and ``all = yes + no``.
Shared cells (the occupation margin of occupation x district and of occupation x size) are
one cell, so every table of the release is protected together.

Rules per cell: the campaign's (min enterprises, min workers, p% on monthly and annual
total pay, dominance), and against every earlier release of the campaign the same rules on
what changed (the enterprises whose contribution to the cell changed, and by how much): a
cell whose change would give one enterprise's figures away is primary in the new release.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations, product
from typing import Any

import msgspec
import numpy as np
from numpy.typing import NDArray

from survey_service.analytics import disclosure, protection
from survey_service.analytics.disclosure import ALL, DisclosureRules, Key
from survey_service.analytics.wage_columns import WageColumns, dimension_codes
from survey_service.analytics.wages import Measure, WageQuery

CellKey = tuple[tuple[str, str | None], ...]
Ints = NDArray[np.int64]
Floats = NDArray[np.float64]

HIERARCHIES: dict[str, tuple[str, ...]] = {
    "occupation": ("occupation", "occupation_major", "occupation_middle", "occupation_minor",
                   "occupation_detailed"),
    "industry": ("industry_code", "industry", "industry_division"),
}  # fmt: skip
FINEST = {"occupation": "occupation", "industry": "industry_code"}
TWO_WAY = ("occupation", "industry", "district", "size_class")
ONE_WAY = ("ownership", "education", "skill_level", "job_level")
HIDDEN_LEVELS = {"industry_code"}  # finest levels that no table shows
FULL_YEAR = "full_year"
CHANGED = "changed_since_release"
WEIGHTED = "weighted_dominance"
CONFIDENTIAL = "confidential"
# Values per cell the rules and the audit look at.
VALUES = ("workers", "monthly", "annual")


def base_of(dimension: str) -> str:
    for base, levels in HIERARCHIES.items():
        if dimension in levels:
            return base
    return dimension


def release_query_error(query: WageQuery) -> str | None:
    """Why a query is not one of a release's tables (None when it is)."""
    dims = query.dimensions
    bases = [base_of(d) for d in dims]
    for d in dims:
        if d in HIDDEN_LEVELS:
            return f"{d} is not a dimension of the published tables"
    if len(set(bases)) != len(bases):
        return "a release's tables take one level of each of occupation and industry"
    if len(dims) > 2:
        return (
            "a release's tables have at most two dimensions (by and filters together); "
            "ask the bureau for a finer table"
        )
    if len(dims) == 2 and any(b in ONE_WAY for b in bases):
        return f"{', '.join(b for b in bases if b in ONE_WAY)} is published in one-way tables only"
    return None


def cell_key(dimensions: Sequence[str], key: Key, measure: Measure) -> CellKey:
    """The canonical key of a table's cell: the same cell whatever the table's order."""
    pairs = sorted((d, v) for d, v in zip(dimensions, key, strict=True) if v != ALL)
    return (*pairs, (FULL_YEAR, "yes" if measure == "annual" else "all"))


@dataclass(frozen=True, slots=True)
class Pattern:
    hidden: dict[CellKey, str]  # published tables' cells withheld, with the reason
    weighted_hidden: dict[CellKey, str]  # withheld besides, in weighted tables
    summary: dict[str, Any]


def pattern_to_bytes(pattern: Pattern) -> bytes:
    body = {
        "hidden": [[list(map(list, k)), r] for k, r in pattern.hidden.items()],
        "weighted_hidden": [[list(map(list, k)), r] for k, r in pattern.weighted_hidden.items()],
        "summary": pattern.summary,
    }
    return zlib.compress(msgspec.json.encode(body))


def _key(raw: list[list[Any]]) -> CellKey:
    return tuple((str(d), None if v is None else str(v)) for d, v in raw)


def pattern_from_bytes(data: bytes) -> Pattern:
    body = msgspec.json.decode(zlib.decompress(data))
    return Pattern(
        hidden={_key(k): r for k, r in body["hidden"]},
        weighted_hidden={_key(k): r for k, r in body["weighted_hidden"]},
        summary=body["summary"],
    )


# --- the cells -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Level:
    name: str
    groups: list[str | None]  # the level's groups
    of_finest: Ints  # per finest group: its group at this level


@dataclass(frozen=True, slots=True)
class _Base:
    name: str
    finest: Ints  # per worker: the finest group
    levels: list[_Level]  # the finest first


def _industry_code(columns: WageColumns) -> tuple[list[str | None], Ints]:
    vocabulary = [str(v) or None for v in columns.vocab["industry"]]
    groups: list[str | None] = [*sorted({v for v in vocabulary if v is not None})]
    if None in vocabulary:
        groups.append(None)
    position = {g: i for i, g in enumerate(groups)}
    lookup = np.array([position[v] for v in vocabulary] or [0], dtype=np.int64)
    codes = columns.codes["industry"]
    return groups, lookup[codes] if len(codes) else np.zeros(0, np.int64)


def _bases(columns: WageColumns) -> dict[str, _Base]:
    out: dict[str, _Base] = {}
    for base in (*TWO_WAY, *ONE_WAY):
        names = HIERARCHIES.get(base, (base,))
        finest_name = FINEST.get(base, base)
        if finest_name == "industry_code":
            finest_groups, finest = _industry_code(columns)
        else:
            finest_groups, finest = dimension_codes(columns, finest_name)
        levels = []
        for name in names:
            if name == finest_name:
                levels.append(_Level(name, finest_groups, np.arange(len(finest_groups))))
                continue
            groups, codes = dimension_codes(columns, name)
            # Each finest group lies in one group of a coarser level.
            of_finest = np.zeros(len(finest_groups), dtype=np.int64)
            if len(finest):
                of_finest[finest] = codes
            levels.append(_Level(name, groups, of_finest))
        out[base] = _Base(base, finest, levels)
    return out


@dataclass(slots=True)
class _Cells:
    index: dict[CellKey, int]
    values: list[list[float]]  # workers, monthly, annual
    contributors: list[int]
    largest: list[Floats]  # (values, top) per cell
    changes: list[list[tuple[int, Floats]]]  # per cell, per earlier release it changed since
    weighted_unsafe: list[bool]
    lines: dict[tuple[Any, ...], list[int]]
    margins: dict[tuple[Any, ...], CellKey]


def _pair_table(
    atom: Ints, contributor: Ints, n_contributors: int, weight: Floats, columns: list[Floats]
) -> tuple[Ints, Ints, Floats, Floats]:
    """(atom, contributor) sums of each value column, and of weighted values."""
    pair = atom * np.int64(n_contributors) + contributor
    pairs, inverse = np.unique(pair, return_inverse=True)
    inverse = inverse.ravel()
    sums = np.stack(
        [np.bincount(inverse, weights=c, minlength=len(pairs)) for c in columns], axis=1
    )
    weighted = np.bincount(inverse, weights=weight * columns[1], minlength=len(pairs))
    atoms: Ints = (pairs // n_contributors).astype(np.int64)
    contributors: Ints = (pairs % n_contributors).astype(np.int64)
    return atoms, contributors, sums.astype(np.float64), weighted.astype(np.float64)


def _top(cell: Ints, n_cells: int, contributor: Ints, n_contributors: int, values: Floats,
         top: int) -> tuple[Ints, Floats]:  # fmt: skip
    shares = disclosure.contributions(cell, n_cells, contributor, n_contributors, values, top)
    return shares.n_contributors, shares.largest


def _structure(
    columns: WageColumns,
    rules: DisclosureRules,
    min_months: int,
    earlier: Sequence[WageColumns],
) -> _Cells:
    bases = _bases(columns)
    top = rules.top
    n_contributors = int(columns.contributor.max()) + 1 if len(columns) else 1
    # Contributors of earlier releases, matched by enterprise (new ones get new codes).
    by_enterprise = dict(zip(columns.enterprise.tolist(), columns.contributor.tolist(),
                             strict=True))  # fmt: skip
    extra: dict[int, int] = {}

    def contributor_of(ids: Ints) -> Ints:
        out = np.empty(len(ids), dtype=np.int64)
        for i, e in enumerate(ids.tolist()):
            found = by_enterprise.get(e)
            if found is None:
                found = extra.setdefault(e, n_contributors + len(extra))
            out[i] = found
        return out

    earlier_contributors = [contributor_of(e.enterprise) for e in earlier]
    earlier_bases = [_bases(e) for e in earlier]
    n_all = n_contributors + len(extra)

    cells = _Cells({}, [], [], [], [], [], {}, {})
    families = [(b,) for b in (*TWO_WAY, *ONE_WAY)] + list(combinations(TWO_WAY, 2))
    done: set[tuple[Any, ...]] = set()
    for family in families:
        levels_per_base = [[None, *bases[b].levels] for b in family]
        current = _family_pairs(columns, bases, family, columns.contributor.astype(np.int64),
                                n_all, min_months)  # fmt: skip
        previous = [
            _family_pairs(e, eb, family, ec, n_all, min_months)
            for e, eb, ec in zip(earlier, earlier_bases, earlier_contributors, strict=True)
        ]
        for chosen in product(*levels_per_base):
            signature = tuple(sorted(lv.name for lv in chosen if lv is not None))
            if signature in done:
                continue
            done.add(signature)
            _add_table(cells, family, bases, chosen, current, previous, earlier_bases,
                       rules, top, n_all)  # fmt: skip
    return cells


@dataclass(frozen=True, slots=True)
class _Pairs:
    finest: list[Ints]  # per base of the family: the pair's finest group
    full_year: Ints  # 0: yes, 1: no
    contributor: Ints
    sums: Floats  # (pairs, 3): workers, monthly, annual
    weighted: Floats  # weighted monthly total


def _family_pairs(
    columns: WageColumns,
    bases: dict[str, _Base],
    family: tuple[str, ...],
    contributor: Ints,
    n_contributors: int,
    min_months: int,
) -> _Pairs:
    sizes = [len(bases[b].levels[0].groups) or 1 for b in family]
    atom = np.zeros(len(columns), dtype=np.int64)
    for b, size in zip(family, sizes, strict=True):
        atom = atom * size + bases[b].finest
    part_year = (columns.months < min_months).astype(np.int64)
    atom = atom * 2 + part_year
    atoms, contributors, sums, weighted = _pair_table(
        atom, contributor, n_contributors, columns.weight,
        [np.ones(len(columns)), columns.monthly, columns.annual],
    )  # fmt: skip
    full_year = atoms % 2
    rest = atoms // 2
    finest: list[Ints] = []
    for size in reversed(sizes):
        rest, code = np.divmod(rest, size)
        finest.insert(0, code)
    return _Pairs(finest, full_year, contributors, sums, weighted)


def _add_table(
    cells: _Cells,
    family: tuple[str, ...],
    bases: dict[str, _Base],
    chosen: tuple[_Level | None, ...],
    current: _Pairs,
    previous: list[_Pairs],
    earlier_bases: list[dict[str, _Base]],
    rules: DisclosureRules,
    top: int,
    n_contributors: int,
) -> None:
    """Add one table (at the chosen levels, None = summed over) in its three full-year
    versions: cells, their figures and their lines."""
    kept = [(b, lv) for b, lv in zip(family, chosen, strict=True) if lv is not None]

    def groups_of(pairs: _Pairs, base_map: dict[str, _Base]) -> list[Ints]:
        out = []
        for b, lv in kept:
            position = family.index(b)
            level = next(x for x in base_map[b].levels if x.name == lv.name)
            out.append(level.of_finest[pairs.finest[position]] if len(level.of_finest) else
                       np.zeros(0, np.int64))  # fmt: skip
        return out

    for full_year in ("yes", "no", "all"):
        code, names = _cell_codes(current, groups_of(current, bases), kept, full_year)
        if code is None:
            continue
        n_cells = len(names)
        where = _where(current, full_year)
        contributor = current.contributor[where]
        counts, largest_w = _top(code, n_cells, contributor, n_contributors,
                                 current.sums[where, 0], top)  # fmt: skip
        _, largest_m = _top(code, n_cells, contributor, n_contributors, current.sums[where, 1], top)
        _, largest_a = _top(code, n_cells, contributor, n_contributors, current.sums[where, 2], top)
        _, largest_weighted = _top(code, n_cells, contributor, n_contributors,
                                   current.weighted[where], 2)  # fmt: skip
        totals = np.stack(
            [
                np.bincount(code, weights=current.sums[where, j], minlength=n_cells)
                for j in range(3)
            ],
            axis=1,
        )
        weighted_total = np.bincount(code, weights=current.weighted[where], minlength=n_cells)
        changes = _changes(names, current, code, where, previous, earlier_bases, groups_of,
                           kept, full_year, n_contributors)  # fmt: skip
        p = rules.p_percent / 100
        for i, name in enumerate(names):
            key = _canonical(kept, name, full_year)
            if key in cells.index:
                continue
            cells.index[key] = len(cells.values)
            cells.values.append([float(v) for v in totals[i]])
            cells.contributors.append(int(counts[i]))
            cells.largest.append(np.stack([largest_w[i], largest_m[i], largest_a[i]]))
            cells.changes.append(changes.get(i, []))
            x1, x2 = largest_weighted[i, 0], largest_weighted[i, 1]
            cells.weighted_unsafe.append(bool(weighted_total[i] - x1 - x2 < p * x1))
            _lines_of(cells, kept, name, full_year, key, bases)


def _where(pairs: _Pairs, full_year: str) -> NDArray[np.bool_]:
    if full_year == "all":
        return np.ones(len(pairs.full_year), dtype=bool)
    where: NDArray[np.bool_] = pairs.full_year == (0 if full_year == "yes" else 1)
    return where


def _cell_codes(
    pairs: _Pairs, groups: list[Ints], kept: list[tuple[str, _Level]], full_year: str
) -> tuple[Ints | None, list[tuple[int, ...]]]:
    where = _where(pairs, full_year)
    if not where.any():
        return None, []
    combined = np.zeros(int(where.sum()), dtype=np.int64)
    sizes = [len(lv.groups) for _, lv in kept]
    for g, size in zip(groups, sizes, strict=True):
        combined = combined * size + g[where]
    uniques, code = np.unique(combined, return_inverse=True)
    names: list[tuple[int, ...]] = []
    for value in uniques.tolist():
        parts: list[int] = []
        for size in reversed(sizes):
            value, part = divmod(value, size)
            parts.insert(0, part)
        names.append(tuple(parts))
    return code.ravel().astype(np.int64), names


def _canonical(kept: list[tuple[str, _Level]], name: tuple[int, ...], full_year: str) -> CellKey:
    pairs = sorted((lv.name, lv.groups[g]) for (_, lv), g in zip(kept, name, strict=True))
    return (*pairs, (FULL_YEAR, full_year))


def _line(cells: _Cells, line_id: tuple[Any, ...], margin: CellKey, member: CellKey) -> None:
    cells.margins.setdefault(line_id, margin)
    cells.lines.setdefault(line_id, []).append(cells.index[member])


def _lines_of(
    cells: _Cells,
    kept: list[tuple[str, _Level]],
    name: tuple[int, ...],
    full_year: str,
    key: CellKey,
    bases: dict[str, _Base],
) -> None:
    """Record the cell in each line it belongs to (as a member; margins are looked up when
    the problem is built)."""
    # A margin: this table summed over one of its dimensions.
    for drop in range(len(kept)):
        rest = [k for i, k in enumerate(kept) if i != drop]
        rest_name = tuple(g for i, g in enumerate(name) if i != drop)
        margin = _canonical(rest, rest_name, full_year)
        _line(cells, ("sum", margin, kept[drop][1].name), margin, key)
    # A coarser level: a finest group within its group at each coarser level.
    for i, (b, lv) in enumerate(kept):
        if lv.name != bases[b].levels[0].name:
            continue
        for coarser in bases[b].levels[1:]:
            parent_kept = [*kept[:i], (b, coarser), *kept[i + 1 :]]
            parent_name = (*name[:i], int(coarser.of_finest[name[i]]), *name[i + 1 :])
            parent = _canonical(parent_kept, parent_name, full_year)
            _line(cells, ("level", parent, lv.name), parent, key)
    # The workers of a full year and the others make up everyone.
    if full_year != "all":
        everyone = _canonical(kept, name, "all")
        _line(cells, ("year", everyone), everyone, key)


def _changes(
    names: list[tuple[int, ...]],
    current: _Pairs,
    code: Ints,
    where: NDArray[np.bool_],
    previous: list[_Pairs],
    earlier_bases: list[dict[str, _Base]],
    groups_of: Any,
    kept: list[tuple[str, _Level]],
    full_year: str,
    n_contributors: int,
) -> dict[int, list[tuple[int, Floats]]]:
    """Per cell that changed since an earlier release, for each such release: how many
    contributors changed it, and per value the two largest absolute changes and their sum."""
    if not previous:
        return {}
    position = {tuple(_group_names(kept, n)): i for i, n in enumerate(names)}
    out: dict[int, list[tuple[int, Floats]]] = {}
    for pairs, base_map in zip(previous, earlier_bases, strict=True):
        # Earlier cells named by their groups (the earlier vocabulary may differ).
        e_where = _where(pairs, full_year)
        delta: dict[tuple[int, int], Floats] = {}
        for i, c, s in zip(code.tolist(), current.contributor[where].tolist(),
                           current.sums[where], strict=True):  # fmt: skip
            delta[(i, c)] = delta.get((i, c), 0) + s
        if e_where.any():
            e_groups = groups_of(pairs, base_map)
            e_levels = [next(x for x in base_map[b].levels if x.name == lv.name) for b, lv in kept]
            combined = [tuple(lv.groups[int(g[j])] for lv, g in zip(e_levels, e_groups,
                                                                     strict=True))
                        for j in np.flatnonzero(e_where)]  # fmt: skip
            for named, c, s in zip(combined, pairs.contributor[e_where].tolist(),
                                   pairs.sums[e_where], strict=True):  # fmt: skip
                i = position.get(named, -1)
                delta[(i, c)] = delta.get((i, c), 0) - s
        changed: dict[int, list[Floats]] = {}
        for (i, _), d in delta.items():
            if np.any(np.abs(d) > 1e-6):
                changed.setdefault(i, []).append(np.abs(d))
        for i, parts in changed.items():
            if i < 0:
                continue  # a cell gone from the new release: nothing published to compare
            stacked = np.sort(np.stack(parts), axis=0)[::-1]
            largest = np.zeros((3, 2))
            largest[:, : min(2, len(parts))] = stacked[:2].T
            total = stacked.sum(axis=0)
            out.setdefault(i, []).append((len(parts), np.column_stack([largest, total])))
    return out


def _group_names(kept: list[tuple[str, _Level]], name: tuple[int, ...]) -> list[str | None]:
    return [lv.groups[g] for (_, lv), g in zip(kept, name, strict=True)]


# --- rules and protection ------------------------------------------------------------------


def _primary(
    rules: DisclosureRules,
    n_contributors: int,
    values: list[float],
    largest: Floats,
    changes: list[tuple[int, Floats]],
) -> tuple[str | None, list[float]]:
    """The rule a cell fails and its protection levels (workers, monthly, annual)."""
    p = max(rules.p_percent, 1.0) / 100
    reason: str | None = None
    levels = [max(1.0, p * largest[0, 0]), p * largest[1, 0], p * largest[2, 0]]
    workers = values[0]
    if n_contributors < rules.min_enterprises:
        reason = disclosure.MIN_ENTERPRISES
    elif workers < rules.min_workers:
        reason = disclosure.MIN_WORKERS
    else:
        for j in (1, 2):
            x1, x2 = largest[j, 0], largest[j, 1]
            if values[j] - x1 - x2 < rules.p_percent / 100 * x1:
                reason = disclosure.P_PERCENT
                break
        if reason is None and rules.dominance_n is not None and rules.dominance_k is not None:
            for j in (1, 2):
                if largest[j, : rules.dominance_n].sum() > rules.dominance_k / 100 * values[j]:
                    reason = disclosure.DOMINANCE
                    break
    for changed, figures in changes:  # figures: (values, [x1, x2, total])
        unsafe = changed < rules.min_enterprises or any(
            figures[j, 2] - figures[j, 0] - figures[j, 1] < rules.p_percent / 100 * figures[j, 0]
            for j in (1, 2)
        )
        if unsafe:
            reason = reason or CHANGED
            levels = [max(a, max(1.0, p * figures[0, 0])) if j == 0 else max(a, p * figures[j, 0])
                      for j, a in enumerate(levels)]  # fmt: skip
    return reason, levels if reason else [0.0, 0.0, 0.0]


def _problem(
    cells: _Cells, rules: DisclosureRules
) -> tuple[protection.Problem, list[str | None], list[CellKey]]:
    """The cells, lines, rules and levels as the engine's problem; each cell's reason."""
    n = len(cells.values)
    values = np.array(cells.values, dtype=np.float64).reshape(n, len(VALUES))
    reasons: list[str | None] = []
    levels = np.zeros((n, len(VALUES)))
    for i in range(n):
        reason, level = _primary(rules, cells.contributors[i], cells.values[i],
                                 cells.largest[i], cells.changes[i])  # fmt: skip
        reasons.append(reason)
        levels[i] = level
    keys = list(cells.index)
    structural = np.array(
        [any(d in HIDDEN_LEVELS or (d == FULL_YEAR and v == "no") for d, v in k) for k in keys],
        dtype=bool,
    )
    lines = [
        [cells.index[cells.margins[line_id]], *members]
        for line_id, members in cells.lines.items()
        if cells.margins[line_id] in cells.index
    ]
    problem = protection.Problem(
        lines=lines,
        values=values,
        protection=levels,
        primary=np.array([r is not None for r in reasons], dtype=bool),
        structural=structural,
        cost=values[:, 0] + 1e-3 * np.arange(n) / max(n, 1),
    )
    return problem, reasons, keys


def protect_wages(
    columns: WageColumns,
    rules: DisclosureRules,
    min_months: int,
    earlier: Sequence[WageColumns] = (),
) -> Pattern:
    """The hidden cells of every table an analyst may ask of a release of ``columns``."""
    started = time.perf_counter()
    cells = _structure(columns, rules, min_months, earlier)
    built = time.perf_counter()
    problem, reasons, keys = _problem(cells, rules)
    structural = problem.structural
    n = len(keys)
    outcome = protection.protect(problem)
    hidden: dict[CellKey, str] = {}
    for i in np.flatnonzero(outcome.hidden & ~structural):
        hidden[keys[i]] = reasons[i] or disclosure.COMPLEMENTARY
    weighted = {
        keys[i]: WEIGHTED
        for i in range(n)
        if cells.weighted_unsafe[i] and not outcome.hidden[i] and not structural[i]
    }
    published = int((~structural).sum())
    summary = {
        "cells": published,
        "hidden": len(hidden),
        "primary": int((problem.primary & ~structural).sum()),
        "secondary": int(outcome.secondary.sum()),
        "unprotected": len(outcome.unprotected),
        "linear_programs": outcome.audited,
        "republished": outcome.republished,
        "lines": len(problem.lines),
        "structure_seconds": round(built - started, 3),
        "protection_seconds": round(time.perf_counter() - built, 3),
        "changed_since_release": sum(1 for r in hidden.values() if r == CHANGED),
    }
    return Pattern(hidden, weighted, summary)
