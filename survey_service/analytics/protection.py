"""Joint secondary suppression of linked tables, with protection levels checked by linear
programming: the engine behind every release.

The problem is stated over cells and lines, whatever the tables are: a cell is a group of
workers with additive values (workers, total pay, ...); a line is one additive relation
``margin = sum(members)``, within a table (a margin and the cells it sums), between levels
of a hierarchy (a group and its subgroups) or between tables that share cells (each cell
appears once, so linked tables are one system). What an attacker knows is every published
cell's value, every line, and that values are not negative (SDC Handbook 4.4; the audit of
tau-ARGUS and sdcTable).

- A *primary* cell fails a rule (too few enterprises or workers, p%, dominance). It needs a
  *protection level* per value: however the published cells are combined, the value must
  stay free to lie anywhere in ``[v - level, v + level]`` (for p%, ``p/100 * x1``: the
  second largest contributor, subtracting its own share, must not estimate the largest
  within p%).
- A *structural* cell is never published (a part of a group no table shows, e.g. the
  workers of less than a full year, whose figures are the difference of two published
  ones): it is an unknown of the system, and primary when it fails a rule.
- Secondary suppression: (1) every line holding a single hidden cell gets a second one,
  chosen among its published cells that can absorb the primary's protection level and,
  among those, the cheapest (fewest workers, finest); (2) each primary cell's interval is
  computed by linear programming (min and max of the cell, subject to the lines, the
  published values and non-negativity; HiGHS through scipy) over the hidden cells linked
  to it; (3) a primary whose interval is too narrow gets one more complement on one of its
  lines, the smallest published cell that can absorb the shortfall; repeat until every
  primary is protected or nothing is left to hide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linprog
from scipy.sparse import csr_matrix

Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]
TOLERANCE = 1e-6


@dataclass(slots=True)
class Problem:
    """Cells and lines. ``values[i, j]`` is value ``j`` of cell ``i``; ``protection`` the
    levels needed (0 where none); ``cost`` orders complements (cheapest first)."""

    lines: list[list[int]]  # [margin, member, member, ...]
    values: Floats  # (cells, values)
    protection: Floats  # (cells, values)
    primary: Bools
    structural: Bools
    cost: Floats
    lines_of: list[list[int]] = field(init=False)

    def __post_init__(self) -> None:
        self.lines_of = [[] for _ in range(len(self.cost))]
        for n, line in enumerate(self.lines):
            for member in line:
                self.lines_of[member].append(n)

    @property
    def n_cells(self) -> int:
        return len(self.cost)


@dataclass(frozen=True, slots=True)
class Outcome:
    hidden: Bools  # primary, structural and secondary
    secondary: Bools
    unprotected: list[int]  # primary cells still short of their level (nothing left to hide)
    audited: int  # linear programs solved


def _components(problem: Problem, hidden: Bools, cells: Sequence[int]) -> list[list[int]]:
    """The hidden cells linked to each of ``cells`` through lines, grouped."""
    seen: dict[int, int] = {}
    groups: list[list[int]] = []
    for start in cells:
        if start in seen:
            continue
        group = [start]
        seen[start] = len(groups)
        stack = [start]
        while stack:
            cell = stack.pop()
            for n in problem.lines_of[cell]:
                for member in problem.lines[n]:
                    if hidden[member] and member not in seen:
                        seen[member] = len(groups)
                        group.append(member)
                        stack.append(member)
        groups.append(group)
    return groups


def _component_system(
    problem: Problem, hidden: Bools, group: list[int]
) -> tuple[csr_matrix, dict[int, int]]:
    """The lines through a group of hidden cells as equations over those cells."""
    column = {cell: j for j, cell in enumerate(group)}
    line_ids = sorted({n for cell in group for n in problem.lines_of[cell]})
    rows: list[int] = []
    cols: list[int] = []
    data: list[float] = []
    for r, n in enumerate(line_ids):
        for place, member in enumerate(problem.lines[n]):
            if hidden[member] and member in column:  # other hidden cells are held fixed
                rows.append(r)
                cols.append(column[member])
                data.append(-1.0 if place == 0 else 1.0)
    return csr_matrix((data, (rows, cols)), shape=(len(line_ids), len(group))), column


def intervals(
    problem: Problem, hidden: Bools, targets: Sequence[int]
) -> tuple[Floats, Floats, int]:
    """For each target (a hidden cell), the least and greatest value of each value column
    that the published cells and the lines allow; and the number of programs solved."""
    lows = np.zeros((len(targets), problem.values.shape[1]))
    highs = np.zeros_like(lows)
    position = {cell: i for i, cell in enumerate(targets)}
    solved = 0
    for group in _components(problem, hidden, targets):
        matrix, column = _component_system(problem, hidden, group)
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


class _Program:
    """One component's system for one value column, in HiGHS, re-solved with one objective
    after another (the basis carries over)."""

    def __init__(self, matrix: csr_matrix, rhs: Floats) -> None:
        self.highs = highspy.Highs()  # type: ignore[no-untyped-call]
        self.highs.setOptionValue("output_flag", False)
        self.highs.setOptionValue("presolve", "off")
        self.highs.setOptionValue("simplex_strategy", 4)  # primal: warm after a new objective
        lp = highspy.HighsLp()
        n = matrix.shape[1]
        lp.num_col_ = n
        lp.num_row_ = matrix.shape[0]
        lp.col_cost_ = np.zeros(n)
        lp.col_lower_ = np.zeros(n)
        lp.col_upper_ = np.full(n, highspy.kHighsInf)
        lp.row_lower_ = rhs
        lp.row_upper_ = rhs
        csc = matrix.tocsc()
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = csc.indptr
        lp.a_matrix_.index_ = csc.indices
        lp.a_matrix_.value_ = csc.data
        self.highs.passModel(lp)
        self.n = n

    def extreme(self, column: int, sign: float) -> Floats | None:
        """A solution that pushes ``column`` as far as it goes in direction ``sign``
        (None when it goes without limit: the caller treats that as protected)."""
        self.highs.changeColCost(column, -sign)
        self.highs.run()
        status = self.highs.getModelStatus()
        solution: Floats = np.array(self.highs.getSolution().col_value, dtype=np.float64)
        self.highs.changeColCost(column, 0.0)
        if status == highspy.HighsModelStatus.kUnbounded:
            return None
        if status != highspy.HighsModelStatus.kOptimal:
            # A numerically hard basis: solve this one from scratch before giving up.
            self.highs.clearSolver()
            self.highs.changeColCost(column, -sign)
            self.highs.setOptionValue("presolve", "on")
            self.highs.run()
            status = self.highs.getModelStatus()
            solution = np.array(self.highs.getSolution().col_value, dtype=np.float64)
            self.highs.changeColCost(column, 0.0)
            self.highs.setOptionValue("presolve", "off")
            if status == highspy.HighsModelStatus.kUnbounded:
                return None
            if status != highspy.HighsModelStatus.kOptimal:
                raise RuntimeError(f"protection audit: HiGHS ended with {status}")
        return solution


def _cover(
    direction: Floats, values: Floats, cols: NDArray[np.int64], level: Floats, open_: Bools
) -> None:
    """Close what ``direction`` (and its opposite) witnesses, in every value column:
    moved as far as non-negativity lets it, each cell that moves by its level is free to
    lie that far from its value, that way."""
    for j in range(values.shape[1]):
        for sign in (1.0, -1.0):
            ray = sign * direction
            falling = ray < -1e-12
            reach = np.min(values[falling, j] / -ray[falling]) if falling.any() else np.inf
            with np.errstate(invalid="ignore"):
                moved = reach * ray[cols]  # inf * 0 is nan: that cell does not move
            moved = np.nan_to_num(moved, nan=0.0, posinf=np.inf, neginf=-np.inf)
            open_[moved >= level[:, j] * (1 - 1e-9), j, 0] = False
            open_[-moved >= level[:, j] * (1 - 1e-9), j, 1] = False


def audit(problem: Problem, hidden: Bools, targets: Sequence[int]) -> tuple[Bools, int]:
    """Which targets (hidden cells) keep their protection levels in every value column and
    both directions, and how many programs it took.

    A program pushes one cell as far as its component lets it. A solution minus the true
    values is a direction the published figures cannot see: it and its
    opposite, scaled as far as non-negativity lets them, are witnesses for every other cell
    they move far enough, in every value column, so most cells need no program of their own.
    """
    ok = np.ones(len(targets), dtype=bool)
    position = {cell: i for i, cell in enumerate(targets)}
    solved = 0
    for group in _components(problem, hidden, targets):
        column = {cell: j for j, cell in enumerate(group)}
        mine = np.array([c for c in group if c in position], dtype=np.int64)
        cols = np.array([column[c] for c in mine], dtype=np.int64)
        # Scaled to at most 1 per value column: pay totals of 1e9 upset the solver's
        # tolerances otherwise.
        scale = np.maximum(problem.values[group].max(axis=0), 1.0)
        values = problem.values[group] / scale  # (group, values)
        level = problem.protection[mine] / scale
        # open_[i, j, s]: cell i still needs a witness for value j in direction s (+, -).
        open_ = np.repeat((level > 0)[:, :, None], 2, axis=2)
        whole: dict[int, _Program] = {}
        matrix: csr_matrix | None = None
        while open_.any():
            i, j, s = (int(x) for x in np.argwhere(open_)[0])
            cell = int(mine[i])
            sign = 1.0 if s == 0 else -1.0
            if matrix is None:
                matrix, _ = _component_system(problem, hidden, group)
            program = whole.get(j)
            if program is None:
                program = whole[j] = _Program(matrix, matrix @ values[:, j])
            solution = program.extreme(column[cell], sign)
            solved += 1
            proven = True
            if solution is None:  # no limit that way
                open_[i, j, s] = False
            else:
                direction = solution - values[:, j]
                _cover(direction, values, cols, level, open_)
                proven = sign * direction[column[cell]] >= level[i, j] * (1 - 1e-9) - TOLERANCE
                open_[i, j, s] = False
            if not proven:
                ok[position[cell]] = False
                open_[i, :, :] = False  # it fails: nothing more to prove for it
    return ok, solved


def _need(problem: Problem, cell: int) -> float:
    return float(problem.protection[cell].max())


def _settle_lines(problem: Problem, hidden: Bools, sensitive: Bools) -> None:
    """Hide cells until no line holds exactly one hidden cell that matters: a sensitive
    cell (primary, or hidden to protect one) alone in a line would be its margin minus the
    published rest."""
    count = np.zeros(len(problem.lines), dtype=np.int64)
    for n, line in enumerate(problem.lines):
        count[n] = int(hidden[line].sum())
    queue = [n for n in range(len(problem.lines)) if count[n] == 1]
    while queue:
        n = queue.pop()
        if count[n] != 1:
            continue
        line = problem.lines[n]
        lonely = next(m for m in line if hidden[m])
        if not sensitive[lonely]:
            continue
        need = problem.protection[lonely]
        candidates = [m for m in line if not hidden[m]]
        if not candidates:
            continue
        able = [m for m in candidates if np.all(problem.values[m] >= need - TOLERANCE)]
        chosen = min(able or candidates, key=lambda m: (problem.cost[m], m))
        hidden[chosen] = True
        sensitive[chosen] = True
        for k in problem.lines_of[chosen]:
            count[k] += 1
            if count[k] == 1:
                queue.append(k)


def _complement_for(problem: Problem, hidden: Bools, cell: int, shortfall: float) -> int | None:
    """A published cell to hide next: on ``cell``'s own lines if any is left, else on the
    lines of the hidden cells linked to it, nearest first; the cheapest that can absorb
    the shortfall, else the largest."""
    seen = {cell}
    frontier = [cell]
    while frontier:
        candidates: set[int] = set()
        step: list[int] = []
        for c in frontier:
            for n in problem.lines_of[c]:
                for m in problem.lines[n]:
                    if not hidden[m]:
                        candidates.add(m)
                    elif m not in seen:
                        seen.add(m)
                        step.append(m)
        if candidates:
            able = [m for m in candidates if problem.values[m].max() >= shortfall - TOLERANCE]
            if able:
                return min(able, key=lambda m: (problem.cost[m], m))
            return max(candidates, key=lambda m: (problem.values[m].max(), -m))
        frontier = step
    return None


def _protect_reduced(problem: Problem, max_rounds: int) -> Outcome:
    hidden = problem.primary | problem.structural
    sensitive = problem.primary.copy()
    _settle_lines(problem, hidden, sensitive)
    primaries = [int(i) for i in np.flatnonzero(problem.primary)]
    pending = list(primaries)
    unprotected: list[int] = []
    solved = 0
    for _ in range(max_rounds):
        if not pending:
            break
        ok, n = audit(problem, hidden, pending)
        solved += n
        failing = [(cell, _need(problem, cell)) for cell, good in zip(pending, ok, strict=True)
                   if not good]  # fmt: skip
        if not failing:
            break
        changed = False
        for cell, shortfall in failing:
            chosen = _complement_for(problem, hidden, cell, float(shortfall))
            if chosen is None:
                unprotected.append(cell)
                continue
            hidden[chosen] = True
            sensitive[chosen] = True
            changed = True
        _settle_lines(problem, hidden, sensitive)
        # More hidden cells only widen intervals: what passed stays protected, so only the
        # failing cells are audited again.
        pending = [c for c, _ in failing if c not in unprotected]
        if not changed:
            break
    secondary = hidden & ~problem.primary & ~problem.structural
    return Outcome(hidden, secondary, sorted(set(unprotected)), solved)


def _equal_cells(problem: Problem) -> NDArray[np.int64]:
    """Per cell, the first cell of its class of cells that lines say are equal (a line with
    a single member: the same workers under two names, such as a detailed occupation and
    the code as reported)."""
    parent = np.arange(problem.n_cells)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = int(parent[i])
        return i

    for line in problem.lines:
        if len(line) == 2:
            a, b = root(line[0]), root(line[1])
            if a != b:
                parent[max(a, b)] = min(a, b)
    out: NDArray[np.int64] = np.array([root(i) for i in range(problem.n_cells)], dtype=np.int64)
    return out


def protect(problem: Problem, *, max_rounds: int = 10_000) -> Outcome:
    """The hidden cells: primary and structural ones and enough complements that every
    primary cell keeps its protection levels against the whole system of lines. Cells the
    lines make equal are one cell: hidden or published together."""
    first = _equal_cells(problem)
    classes, rep = np.unique(first, return_inverse=True)
    rep = rep.ravel()
    k = len(classes)
    primary = np.zeros(k, dtype=bool)
    np.logical_or.at(primary, rep, problem.primary)
    published = np.zeros(k, dtype=bool)
    np.logical_or.at(published, rep, ~problem.structural)
    level = np.zeros((k, problem.values.shape[1]))
    np.maximum.at(level, rep, problem.protection)
    cost = np.full(k, np.inf)
    np.minimum.at(cost, rep, problem.cost)
    lines: list[list[int]] = []
    seen: set[tuple[int, ...]] = set()
    for line in problem.lines:
        mapped = [int(rep[m]) for m in line]
        members = sorted(set(mapped[1:]) - {mapped[0]})
        if not members:
            continue
        signature = (mapped[0], *members)
        if signature not in seen:
            seen.add(signature)
            lines.append([mapped[0], *members])
    reduced = Problem(
        lines=lines,
        values=problem.values[classes],
        protection=level,
        primary=primary,
        structural=~published,
        cost=cost,
    )
    outcome = _protect_reduced(reduced, max_rounds)
    unprotected = sorted({int(i) for c in outcome.unprotected for i in np.flatnonzero(rep == c)})
    return Outcome(
        outcome.hidden[rep], outcome.secondary[rep] & ~problem.primary & ~problem.structural,
        unprotected, outcome.audited,
    )  # fmt: skip
