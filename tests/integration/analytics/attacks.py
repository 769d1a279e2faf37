"""An analyst's attack on a wage release: download every table the release answers, key
every cell canonically, and see what the published figures tell about the hidden ones.

The attacker is written from docs/disclosure.md, not from the engine:

- **Tables** (``allowed_tables``): every set of at most two dimensions, at most one level of
  occupation and of industry, the one-way-only dimensions alone, the grand total; both
  measures. A filter is a dimension of the table (``by=a&b=v`` is the ``{a, b}`` table's
  slice), so filtered slices add no new cell but must agree with the whole table.
- **Cells** (``CellKey``): a set of (dimension, group) pairs (a margin drops the dimension;
  ``None`` is the "not stated" group) and a population: ``full`` (workers with a full
  year, the annual tables), ``all`` (everyone, the monthly tables) and ``part`` (the
  part-year workers, their difference: never published, an unknown of the system).
- **Unknowns**: workers and total pay of every hidden cell (total = mean * n_workers;
  annual totals in yuan a year, monthly totals as sums of yuan a month), the part-year
  cells, and for the industry hierarchy the workers of a section whose division is not
  stated.
- **Equations** (``System``), for workers and pay alike: a margin equals the sum of its
  cells; a level of occupation equals the sum of the reported occupations under it (the
  reported code is the finest occupation; a code coarser than the level falls in the
  level's "not stated" group); an industry section equals the sum of its divisions plus
  its workers without a division, whose sum over sections is the "not stated" division;
  everyone = full year + part year (pay: 12 * monthly total = annual total + 12 * part-year
  monthly total, when a full year is 12 months). An equation is written only over a table
  the attacker downloaded whole: absent rows are empty cells.

Then ``determined`` (exact recovery: a target's unknown part in the row space of the
equations restricted to the unknowns, by SVD per connected group of unknowns) and
``interval`` (the linear programme: min and max of a target under the equations and
nonnegativity, scipy HiGHS). Targets are linear forms over the variables, so one release's
cells and the difference of two releases' cells are asked alike.

``Truth`` recomputes every cell (with each contributor's share) from the worker rows, for
the checks that need the true values (x1 of the p% rule, one enterprise's contribution).
"""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import httpx
import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, csr_matrix, vstack
from scipy.sparse.csgraph import connected_components

from survey_service.reference.codes import industries

OCCUPATION_LEVELS = {
    "occupation_major": 1,
    "occupation_middle": 4,
    "occupation_minor": 7,
    "occupation_detailed": 10,
}
OCCUPATIONS = ("occupation", *OCCUPATION_LEVELS)
INDUSTRIES = ("industry", "industry_division")
CROSSED = (*OCCUPATIONS, *INDUSTRIES, "district", "size_class")
ONE_WAY_ONLY = ("ownership", "education", "skill_level", "job_level")
MEASURES = ("annual", "monthly")
POPULATION = {"annual": "full", "monthly": "all"}
# A filter parameter per dimension (the filter's value picks the level).
FILTER_PARAMETER = {
    **dict.fromkeys(OCCUPATION_LEVELS, "occupation"),
    **dict.fromkeys(INDUSTRIES, "industry"),
    "district": "district",
    "size_class": "size_class",
}
PRIME = 2_305_843_009_213_693_951  # 2**61 - 1
ROUNDING = 0.005  # published means have two decimals
# The reasons whose protection level is T +- p% of x1 over the cell's own contributions
# (a cell changed since an earlier release is protected for the change, not checked here).
PRIMARY_REASONS = ("min_enterprises", "min_workers", "p_percent", "dominance")

Group = str | None
Cell = frozenset[tuple[str, Group]]
CellKey = tuple[Cell, str]  # (groups, population)
Var = tuple[Any, ...]  # ("cell", tag, CellKey) or ("latent", tag, ...)
Table = tuple[str, ...]  # a sorted set of dimensions


def allowed_tables() -> list[Table]:
    """Every table an analyst may ask of a wage release (a sorted tuple of dimensions)."""
    out: list[Table] = [()]
    out += [(d,) for d in (*CROSSED, *ONE_WAY_ONLY)]
    for a, b in itertools.combinations(CROSSED, 2):
        if {a, b} <= set(OCCUPATIONS) or {a, b} <= set(INDUSTRIES):
            continue
        out.append(tuple(sorted((a, b))))
    return out


def cell_var(tag: Any, key: CellKey) -> Var:
    return ("cell", tag, key)


def cell_key(row: Mapping[str, Any], dims: Iterable[str], population: str) -> CellKey:
    """The canonical key of a row: its groups (margins dropped) and its population."""
    return frozenset((d, row[d]) for d in dims if row[d] != "*"), population


def describe(key: CellKey) -> str:
    groups, population = key
    inner = ", ".join(f"{d}={v}" for d, v in sorted(groups, key=lambda p: p[0])) or "total"
    return f"[{inner}; {population}]"


# --------------------------------------------------------------------------- observations


@dataclass(frozen=True, slots=True)
class Published:
    workers: int
    total: float  # mean * workers
    slack: float  # how far the true total may be from ``total`` (the mean's rounding)
    row: dict[str, Any]


FIGURES = ("n_enterprises", "n_workers", "p10", "p25", "p50", "p75", "p90", "mean")


def figures(seen: Published) -> tuple[Any, ...]:
    return tuple(seen.row.get(name) for name in FIGURES)


@dataclass
class Observations:
    """What an analyst saw: per (tag, cell) the published figures or ``None`` (hidden),
    and which whole tables were downloaded (a table's absent rows are empty cells)."""

    cells: dict[tuple[Any, CellKey], Published | None] = field(default_factory=dict)
    complete: set[tuple[Any, Table, str]] = field(default_factory=set)  # (tag, dims, pop)
    conflicts: list[str] = field(default_factory=list)
    reasons: dict[tuple[Any, CellKey], str | None] = field(default_factory=dict)
    downloads: int = 0

    def add(
        self,
        tag: Any,
        dims: Sequence[str],
        measure: str,
        rows: Iterable[Mapping[str, Any]],
        *,
        whole: bool = True,
    ) -> None:
        """One download (``whole``: the whole table; False: a filtered slice)."""
        population = POPULATION[measure]
        self.downloads += 1
        if whole:  # a table holds its margins: every coarser table is whole too
            for size in range(len(dims) + 1):
                for kept in itertools.combinations(sorted(dims), size):
                    self.complete.add((tag, kept, population))
        for row in rows:
            key = cell_key(row, dims, population)
            seen: Published | None
            if row["suppressed"]:
                seen = None
            else:
                n = int(row["n_workers"])
                seen = Published(n, float(row["mean"]) * n, ROUNDING * n, dict(row))
            self.reasons.setdefault((tag, key), row.get("suppression_reason"))
            before = self.cells.get((tag, key), "absent")
            if before == "absent":
                self.cells[(tag, key)] = seen
            elif (before is None) != (seen is None) or (
                before is not None and seen is not None and figures(before) != figures(seen)
            ):
                self.conflicts.append(
                    f"release {tag}: {describe(key)} differs between downloads "
                    f"(by {list(dims)}, {measure})"
                )
                if seen is not None:  # the attacker keeps what was published anywhere
                    self.cells[(tag, key)] = seen

    def hidden(self, tag: Any) -> set[CellKey]:
        return {key for (t, key), seen in self.cells.items() if t == tag and seen is None}

    def published(self, tag: Any) -> dict[CellKey, Published]:
        return {key: seen for (t, key), seen in self.cells.items() if t == tag and seen}

    def tags(self) -> set[Any]:
        return {t for t, _ in self.cells}


# --------------------------------------------------------------------------- dimensions


@cache
def section_of_division() -> dict[str, str]:
    return {
        code: industry.parent
        for code, industry in industries().items()
        if industry.level == "division" and industry.parent
    }


def level_group(level: str, reported: Group) -> Group:
    """The occupation group of a reported code at ``level`` (None: coarser or not stated)."""
    if reported is None:
        return None
    length = OCCUPATION_LEVELS[level]
    if level == "occupation_detailed":
        return reported if len(reported) == 10 else None
    return reported[:length] if len(reported) >= length else None


def industry_groups(code: str | None) -> tuple[Group, Group]:
    """(section, division) of a stored industry code, as the tables group it."""
    if not code:
        return None, None
    if code[0] >= "A":
        return code[0], (code[1:3] or None)
    return section_of_division().get(code[:2]), code[:2]


# --------------------------------------------------------------------------- the system


@dataclass(frozen=True, slots=True)
class Equation:
    """sum(coefficient * variable) = 0, for workers and for pay (None: no pay relation)."""

    workers: dict[Var, float]
    pay: dict[Var, float] | None


@dataclass
class System:
    """The attacker's linear system over every downloaded release (tags)."""

    observations: Observations
    full_year_months: int = 12
    equations: list[Equation] = field(default_factory=list)
    variables: set[Var] = field(default_factory=set)
    _structures: dict[str, Structure] = field(default_factory=dict)

    @classmethod
    def build(cls, observations: Observations, full_year_months: int = 12) -> System:
        system = cls(observations, full_year_months)
        for tag in sorted(observations.tags(), key=str):
            system._release(tag)
        return system

    # --- equations of one release

    def _cells(self, tag: Any) -> dict[tuple[Table, str], list[Cell]]:
        by_table: dict[tuple[Table, str], list[Cell]] = defaultdict(list)
        for t, (groups, population) in self.observations.cells:
            if t == tag:
                by_table[(tuple(sorted(d for d, _ in groups)), population)].append(groups)
        return by_table

    def _add(self, workers: dict[Var, float], pay: dict[Var, float] | None = None) -> None:
        self.equations.append(Equation(workers, workers if pay is None else pay))
        self.variables.update(workers)

    def _release(self, tag: Any) -> None:
        complete = self.observations.complete
        tables = self._cells(tag)
        for (dims, population), cells in tables.items():
            if (tag, dims, population) not in complete:
                continue
            present = set(cells)
            for groups in cells:
                self.variables.add(cell_var(tag, (groups, population)))
            # Margins: a cell of a coarser complete table is the sum of its finer cells.
            for d in dims:
                coarser = tuple(x for x in dims if x != d)
                if (tag, coarser, population) not in complete:
                    continue
                lines: dict[Cell, list[Cell]] = defaultdict(list)
                for groups in present:
                    lines[frozenset(p for p in groups if p[0] != d)].append(groups)
                margins = {g for g in tables.get((coarser, population), [])}
                for margin in margins | set(lines):
                    self._add(self._sum(tag, population, margin, lines.get(margin, [])))
            self._hierarchy(tag, dims, population, present, complete)
        self._populations(tag, tables, complete)

    def _sum(
        self, tag: Any, population: str, total: Cell, parts: Iterable[Cell]
    ) -> dict[Var, float]:
        equation: dict[Var, float] = {cell_var(tag, (total, population)): -1.0}
        for part in parts:
            equation[cell_var(tag, (part, population))] = 1.0
        return equation

    def _hierarchy(
        self, tag: Any, dims: Table, population: str, present: set[Cell],
        complete: set[tuple[Any, Table, str]],
    ) -> None:  # fmt: skip
        # Occupation: every level's group is the sum of the reported codes under it.
        if "occupation" in dims:
            context_dims = tuple(d for d in dims if d != "occupation")
            for level in OCCUPATION_LEVELS:
                level_dims = tuple(sorted((*context_dims, level)))
                if (tag, level_dims, population) not in complete:
                    continue
                parts: dict[Cell, list[Cell]] = defaultdict(list)
                for groups in present:
                    reported = dict(groups)["occupation"]
                    context = frozenset(p for p in groups if p[0] != "occupation")
                    parts[context | {(level, level_group(level, reported))}].append(groups)
                level_cells = set(self._cells(tag).get((level_dims, population), []))
                for parent in level_cells | set(parts):
                    self._add(self._sum(tag, population, parent, parts.get(parent, [])))
        # Industry: section = its divisions + its workers without a division (latent).
        if "industry_division" in dims:
            context_dims = tuple(d for d in dims if d != "industry_division")
            section_dims = tuple(sorted((*context_dims, "industry")))
            if (tag, section_dims, population) not in complete:
                return
            sections = self._cells(tag).get((section_dims, population), [])
            by_context: dict[Cell, dict[Group, list[Cell]]] = defaultdict(lambda: defaultdict(list))
            unstated: dict[Cell, Cell] = {}
            for groups in present:
                division = dict(groups)["industry_division"]
                context = frozenset(p for p in groups if p[0] != "industry_division")
                if division is None:
                    unstated[context] = groups
                else:
                    by_context[context][section_of_division().get(division)].append(groups)
            section_cells: dict[Cell, list[Cell]] = defaultdict(list)
            for groups in sections:
                section_cells[frozenset(p for p in groups if p[0] != "industry")].append(groups)
            for context in set(section_cells) | set(by_context) | set(unstated):
                latent_sum: dict[Var, float] = {}
                if context in unstated:
                    latent_sum[cell_var(tag, (unstated[context], population))] = -1.0
                listed = {dict(g)["industry"]: g for g in section_cells.get(context, [])}
                for section in set(listed) | set(by_context[context]):
                    parent = listed.get(section, context | {("industry", section)})
                    equation = self._sum(tag, population, parent, by_context[context][section])
                    if context in unstated:
                        latent = ("latent", tag, "no_division", population, parent)
                        equation[latent] = 1.0
                        latent_sum[latent] = 1.0
                    self._add(equation)
                if context in unstated:
                    self._add(latent_sum)

    def _populations(
        self, tag: Any, tables: dict[tuple[Table, str], list[Cell]],
        complete: set[tuple[Any, Table, str]],
    ) -> None:  # fmt: skip
        for (dims, population), cells in tables.items():
            if population != "all" or (tag, dims, "full") not in complete:
                continue
            if (tag, dims, "all") not in complete:
                continue
            full = set(tables.get((dims, "full"), []))
            for groups in set(cells) | full:
                everyone = cell_var(tag, (groups, "all"))
                part = cell_var(tag, (groups, "part"))
                workers = {everyone: -1.0, part: 1.0}
                pay: dict[Var, float] | None = None
                if self.full_year_months == 12:
                    pay = {everyone: -12.0, part: 12.0}
                if groups in full:
                    workers[cell_var(tag, (groups, "full"))] = 1.0
                    if pay is not None:
                        pay[cell_var(tag, (groups, "full"))] = 1.0
                self.equations.append(Equation(workers, pay))
                self.variables.update(workers)

    # --- values

    def known(self, var: Var) -> Published | None:
        if var[0] != "cell":
            return None
        return self.observations.cells.get((var[1], var[2]))

    def unknowns(self) -> list[Var]:
        return sorted((v for v in self.variables if self.known(v) is None), key=repr)

    def structure(self, measure: str) -> Structure:
        if measure not in self._structures:
            self._structures[measure] = Structure.of(self, measure)
        return self._structures[measure]

    def cells_of(self, tag: Any) -> list[Var]:
        return [v for v in self.unknowns() if v[0] == "cell" and v[1] == tag]


@dataclass
class Structure:
    """The system restricted to its unknowns, for one measure (``workers`` or ``pay``):
    ``rows`` @ unknowns = ``rhs`` +- ``slack``, the connected groups of unknowns (sharing
    an equation) and, computed when asked, each group's null space."""

    unknowns: list[Var]
    column: dict[Var, int]
    rows: list[dict[int, float]]
    rhs: NDArray[np.float64]
    slack: NDArray[np.float64]
    component: NDArray[np.int64]  # per unknown
    rows_of: dict[int, list[int]]  # per component: its equations
    sources: list[Equation]  # per row: the equation of the system it comes from
    null: dict[int, dict[int, int]] = field(default_factory=dict)
    _programmes: dict[frozenset[int], Any] = field(default_factory=dict)

    @classmethod
    def of(cls, system: System, measure: str) -> Structure:
        unknowns = system.unknowns()
        column = {v: j for j, v in enumerate(unknowns)}
        rows: list[dict[int, float]] = []
        rhs: list[float] = []
        slack: list[float] = []
        sources: list[Equation] = []
        for equation in system.equations:
            terms = equation.workers if measure == "workers" else equation.pay
            if terms is None:
                continue
            row: dict[int, float] = {}
            constant = 0.0
            error = 0.0
            for var, coefficient in terms.items():
                seen = system.known(var)
                if seen is None:
                    row[column[var]] = row.get(column[var], 0.0) + coefficient
                elif measure == "workers":
                    constant += coefficient * seen.workers
                else:
                    constant += coefficient * seen.total
                    error += abs(coefficient) * seen.slack
            row = {j: c for j, c in row.items() if c != 0.0}
            if row:
                rows.append(row)
                rhs.append(-constant)
                slack.append(error)
                sources.append(equation)
        n = len(unknowns)
        edges_a: list[int] = []
        edges_b: list[int] = []
        for row in rows:
            members = list(row)
            edges_a += members[:1] * (len(members) - 1)
            edges_b += members[1:]
        graph = coo_matrix((np.ones(len(edges_a)), (edges_a, edges_b)), shape=(n, n))
        _, component = connected_components(graph, directed=False)
        rows_of: dict[int, list[int]] = defaultdict(list)
        for i, row in enumerate(rows):
            rows_of[int(component[next(iter(row))])].append(i)
        return cls(unknowns, column, rows, np.array(rhs), np.array(slack),
                   component.astype(np.int64), dict(rows_of), sources)  # fmt: skip

    def _vector(self, target: Mapping[Var, float]) -> dict[int, float]:
        vector: dict[int, float] = {}
        for var, coefficient in target.items():
            if var in self.column:
                vector[self.column[var]] = vector.get(self.column[var], 0.0) + coefficient
        return {j: c for j, c in vector.items() if c != 0.0}

    def _matrix(self, groups: Iterable[int]) -> tuple[NDArray[np.int64], list[int], csr_matrix]:
        members = np.flatnonzero(np.isin(self.component, list(groups)))
        local = {int(j): i for i, j in enumerate(members)}
        picked = sorted(i for g in groups for i in self.rows_of.get(g, []))
        r, c, v = [], [], []
        for k, i in enumerate(picked):
            for j, coefficient in self.rows[i].items():
                r.append(k)
                c.append(local[j])
                v.append(coefficient)
        matrix = csr_matrix((v, (r, c)), shape=(len(picked), len(members)))
        return members, picked, matrix

    def null_vectors(self) -> list[dict[int, int]]:
        """Two random vectors of the null space over GF(PRIME) (each unknown's value; the
        coefficients are whole numbers): sparse elimination row by row, random values for
        the free unknowns, the pivots solved backwards. A target the equations fix is
        orthogonal to every null vector; one they do not fix is orthogonal to a random
        one with probability 1/PRIME."""
        if not self.null:
            rng = random.Random(20240601)
            pivots: list[tuple[int, dict[int, int]]] = []
            pivot_row: dict[int, dict[int, int]] = {}
            # The pivot of a row: its unknown in the fewest equations (less fill-in).
            count: dict[int, int] = defaultdict(int)
            for row in self.rows:
                for j in row:
                    count[j] += 1
            for row in sorted(self.rows, key=len):
                current = {j: round(c) % PRIME for j, c in row.items()}
                assert all(float(round(c)) == c for c in row.values()), row
                while True:
                    current = {j: c for j, c in current.items() if c}
                    hit = next((j for j in current if j in pivot_row), None)
                    if hit is None:
                        break
                    factor = current[hit]
                    for j, c in pivot_row[hit].items():
                        current[j] = (current.get(j, 0) - factor * c) % PRIME
                if not current:
                    continue
                pivot = min(current, key=lambda j: (count[j], j))
                inverse = pow(current[pivot], PRIME - 2, PRIME)
                normalised = {j: c * inverse % PRIME for j, c in current.items()}
                pivots.append((pivot, normalised))
                pivot_row[pivot] = normalised
            for _ in range(2):
                x = {j: rng.randrange(PRIME) for j in range(len(self.unknowns))
                     if j not in pivot_row}  # fmt: skip
                for pivot, row in reversed(pivots):
                    x[pivot] = -sum(c * x[j] for j, c in row.items() if j != pivot) % PRIME
                self.null[len(self.null)] = x
        return list(self.null.values())

    def determined(self, target: Mapping[Var, float]) -> bool:
        """Whether the equations fix ``target`` (a linear form with whole coefficients;
        known variables drop out): its unknown part is in the row space."""
        vector = self._vector(target)
        return all(
            sum(round(c) * x[j] for j, c in vector.items()) % PRIME == 0
            for x in self.null_vectors()
        )

    def _programme(
        self, groups: frozenset[int]
    ) -> tuple[dict[int, int], dict[str, Any], dict[str, Any]]:
        """The constraints of the unknowns of ``groups`` as linprog takes them."""
        members, picked, matrix = self._matrix(groups)
        local = {int(j): i for i, j in enumerate(members)}
        rhs, slack = self.rhs[picked], self.slack[picked]
        exact = slack == 0
        loose = ~exact
        inequalities: dict[str, Any] = {}
        if loose.any():
            part = matrix[np.flatnonzero(loose)]
            inequalities = {
                "A_ub": vstack([part, -part]).tocsr(),
                "b_ub": np.concatenate([rhs[loose] + slack[loose], slack[loose] - rhs[loose]]),
            }
        equalities: dict[str, Any] = {}
        if exact.any():
            equalities = {"A_eq": matrix[np.flatnonzero(exact)], "b_eq": rhs[exact]}
        return local, inequalities, equalities

    def interval(self, target: Mapping[Var, float], known: float = 0.0) -> tuple[float, float]:
        """min and max of ``target`` (its known part given as ``known``) subject to the
        equations and nonnegative unknowns (HiGHS)."""
        vector = self._vector(target)
        if not vector:
            return known, known
        groups = frozenset(int(self.component[j]) for j in vector)
        if groups not in self._programmes:
            self._programmes.clear()  # one at a time: a programme may be large
            self._programmes[groups] = self._programme(groups)
        local, inequalities, equalities = self._programmes[groups]
        cost = np.zeros(len(local))
        for j, c in vector.items():
            cost[local[j]] = c
        ends = []
        for sign in (1.0, -1.0):
            result = linprog(sign * cost, bounds=(0, None), method="highs",
                             **inequalities, **equalities)  # fmt: skip
            if result.status == 3:  # unbounded
                ends.append(-sign * np.inf)
            else:
                assert result.status == 0, result.message
                ends.append(sign * float(result.fun))
        return known + ends[0], known + ends[1]


def target_value(system: System, target: Mapping[Var, float], measure: str) -> float:
    """The known part of a target (published figures times their coefficients)."""
    value = 0.0
    for var, coefficient in target.items():
        seen = system.known(var)
        if seen is not None:
            value += coefficient * (seen.workers if measure == "workers" else seen.total)
    return value


def derivation(system: System, var: Var, measure: str) -> str:
    """How the published figures fix ``var``: the equations (with their multipliers) whose
    sum leaves the variable alone, as text (a least-squares certificate)."""
    structure = system.structure(measure)
    group = int(structure.component[structure.column[var]])
    members, picked, matrix = structure._matrix([group])
    local = {int(j): i for i, j in enumerate(members)}
    unit = np.zeros(len(members))
    unit[local[structure.column[var]]] = 1.0
    multipliers = np.linalg.lstsq(matrix.toarray().T, unit, rcond=None)[0]
    used = []
    for k, y in zip(picked, multipliers, strict=True):
        if abs(y) > 1e-9:
            source = structure.sources[k]
            terms = source.workers if measure == "workers" else source.pay
            text = " ".join(
                f"{c:+g}*{describe(v[2]) if v[0] == 'cell' else v[2:]}"
                f"{'' if system.known(v) is None else '(published)'}"
                for v, c in (terms or {}).items()
            )
            used.append(f"{y:+.3g} x ({text} = 0)")
    return "; ".join(used)


def recoveries(system: System, targets: Iterable[Var]) -> list[tuple[Var, str]]:
    """The targets whose workers or total pay the equations fix exactly."""
    found = []
    for measure in ("workers", "pay"):
        structure = system.structure(measure)
        for var in targets:
            if var in structure.column and structure.determined({var: 1.0}):
                found.append((var, measure))
    return found


# --------------------------------------------------------------------------- the truth


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    """One counted worker as the test generated it."""

    contributor: str  # the enterprise, or its group_key
    attributes: Mapping[str, str | None]  # occupation, industry, district, size_class, ...
    months: int
    annual: float


@dataclass
class TrueCell:
    workers: int = 0
    total: float = 0.0
    shares: dict[str, float] = field(default_factory=dict)  # per contributor

    @property
    def largest(self) -> float:
        return max(self.shares.values(), default=0.0)

    def ranked(self) -> list[float]:
        return sorted(self.shares.values(), reverse=True)


def group_of(dimension: str, attributes: Mapping[str, str | None]) -> Group:
    if dimension in OCCUPATION_LEVELS:
        return level_group(dimension, attributes.get("occupation") or None)
    if dimension == "industry":
        return industry_groups(attributes.get("industry"))[0]
    if dimension == "industry_division":
        return industry_groups(attributes.get("industry"))[1]
    return attributes.get(dimension) or None


@dataclass
class Truth:
    """Every cell of every table from the worker rows."""

    records: Sequence[WorkerRecord]
    full_year_months: int = 12
    _tables: dict[tuple[Table, str], dict[Cell, TrueCell]] = field(default_factory=dict)

    def table(self, dims: Table, population: str) -> dict[Cell, TrueCell]:
        if (dims, population) not in self._tables:
            cells: dict[Cell, TrueCell] = defaultdict(TrueCell)
            for r in self.records:
                full = r.months >= self.full_year_months
                if (population == "full" and not full) or (population == "part" and full):
                    continue
                value = r.annual if population == "full" else r.annual / r.months
                groups = frozenset((d, group_of(d, r.attributes)) for d in dims)
                cell = cells[groups]
                cell.workers += 1
                cell.total += value
                cell.shares[r.contributor] = cell.shares.get(r.contributor, 0.0) + value
            self._tables[(dims, population)] = dict(cells)
        return self._tables[(dims, population)]

    def cell(self, key: CellKey) -> TrueCell:
        groups, population = key
        dims = tuple(sorted(d for d, _ in groups))
        return self.table(dims, population).get(groups, TrueCell())


def fails_rules(cell: TrueCell, rules: Mapping[str, Any]) -> bool:
    """Whether a true cell fails the primary rules (an empty cell fails nothing)."""
    if cell.workers == 0:
        return False
    ranked = [*cell.ranked(), 0.0, 0.0]
    if len(cell.shares) < rules.get("min_enterprises", 3):
        return True
    if cell.workers < rules.get("min_workers", 10):
        return True
    p = float(rules.get("p_percent", 10))
    if cell.total - ranked[0] - ranked[1] < p / 100 * ranked[0] - 1e-6:
        return True
    dominance = rules.get("dominance")
    if dominance:
        top = sum(ranked[: dominance["n"]])
        return bool(top > dominance["k"] / 100 * cell.total + 1e-6)
    return False


# --------------------------------------------------------------------------- the audit


@dataclass
class Finding:
    what: str

    def __str__(self) -> str:
        return self.what


def audit_release(
    system: System,
    tag: Any,
    truth: Truth,
    reasons: Mapping[CellKey, str | None],
    rules: Mapping[str, Any],
    *,
    limit: int | None = None,
) -> list[Finding]:
    """(b): every primary-suppressed cell's total-pay interval holds
    [T - p/100*x1, T + p/100*x1], its workers interval n +- max(1, p% of n) (within 0 below),
    and no hidden cell pins one contributor's share within 1%."""
    p = float(rules.get("p_percent", 10))
    findings: list[Finding] = []
    pay = system.structure("pay")
    workers = system.structure("workers")
    hidden = [v for v in system.cells_of(tag) if v[2][1] != "part"]
    # Only a cell failing the rules can have one share within 1% of its total (a cell
    # passing p% has T >= (1 + p/100) * x1), so the primary cells are the ones to solve.
    primary = [v for v in hidden if reasons.get(v[2]) in PRIMARY_REASONS]
    checked = primary if limit is None else primary[:: max(1, len(primary) // limit)][:limit]
    for var in checked:
        key = var[2]
        true = truth.cell(key)
        if true.workers == 0:
            continue
        low, high = pay.interval({var: 1.0})
        margin = p / 100 * true.largest
        if low > true.total - margin + 1e-6 * max(1.0, true.total) or (
            high < true.total + margin - 1e-6 * max(1.0, true.total)
        ):
            findings.append(Finding(
                f"{describe(key)} ({reasons.get(key)}): total pay in [{low:.2f}, {high:.2f}],"
                f" narrower than {true.total:.2f} +- {margin:.2f}"
            ))  # fmt: skip
        w_low, w_high = workers.interval({var: 1.0})
        need = max(1.0, p / 100 * true.workers)
        if w_low > max(0.0, true.workers - need) + 1e-6 or w_high < true.workers + need - 1e-6:
            findings.append(Finding(
                f"{describe(key)} ({reasons.get(key)}): workers in [{w_low:.2f}, "
                f"{w_high:.2f}], narrower than {true.workers} +- {need:.2f}"
            ))  # fmt: skip
        for contributor, share in true.shares.items():
            if share > 0 and low >= 0.99 * share and high <= 1.01 * share:
                findings.append(Finding(
                    f"{describe(key)}: total pay in [{low:.2f}, {high:.2f}] pins {contributor}'s "
                    f"{share:.2f} within 1%"
                ))  # fmt: skip
    return findings


def difference_target(key: CellKey, before: Any, after: Any) -> dict[Var, float]:
    return {cell_var(after, key): 1.0, cell_var(before, key): -1.0}


def difference_findings(
    system: System, before: Any, after: Any, change: Truth, *, keys: Iterable[CellKey]
) -> list[Finding]:
    """(d): the change between two releases (``change``: the rows added or removed) is
    not recovered: in no cell it touches are its workers or pay fixed by both releases'
    figures, nor its pay pinned within 1%."""
    findings: list[Finding] = []
    structures = {m: system.structure(m) for m in ("workers", "pay")}
    for key in keys:
        moved = change.cell(key)
        if moved.workers == 0:
            continue
        target = difference_target(key, before, after)
        if not all(v in system.variables for v in target):
            continue
        for measure, structure in structures.items():
            if structure.determined(target):
                value = target_value(system, target, measure)
                findings.append(Finding(
                    f"{describe(key)}: the {measure} of the change between releases {before} and "
                    f"{after} follow from the published figures ({value:.2f})"
                ))  # fmt: skip
        low, high = structures["pay"].interval(target, target_value(system, target, "pay"))
        size = abs(moved.total)
        if (low >= size * 0.99 - 1e-6 and high <= size * 1.01 + 1e-6) or (
            -high >= size * 0.99 - 1e-6 and -low <= size * 1.01 + 1e-6
        ):
            findings.append(Finding(
                f"{describe(key)}: the change's pay lies in [{low:.2f}, {high:.2f}], within 1% "
                f"of {moved.total:.2f}"
            ))  # fmt: skip
    return findings


def recovery_findings(
    system: System, tag: Any, truth: Truth, rules: Mapping[str, Any]
) -> list[Finding]:
    """(a): no hidden cell, primary or complement, is fixed by the published figures (a
    complement the figures give back is withheld for nothing and reads as a secret); nor
    is a part-year cell (never published) that fails the rules."""
    targets = system.cells_of(tag)
    findings = []
    for var, measure in recoveries(system, targets):
        key = var[2]
        true = truth.cell(key)
        if true.workers == 0 or (key[1] == "part" and not fails_rules(true, rules)):
            continue
        kind = "part-year cell" if key[1] == "part" else "hidden cell"
        findings.append(
            Finding(
                f"{kind} {describe(key)}: its {measure} follow from the published figures: "
                f"{derivation(system, var, measure)}"
            )
        )
    return findings


# --------------------------------------------------------------------------- downloading


def table_params(dims: Table, measure: str, *, reverse: bool = False) -> dict[str, str]:
    by = list(reversed(dims)) if reverse else list(dims)
    return {"by": ",".join(by) if by else "", "measure": measure}


def slice_params(by: str, filtered: str, value: str, measure: str) -> dict[str, str]:
    return {"by": by, FILTER_PARAMETER[filtered]: value, "measure": measure}


def filterable(dimension: str) -> bool:
    return dimension in FILTER_PARAMETER


def groups_of(observations: Observations, tag: Any, dimension: str) -> list[str]:
    """The groups of a one-way table seen so far (no margin, no "not stated")."""
    found = set()
    for t, (groups, _) in observations.cells:
        if t == tag and len(groups) == 1:
            ((d, value),) = groups
            if d == dimension and value is not None:
                found.add(value)
    return sorted(found)


def merged(*parts: Mapping[Var, float]) -> dict[Var, float]:
    out: dict[Var, float] = {}
    for part in parts:
        for var, c in part.items():
            out[var] = out.get(var, 0.0) + c
    return out


# --------------------------------------------------------------------------- over HTTP

URL = "/api/v1/campaigns/{}/benchmarks/wages"


async def get_rows(
    client: httpx.AsyncClient, campaign_id: int, headers: Mapping[str, str],
    params: Mapping[str, Any],
) -> list[dict[str, Any]]:  # fmt: skip
    response = await client.get(URL.format(campaign_id), params=dict(params), headers=headers)
    assert response.status_code == 200, (params, response.text)
    rows: list[dict[str, Any]] = response.json()["rows"]
    return rows


async def download_release(
    client: httpx.AsyncClient,
    campaign_id: int,
    headers: Mapping[str, str],
    *,
    release: int | str | None,
    tag: Any = None,
    observations: Observations | None = None,
    slices: int = 1,
    reverse: bool = False,
    measures: Sequence[str] = MEASURES,
    extra: Mapping[str, str] | None = None,
    tables: Sequence[Table] | None = None,
) -> Observations:
    """Every table of the release (``release=None``: the default one), both measures, and
    for each two-way table its slices by the first ``slices`` groups of each filterable
    dimension; ``reverse`` asks ``by=b,a`` instead of ``by=a,b``."""
    seen = observations if observations is not None else Observations()
    tag = release if tag is None else tag
    base: dict[str, str] = dict(extra or {})
    if release is not None:
        base["release"] = str(release)
    for measure in measures:
        for dims in allowed_tables() if tables is None else tables:
            if not dims:
                continue
            rows = await get_rows(
                client, campaign_id, headers, base | table_params(dims, measure, reverse=reverse)
            )
            seen.add(tag, dims, measure, rows)
        for dims in allowed_tables() if tables is None else tables:
            if len(dims) != 2 or not slices:
                continue
            for by, filtered in (dims, dims[::-1]):
                if not filterable(filtered):
                    continue
                for value in groups_of(seen, tag, filtered)[:slices]:
                    params = base | slice_params(by, filtered, value, measure)
                    rows = await get_rows(client, campaign_id, headers, params)
                    seen.add(tag, dims, measure, rows, whole=False)
    return seen
