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
  published values and non-negativity; HiGHS, one model kept over the rounds, warm
  started); (3) a primary whose interval is too narrow gets one more complement on one of
  its lines, the smallest published cell that can absorb the shortfall; repeat until every
  primary is protected or nothing is left to hide; (4) a complement the lines determine
  (least squares certifies it) is published: hiding it would protect nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import highspy
import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]
TOLERANCE = 1e-6
# A complement that moves less than this share of its values is checked for being
# determined by the lines (then published).
SCREEN = 1e-4


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
    republished: int = 0  # complements found pinned by the rest, published after all


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
    from scipy.sparse import csr_matrix  # SciPy loads when a release is made, not at start

    return csr_matrix((data, (rows, cols)), shape=(len(line_ids), len(group))), column


class _Program:
    """One value column of every cell, in HiGHS: a published cell is fixed at its value, a
    hidden one is free above 0, and every line sums to 0. The first solve is cold (presolve
    and the dual simplex are ten times faster there); a new objective leaves the basis
    feasible (the primal simplex goes on from it); hiding cells widens bounds (the dual
    simplex repairs the basis)."""

    def __init__(self, lines: csr_matrix, values: Floats, hidden: Bools) -> None:
        self.highs = highspy.Highs()  # type: ignore[no-untyped-call]
        self.highs.setOptionValue("output_flag", False)
        self.values = values
        csc = lines.tocsc()
        lp = highspy.HighsLp()
        lp.num_col_ = lines.shape[1]
        lp.num_row_ = lines.shape[0]
        lp.col_cost_ = np.zeros(lines.shape[1])
        lp.col_lower_ = np.where(hidden, 0.0, values)
        lp.col_upper_ = np.where(hidden, highspy.kHighsInf, values)
        lp.row_lower_ = np.zeros(lines.shape[0])
        lp.row_upper_ = np.zeros(lines.shape[0])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = csc.indptr
        lp.a_matrix_.index_ = csc.indices
        lp.a_matrix_.value_ = csc.data
        self.highs.passModel(lp)
        self._strategy(cold=True)

    def _strategy(self, *, cold: bool, dual: bool = False) -> None:
        self.highs.setOptionValue("presolve", "on" if cold else "off")
        self.highs.setOptionValue("simplex_strategy", 1 if cold or dual else 4)

    def hide(self, cells: NDArray[np.int64]) -> None:
        if len(cells) == 0:
            return
        self.highs.changeColsBounds(
            len(cells), cells.astype(np.int32), np.zeros(len(cells)),
            np.full(len(cells), highspy.kHighsInf),
        )  # fmt: skip
        self._strategy(cold=False, dual=True)

    def extreme(self, cell: int, sign: float) -> Floats | None:
        """The deviation from the values that moves ``cell`` as far as it goes in
        direction ``sign`` (None when it goes without limit: the caller treats that as
        protected)."""
        self.highs.changeColCost(cell, -sign)
        self.highs.run()
        status = self.highs.getModelStatus()
        if status not in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kUnbounded):
            # A numerically hard basis: solve this one from scratch before giving up.
            self.highs.clearSolver()
            self._strategy(cold=True)
            self.highs.run()
            status = self.highs.getModelStatus()
        self.highs.changeColCost(cell, 0.0)
        self._strategy(cold=False)
        if status == highspy.HighsModelStatus.kUnbounded:
            return None
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"protection audit: HiGHS ended with {status}")
        deviation: Floats = np.asarray(self.highs.getSolution().col_value) - self.values
        return deviation


class Auditor:
    """The linear programs of one problem, kept while cells are hidden one round after
    another; values are scaled to at most 1 per column (pay totals of 1e9 upset the
    solver's tolerances otherwise)."""

    def __init__(self, problem: Problem, hidden: Bools) -> None:
        self.problem = problem
        self.hidden = hidden.copy()
        self.scale = np.maximum(problem.values.max(axis=0), 1.0)
        self.values = problem.values / self.scale
        rows: list[int] = []
        cols: list[int] = []
        data: list[float] = []
        for r, line in enumerate(problem.lines):
            for place, member in enumerate(line):
                rows.append(r)
                cols.append(member)
                data.append(-1.0 if place == 0 else 1.0)
        from scipy.sparse import csr_matrix

        self.lines = csr_matrix((data, (rows, cols)), shape=(len(problem.lines), problem.n_cells))
        self.programs: dict[int, _Program] = {}

    def hide(self, hidden: Bools) -> None:
        """Hidden cells from now on: ``hidden`` (a superset of those hidden before)."""
        new = np.flatnonzero(hidden & ~self.hidden)
        self.hidden |= hidden
        for program in self.programs.values():
            program.hide(new)

    def _program(self, j: int) -> _Program:
        if j not in self.programs:
            self.programs[j] = _Program(self.lines, self.values[:, j], self.hidden)
        return self.programs[j]

    def audit(self, targets: Sequence[int], levels: Floats | None = None) -> tuple[Bools, int]:
        """Which targets (hidden cells) keep their protection levels (``levels``, one row
        per target; by default the problem's) in every value column and both directions,
        and how many programs it took.

        A program pushes one cell as far as it goes. The deviation it finds is invisible
        to the published figures: it and its opposite, scaled as far as non-negativity
        lets them, are witnesses for every other cell they move far enough, in every value
        column, so most cells need no program of their own."""
        mine = np.asarray(targets, dtype=np.int64)
        ok = np.ones(len(mine), dtype=bool)
        wanted = self.problem.protection[mine] if levels is None else levels
        level = wanted / self.scale
        # open_[i, j, s]: target i still needs a witness for value j in direction s (+, -).
        open_ = np.repeat((level > 0)[:, :, None], 2, axis=2)
        solved = 0
        while open_.any():
            i, j, s = (int(x) for x in np.argwhere(open_)[0])
            cell = int(mine[i])
            sign = 1.0 if s == 0 else -1.0
            deviation = self._program(j).extreme(cell, sign)
            solved += 1
            open_[i, j, s] = False
            if deviation is None:  # no limit that way
                continue
            _cover(deviation, self.values, mine, level, open_)
            if sign * deviation[cell] < level[i, j] * (1 - 1e-9) - TOLERANCE:
                ok[i] = False
                open_[i, :, :] = False  # it fails: nothing more to prove for it
        return ok, solved


def _cover(
    direction: Floats, values: Floats, cells: NDArray[np.int64], level: Floats, open_: Bools
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
                moved = reach * ray[cells]  # inf * 0 is nan: that cell does not move
            moved = np.nan_to_num(moved, nan=0.0, posinf=np.inf, neginf=-np.inf)
            open_[moved >= level[:, j] * (1 - 1e-9), j, 0] = False
            open_[-moved >= level[:, j] * (1 - 1e-9), j, 1] = False


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


def _determined(problem: Problem, hidden: Bools, cells: Sequence[int]) -> list[int]:
    """The ``cells`` the lines fix: a cell's unit vector lies in the row space of the lines'
    equations over the hidden cells (least squares; a residual of 0 is a certificate)."""
    from scipy.sparse.linalg import lsqr

    fixed: list[int] = []
    wanted = set(cells)
    for group in _components(problem, hidden, cells):
        matrix, column = _component_system(problem, hidden, group)
        transposed = matrix.T.tocsr()
        for cell in group:
            if cell not in wanted:
                continue
            unit = np.zeros(len(group))
            unit[column[cell]] = 1.0
            result = lsqr(transposed, unit, atol=1e-12, btol=1e-12, iter_lim=20 * len(group))
            if result[3] < 1e-7:  # the residual norm
                fixed.append(cell)
    return fixed


def _pinned(problem: Problem, hidden: Bools, auditor: Auditor) -> list[int]:
    """Complements the published figures determine: withholding them protects nothing (the
    lines give them back), so they are published. The audit screens (a cell that moves
    is free), least squares decides the few that hardly move."""
    candidates = [int(i) for i in np.flatnonzero(hidden & ~problem.primary & ~problem.structural)]
    if not candidates:
        return []
    # The solver's tolerances are absolute (about 1e-7 of the largest cell): a small cell
    # that seems to move less than 1e-5 of the largest may be held still.
    screen = np.maximum(SCREEN * problem.values[candidates], 1e-5 * auditor.scale)
    ok, _ = auditor.audit(candidates, screen)
    return _determined(problem, hidden, [c for c, free in zip(candidates, ok, strict=True)
                                         if not free])  # fmt: skip


def _protect_reduced(problem: Problem, max_rounds: int) -> Outcome:
    hidden = problem.primary | problem.structural
    sensitive = problem.primary.copy()
    _settle_lines(problem, hidden, sensitive)
    auditor = Auditor(problem, hidden)
    verified = np.zeros(problem.n_cells, dtype=bool)
    unprotected: list[int] = []
    solved = 0
    for _ in range(max_rounds):
        # More hidden cells only widen intervals: what passed stays protected, so a round
        # audits what failed.
        pending = [int(i) for i in np.flatnonzero(hidden & ~verified & problem.primary)
                   if int(i) not in unprotected]  # fmt: skip
        if not pending:
            break
        auditor.hide(hidden)
        ok, n = auditor.audit(pending)
        solved += n
        verified[[c for c, good in zip(pending, ok, strict=True) if good]] = True
        changed = False
        for cell, good in zip(pending, ok, strict=True):
            if good:
                continue
            chosen = _complement_for(problem, hidden, cell, _need(problem, cell))
            if chosen is None:
                unprotected.append(cell)
                continue
            hidden[chosen] = True
            sensitive[chosen] = True
            changed = True
        _settle_lines(problem, hidden, sensitive)
        if not changed:
            break
    # Publishing a determined cell adds an equation the lines imply already: no interval
    # changes, so nothing needs auditing again.
    auditor.hide(hidden)
    pinned = _pinned(problem, hidden, auditor)
    hidden[pinned] = False
    secondary = hidden & ~problem.primary & ~problem.structural
    return Outcome(hidden, secondary, sorted(set(unprotected)), solved, len(pinned))


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
        unprotected, outcome.audited, outcome.republished,
    )  # fmt: skip
