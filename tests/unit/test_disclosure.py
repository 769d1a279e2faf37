"""Disclosure control: thresholds, the p% and dominance rules, groups counted as one
contributor, complementary suppression, and that no suppressed figure can be derived from
a table's published cells and margins."""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey_service.analytics.disclosure import (
    ALL,
    DisclosureRules,
    Key,
    complementary_suppression,
    contributions,
    primary_reasons,
    recoverable,
    table_lines,
)


def _reasons(rules: DisclosureRules, cells: list[dict[int, list[float]]]) -> list[str | None]:
    """Primary reasons for cells given as {contributor: [pay of each worker]}."""
    largest = np.zeros((len(cells), rules.top))
    for i, cell in enumerate(cells):
        totals = sorted((sum(v) for v in cell.values()), reverse=True)[: rules.top]
        largest[i, : len(totals)] = totals
    return primary_reasons(
        rules,
        np.array([len(c) for c in cells]),
        np.array([sum(len(v) for v in c.values()) for c in cells]),
        np.array([sum(sum(v) for v in c.values()) for c in cells]),
        largest,
    )


def test_defaults_are_three_enterprises_ten_workers_and_p_ten() -> None:
    rules = DisclosureRules.from_settings(None)
    assert (rules.min_enterprises, rules.min_workers, rules.p_percent) == (3, 10, 10.0)
    assert rules.as_dict()["dominance"] is None


def test_settings_override_the_defaults_and_nonsense_is_refused() -> None:
    rules = DisclosureRules.from_settings({"min_workers": 20, "dominance": {"n": 2, "k": 85}})
    assert (rules.min_workers, rules.dominance_n, rules.dominance_k, rules.top) == (20, 2, 85, 2)
    for bad in ({"min_workers": 0}, {"dominance": {"n": 2, "k": 120}}, {"p_pct": 10}):
        with pytest.raises(ValueError):
            DisclosureRules.from_settings(bad)


def test_thresholds_on_enterprises_and_workers() -> None:
    rules = DisclosureRules()
    even = [50_000.0] * 4
    assert _reasons(rules, [{1: even, 2: even}]) == ["min_enterprises"]
    assert _reasons(rules, [{1: even[:3], 2: even[:3], 3: even[:3]}]) == ["min_workers"]
    assert _reasons(rules, [{1: even, 2: even, 3: even[:2]}]) == [None]


def test_p_percent_rule_on_the_two_largest_contributions() -> None:
    rules = DisclosureRules()
    # x1 = 400,000, x2 = 20,000: the rest, 40,000, is 10% of x1: safe; a little less is
    # not (the second largest could estimate x1 to within 10%).
    safe = {1: [100_000.0] * 4, 2: [5_000.0] * 4, 3: [5_000.0] * 4, 4: [5_000.0] * 4}
    unsafe = {1: [100_000.0] * 4, 2: [5_000.0] * 4, 3: [5_000.0] * 4,
              4: [5_000.0] * 3 + [4_999.75]}  # fmt: skip
    assert _reasons(rules, [safe, unsafe]) == [None, "p_percent"]
    relaxed = DisclosureRules(p_percent=5)
    assert _reasons(relaxed, [unsafe]) == [None]


def test_dominance_rule_when_configured() -> None:
    rules = DisclosureRules(p_percent=0, dominance_n=2, dominance_k=85)
    dominated = {1: [60_000.0] * 5, 2: [30_000.0] * 5, 3: [2_000.0] * 5, 4: [2_000.0] * 5}
    spread = {n: [30_000.0] * 5 for n in range(1, 5)}
    assert _reasons(rules, [dominated, spread]) == ["dominance", None]
    assert _reasons(DisclosureRules(p_percent=0), [dominated]) == [None]


def test_contributions_fold_the_enterprises_of_one_group() -> None:
    # Workers of enterprises 0, 1 (both group 0) and 2 (group 1) in one cell.
    cell = np.zeros(5, dtype=np.int64)
    contributor = np.array([0, 0, 0, 1, 1])
    pay = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    shares = contributions(cell, 1, contributor, 2, pay, top=2)
    assert list(shares.n_contributors) == [1 + 1]
    assert list(shares.largest[0]) == [90.0, 60.0]


def test_one_small_cell_takes_the_smallest_other_cell_with_it() -> None:
    keys: list[Key] = [("a",), ("b",), ("c",), (ALL,)]
    added = complementary_suppression(keys, [3, 40, 25, 68], [True, False, False, False])
    assert added == [False, False, True, False]


def test_two_way_table_keeps_every_line_at_zero_or_two() -> None:
    rows, cols = ("r1", "r2", "r3", ALL), ("c1", "c2", "c3", ALL)
    keys: list[Key] = [(r, c) for r in rows for c in cols]
    workers = [30, 40, 50, 120, 35, 45, 55, 135, 5, 60, 70, 135, 70, 145, 175, 390]
    primary = [k == ("r3", "c1") for k in keys]
    hidden = [
        p or a
        for p, a in zip(primary, complementary_suppression(keys, workers, primary), strict=True)
    ]
    for line in table_lines(keys):
        assert sum(hidden[m] for m in line) != 1
    assert sum(hidden) == 4  # the classic rectangle: r3c1, r3c2, r1c1, r1c2
    assert not recoverable(table_lines(keys), hidden)


def test_a_cell_bridging_two_suppressed_rectangles_is_found_and_covered() -> None:
    """Rectangles {r1,r2}x{c1,c2} and {r3,r4}x{c3,c4} plus r1c3: every line has 0 or >= 2
    suppressed cells, yet r1c3 follows from the row and column sums."""
    rows, cols = ("r1", "r2", "r3", "r4", ALL), ("c1", "c2", "c3", "c4", ALL)
    keys: list[Key] = [(r, c) for r in rows for c in cols]
    pattern = {("r1", "c1"), ("r1", "c2"), ("r2", "c1"), ("r2", "c2"), ("r3", "c3"),
               ("r3", "c4"), ("r4", "c3"), ("r4", "c4"), ("r1", "c3")}  # fmt: skip
    hidden = [k in pattern for k in keys]
    lines = table_lines(keys)
    assert all(sum(hidden[m] for m in line) != 1 for line in lines)
    assert recoverable(lines, hidden) == [keys.index(("r1", "c3"))]
    assert recoverable(lines, hidden, two_way=True) == [keys.index(("r1", "c3"))]
    added = complementary_suppression(keys, [10] * len(keys), hidden)
    final = [h or a for h, a in zip(hidden, added, strict=True)]
    assert not recoverable(lines, final)


def _determined(equations: list[dict[int, int]], unknowns: list[int]) -> set[int]:
    """The unknowns fixed by the equations: exact elimination over the rationals (an
    attacker's computation, independent of the module's SVD)."""
    index = {u: j for j, u in enumerate(unknowns)}
    matrix = [[Fraction(0)] * len(unknowns) for _ in equations]
    for row, eq in enumerate(equations):
        for cell, coefficient in eq.items():
            if cell in index:
                matrix[row][index[cell]] = Fraction(coefficient)

    def rank(rows: list[list[Fraction]]) -> int:
        rows = [r[:] for r in rows]
        r = 0
        for c in range(len(unknowns)):
            pivot = next((i for i in range(r, len(rows)) if rows[i][c] != 0), None)
            if pivot is None:
                continue
            rows[r], rows[pivot] = rows[pivot], rows[r]
            for i in range(len(rows)):
                if i != r and rows[i][c] != 0:
                    factor = rows[i][c] / rows[r][c]
                    rows[i] = [a - factor * b for a, b in zip(rows[i], rows[r], strict=True)]
            r += 1
        return r

    base = rank(matrix)
    found = set()
    for u, j in index.items():
        unit = [Fraction(int(k == j)) for k in range(len(unknowns))]
        if rank([*matrix, unit]) == base:
            found.add(u)
    return found


workers_strategy = st.lists(
    st.tuples(
        st.integers(0, 7),  # enterprise
        st.integers(0, 3),  # row
        st.integers(0, 3),  # column
        st.integers(20_000, 200_000),  # pay
    ),
    min_size=1,
    max_size=90,
)


# Derandomized, as the other property tests: CI runs the same examples each time. (A random
# run found a pattern where every line through a hidden cell was hidden whole and other
# lines still gave it back; complementary_suppression now hides one more cell then.)
@settings(max_examples=300, deadline=None, derandomize=True)
@given(workers_strategy, st.sampled_from([(3, 10), (2, 4), (3, 5)]))
def test_no_suppressed_cell_can_be_derived_from_published_cells_and_margins(
    workers: list[tuple[int, int, int, int]], thresholds: tuple[int, int]
) -> None:
    rules = DisclosureRules(min_enterprises=thresholds[0], min_workers=thresholds[1])
    cells: dict[Key, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for enterprise, r, c, pay in workers:
        for key in ((f"r{r}", f"c{c}"), (f"r{r}", ALL), (ALL, f"c{c}"), (ALL, ALL)):
            cells[key][enterprise].append(float(pay))
    keys = list(cells)
    reasons = _reasons(rules, [cells[k] for k in keys])
    n_workers = [sum(len(v) for v in cells[k].values()) for k in keys]
    primary = [r is not None for r in reasons]
    added = complementary_suppression(keys, n_workers, primary)
    hidden = [p or a for p, a in zip(primary, added, strict=True)]
    assert all(hidden[i] for i, p in enumerate(primary) if p)
    # The attacker's equations: each margin is the sum of its cells (both for counts and
    # for totals), with the published cells' values known.
    equations: list[dict[int, int]] = []
    for key in keys:
        for d in (0, 1):
            if key[d] != ALL:
                continue
            children = [i for i, k in enumerate(keys) if k[d] != ALL and k[1 - d] == key[1 - d]]
            equations.append({keys.index(key): -1} | dict.fromkeys(children, 1))
    suppressed = [i for i, h in enumerate(hidden) if h]
    assert not _determined(equations, suppressed)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    st.integers(1, 5),
    st.integers(1, 5),
    st.lists(st.booleans(), min_size=36, max_size=36),
)
def test_bridges_and_svd_agree_on_two_way_tables(
    n_rows: int, n_cols: int, pattern: list[bool]
) -> None:
    rows = [f"r{i}" for i in range(n_rows)] + [ALL]
    cols = [f"c{j}" for j in range(n_cols)] + [ALL]
    keys: list[Key] = [(r, c) for r in rows for c in cols]
    hidden = pattern[: len(keys)]
    lines = table_lines(keys)
    assert recoverable(lines, hidden, two_way=True) == recoverable(lines, hidden)
    one_way: list[Key] = [(r,) for r in rows]
    line = table_lines(one_way)
    assert recoverable(line, hidden[: len(rows)], two_way=True) == recoverable(
        line, hidden[: len(rows)]
    )
