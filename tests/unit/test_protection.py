"""The joint protection engine: hand-made tables, and generated cities audited by an exact
linear program (scipy's HiGHS, one program per cell and direction) that shares nothing with
the engine's own witness search."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.optimize import linprog

from survey_service.analytics import protection, wage_structure
from survey_service.analytics.disclosure import DisclosureRules
from survey_service.analytics.wage_columns import ATTRIBUTES, WageColumns, select_rows


def intervals(
    problem: protection.Problem, hidden: NDArray[np.bool_], targets: Sequence[int]
) -> tuple[NDArray[np.float64], NDArray[np.float64], int]:
    """For each target (a hidden cell), the least and greatest value of each value column
    that the published cells and the lines allow; and the number of programs solved."""
    lows = np.zeros((len(targets), problem.values.shape[1]))
    highs = np.zeros_like(lows)
    position = {cell: i for i, cell in enumerate(targets)}
    solved = 0
    for group in protection._components(problem, hidden, targets):
        matrix, column = protection._component_system(problem, hidden, group)
        for j in range(problem.values.shape[1]):
            rhs = matrix @ problem.values[group, j]
            for cell in group:
                if cell not in position:
                    continue
                i = position[cell]
                objective = np.zeros(len(group))
                objective[column[cell]] = 1.0
                low = linprog(objective, A_eq=matrix, b_eq=rhs, bounds=(0, None), method="highs")
                high = linprog(-objective, A_eq=matrix, b_eq=rhs, bounds=(0, None), method="highs")
                solved += 2
                lows[i, j] = low.fun if low.status == 0 else problem.values[cell, j]
                highs[i, j] = -high.fun if high.status == 0 else np.inf
    return lows, highs, solved


def _two_by_two(primary_value: float) -> protection.Problem:
    # cells: 0..3 = a11 a12 a21 a22, 4 = row1, 5 = row2, 6 = col1, 7 = col2, 8 = total
    v = [primary_value, 50.0, 60.0, 70.0]
    values = [*v, v[0] + v[1], v[2] + v[3], v[0] + v[2], v[1] + v[3], sum(v)]
    lines = [[4, 0, 1], [5, 2, 3], [6, 0, 2], [7, 1, 3], [8, 4, 5], [8, 6, 7]]
    arr = np.array(values)[:, None]
    level = np.zeros((9, 1))
    level[0, 0] = 5.0
    primary = np.zeros(9, dtype=bool)
    primary[0] = True
    return protection.Problem(lines, arr, level, primary, np.zeros(9, dtype=bool), arr[:, 0])


def test_a_lone_primary_gets_a_rectangle_of_complements() -> None:
    problem = _two_by_two(40.0)
    outcome = protection.protect(problem)
    assert set(np.flatnonzero(outcome.hidden)) == {0, 1, 2, 3}
    lows, highs, _ = intervals(problem, outcome.hidden, [0])
    assert lows[0, 0] <= 40 - 5
    assert highs[0, 0] >= 40 + 5


def test_a_complement_too_small_to_absorb_the_level_is_not_enough() -> None:
    # The diagonal cell holds 3: moving the primary down by 5 would make it negative, so
    # the audit must find the rectangle too narrow and hide more.
    problem = _two_by_two(40.0)
    problem.values[3, 0] = 3.0
    problem.values[[5, 7], 0] = [63.0, 53.0]
    problem.values[8, 0] = 40 + 50 + 60 + 3
    outcome = protection.protect(problem)
    hidden = outcome.hidden
    lows, highs, _ = intervals(problem, hidden, [0])
    assert lows[0, 0] <= 35
    assert highs[0, 0] >= 45
    assert hidden.sum() > 4


def city(n_enterprises: int, seed: int, occupations: int = 6, districts: int = 3) -> WageColumns:
    rng = np.random.default_rng(seed)
    occ = [f"{m}-0{a}-0{b}-0{c}" for m in (2, 4, 6) for a in (1, 2) for b in (1, 2) for c in (1,)]
    occ = list(rng.choice(occ, occupations, replace=False))
    rows: dict[str, list[str]] = {a: [] for a in ATTRIBUTES}
    enterprise: list[int] = []
    months: list[int] = []
    annual: list[float] = []
    for e in range(n_enterprises):
        district = f"6102{rng.integers(0, districts):02d}"
        industry = str(rng.choice(["C30", "C31", "F47", "G53"]))
        size = str(rng.choice(["large", "medium", "small"]))
        own = rng.choice(occ, int(rng.integers(1, 4)))
        for _ in range(int(rng.integers(3, 60))):
            rows["occupation"].append(str(rng.choice(own)))
            rows["industry"].append(industry)
            rows["district"].append(district)
            rows["size_class"].append(size)
            rows["ownership"].append("")
            rows["education"].append(str(rng.choice(["20", "30"])))
            rows["skill_level"].append("")
            rows["job_level"].append("")
            enterprise.append(e + 1)
            months.append(12 if rng.random() < 0.85 else int(rng.integers(3, 12)))
            annual.append(float(round(rng.lognormal(11, 0.6 if e else 1.2))))
    vocab = {}
    codes = {}
    for a in ATTRIBUTES:
        u, inv = np.unique(np.array(rows[a], dtype=str), return_inverse=True)
        vocab[a] = u
        codes[a] = inv.ravel().astype(np.int32)
    ent = np.array(enterprise, dtype=np.int64)
    m = np.array(months, dtype=np.int8)
    pay = np.array(annual)
    return WageColumns(vocab, codes, ent, (ent - 1).astype(np.int32), m, pay, pay / m,
                       np.ones(len(ent)))  # fmt: skip


@pytest.mark.parametrize("seed", range(4))
def test_every_primary_cell_of_a_generated_city_keeps_its_interval(seed: int) -> None:
    """The exact audit (two programs per cell and value) on a sample of the primary cells,
    fewer for the larger cities: the engine's witnesses must hold for each of them."""
    columns = city(8 + 5 * seed, seed)
    rules = DisclosureRules()
    cells = wage_structure._structure(columns, rules, 12, [])
    problem, _, keys = wage_structure._problem(cells, rules)
    pattern = wage_structure.protect_wages(columns, rules, 12)
    hidden = problem.structural.copy()
    for i, key in enumerate(keys):
        if key in pattern.hidden:
            hidden[i] = True
    primaries = [int(i) for i in np.flatnonzero(problem.primary)]
    assert all(hidden[primaries])
    rng = np.random.default_rng(seed)
    primaries = sorted(rng.choice(primaries, min(len(primaries), 40), replace=False).tolist())
    lows, highs, _ = intervals(problem, hidden, primaries)
    value = problem.values[primaries]
    level = problem.protection[primaries]
    tolerance = 1e-6 * np.maximum(value, 1)
    assert np.all(highs >= value + level - tolerance)
    assert np.all(lows <= value - level + tolerance)


def test_the_pattern_does_not_depend_on_the_order_of_the_dimensions() -> None:
    key = (("district", "610201"), ("occupation_major", "2"))
    assert wage_structure.cell_key(["occupation_major", "district"], ("2", "610201"), "annual") == (
        *key, ("full_year", "yes"))  # fmt: skip
    assert wage_structure.cell_key(["district", "occupation_major"], ("610201", "2"), "annual") == (
        *key, ("full_year", "yes"))  # fmt: skip


def test_a_cell_changed_by_one_enterprise_since_the_last_release_is_withheld() -> None:
    before = city(14, 7)
    keep = before.enterprise != 14
    first = select_rows(before, keep)
    rules = DisclosureRules()
    old = wage_structure.protect_wages(first, rules, 12)
    new = wage_structure.protect_wages(before, rules, 12, [first])
    grand = (("full_year", "all"),)
    assert grand not in old.hidden
    assert new.hidden[grand] == wage_structure.CHANGED


def test_a_complement_the_lines_determine_is_published() -> None:
    # cells 0..2 = a b c, 3 = N = a + b, 4 = M = a + b + c; a is primary. The line of M
    # takes c (the cheapest), the line of N takes b: then c = M - N, withheld for nothing.
    values = np.array([[5.0], [20.0], [10.0], [25.0], [35.0]])
    level = np.zeros((5, 1))
    level[0, 0] = 2.0
    primary = np.array([True, False, False, False, False])
    problem = protection.Problem([[3, 0, 1], [4, 0, 1, 2]], values, level, primary,
                                 np.zeros(5, dtype=bool), values[:, 0])  # fmt: skip
    outcome = protection.protect(problem)
    assert set(np.flatnonzero(outcome.hidden)) == {0, 1}
    assert outcome.republished == 1
    lows, highs, _ = intervals(problem, outcome.hidden, [0, 1])
    assert lows[0, 0] <= 3
    assert highs[0, 0] >= 7
    assert highs[1, 0] > lows[1, 0]


def test_least_squares_tells_a_determined_cell_from_a_free_one() -> None:
    # a, b, c hidden: a + b = N and a + b + c = M give c, but only the sum a + b.
    problem = protection.Problem(
        [[3, 0, 1], [4, 0, 1, 2]],
        np.array([[5.0], [20.0], [10.0], [25.0], [35.0]]),
        np.zeros((5, 1)),
        np.zeros(5, dtype=bool),
        np.zeros(5, dtype=bool),
        np.ones(5),
    )
    hidden = np.array([True, True, True, False, False])
    assert protection._determined(problem, hidden, [0, 1, 2]) == [2]
