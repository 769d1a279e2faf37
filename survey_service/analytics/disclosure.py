"""Statistical disclosure control of magnitude tables (wage figures by group).

Primary suppression, per cell (SDC Handbook ch. 4; the checks of AI-SDC/ACRO and sdcTable):

- threshold: fewer than ``min_enterprises`` contributors (enterprises of one ``group_key``
  count as one contributor) or fewer than ``min_workers`` workers;
- p% rule on the cell's total pay: unsafe when ``total - x1 - x2 < p/100 * x1``, where
  ``x1 >= x2`` are the two largest contributors' totals (the second largest could then
  estimate the largest within p%); one or two contributors always fail it;
- optionally the (n,k) dominance rule: unsafe when the n largest contributors hold more
  than k% of the total.

Contributions are unweighted: the rules protect the respondents' own figures.

Complementary (secondary) suppression, over a table with its margins: every line (a
margin cell with the cells it adds up) must hold zero or at least two suppressed cells,
otherwise the unsuppressed cell of the line with the fewest margins ("*") and then the
fewest workers is suppressed too (preferring one that settles a second line), until every
line is settled. A line rule alone can leave a cell that the system of all lines still
determines (a "bridge" between two suppressed rectangles), so the pattern is then audited:
a suppressed cell is recoverable when its unit vector lies in the row space of the lines'
equations restricted to the suppressed cells (in one- and two-way tables: when it is a
bridge of the graph of lines and suppressed cells; larger tables: an SVD per connected
group of suppressed cells); each recoverable cell gets one more suppression in one of its
lines, and the two steps repeat until nothing is recoverable. Counts and totals are
additive along every line, so this protects ``n_workers`` and total pay
(``mean * n_workers``) alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

ALL = "*"  # the key of a dimension summed over (a margin)
Key = tuple[str | None, ...]

MIN_ENTERPRISES = "min_enterprises"
MIN_WORKERS = "min_workers"
P_PERCENT = "p_percent"
DOMINANCE = "dominance"
COMPLEMENTARY = "complementary"


class SettingsError(ValueError):
    """A campaign's settings that its figures cannot be computed with."""


@dataclass(frozen=True, slots=True)
class DisclosureRules:
    """Thresholds of one campaign (``campaign.settings["disclosure"]``), docs/domain.md's
    defaults otherwise."""

    min_enterprises: int = 3
    min_workers: int = 10
    p_percent: float = 10.0
    dominance_n: int | None = None
    dominance_k: float | None = None  # percent

    @classmethod
    def from_settings(cls, settings: dict[str, Any] | None) -> DisclosureRules:
        """The rules from a campaign's settings; ValueError on a setting that makes no sense."""
        raw = dict(settings or {})
        dominance = raw.pop("dominance", None)
        unknown = set(raw) - {"min_enterprises", "min_workers", "p_percent"}
        if unknown:
            raise ValueError(f"unknown disclosure settings: {sorted(unknown)}")
        rules = cls(
            min_enterprises=int(raw.get("min_enterprises", 3)),
            min_workers=int(raw.get("min_workers", 10)),
            p_percent=float(raw.get("p_percent", 10.0)),
            dominance_n=int(dominance["n"]) if dominance else None,
            dominance_k=float(dominance["k"]) if dominance else None,
        )
        if rules.min_enterprises < 1 or rules.min_workers < 1 or rules.p_percent < 0:
            raise ValueError("disclosure thresholds must be positive")
        if rules.dominance_n is not None and (
            rules.dominance_n < 1 or not 0 < (rules.dominance_k or 0) <= 100
        ):
            raise ValueError("dominance needs n >= 1 and 0 < k <= 100")
        return rules

    @classmethod
    def of_campaign(cls, campaign_settings: Mapping[str, Any] | None) -> DisclosureRules:
        """The one reading of ``campaign.settings["disclosure"]`` (SettingsError, naming
        the setting, when it makes no sense)."""
        try:
            return cls.from_settings((campaign_settings or {}).get("disclosure"))
        except (ValueError, TypeError, KeyError) as exc:
            raise SettingsError(f"settings.disclosure: {exc}") from None

    @property
    def top(self) -> int:
        """How many of the largest contributions the rules look at."""
        return max(2, self.dominance_n or 0)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        n, k = out.pop("dominance_n"), out.pop("dominance_k")
        out["dominance"] = {"n": n, "k": k} if n is not None else None
        return out


@dataclass(frozen=True, slots=True)
class Contributions:
    """Per cell: distinct contributors and the largest contributor totals, descending
    (zero-padded to ``top`` columns)."""

    n_contributors: NDArray[np.int64]
    largest: NDArray[np.float64]


def contributions(
    cell: NDArray[np.int64],
    n_cells: int,
    contributor: NDArray[np.int64],
    n_contributors: int,
    values: NDArray[np.float64],
    top: int,
) -> Contributions:
    """Sum ``values`` per (cell, contributor) and keep each cell's ``top`` largest sums.

    ``cell`` and ``contributor`` are dense codes (``0 <= cell < n_cells``); the input may
    repeat a pair (worker rows, or contributor totals of finer cells)."""
    pair = cell * np.int64(n_contributors) + contributor
    pairs, inverse = np.unique(pair, return_inverse=True)
    totals = np.bincount(inverse.ravel(), weights=values, minlength=len(pairs))
    pair_cell = pairs // n_contributors
    order = np.lexsort((-totals, pair_cell))
    pair_cell, totals = pair_cell[order], totals[order]
    counts = np.bincount(pair_cell, minlength=n_cells).astype(np.int64)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    rank = np.arange(len(pair_cell)) - starts[pair_cell]
    largest = np.zeros((n_cells, top))
    keep = rank < top
    largest[pair_cell[keep], rank[keep]] = totals[keep]
    return Contributions(counts, largest)


def primary_reasons(
    rules: DisclosureRules,
    n_contributors: NDArray[np.int64],
    n_workers: NDArray[np.int64],
    total: NDArray[np.float64],
    largest: NDArray[np.float64],
) -> list[str | None]:
    """The first rule each cell fails (None when it is safe), in the order: contributors,
    workers, p%, dominance."""
    x1, x2 = largest[:, 0], largest[:, 1]
    checks: list[tuple[str, NDArray[np.bool_]]] = [
        (MIN_ENTERPRISES, n_contributors < rules.min_enterprises),
        (MIN_WORKERS, n_workers < rules.min_workers),
        (P_PERCENT, total - x1 - x2 < rules.p_percent / 100 * x1),
    ]
    if rules.dominance_n is not None and rules.dominance_k is not None:
        top_n = largest[:, : rules.dominance_n].sum(axis=1)
        checks.append((DOMINANCE, top_n > rules.dominance_k / 100 * total))
    reasons: list[str | None] = [None] * len(n_workers)
    for name, failed in reversed(checks):
        for i in np.flatnonzero(failed):
            reasons[i] = name
    return reasons


def table_lines(keys: Sequence[Key]) -> list[list[int]]:
    """Each line of a table with margins as ``[margin, cell, cell, ...]`` (indices into
    ``keys``): the cells that differ from the margin in one dimension it sums over."""
    index = {key: i for i, key in enumerate(keys)}
    lines: dict[tuple[int, int], list[int]] = {}
    for i, key in enumerate(keys):
        for d, value in enumerate(key):
            if value == ALL:
                continue
            margin = index.get((*key[:d], ALL, *key[d + 1 :]))
            if margin is not None:
                lines.setdefault((margin, d), [margin]).append(i)
    return list(lines.values())


def complementary_suppression(
    keys: Sequence[Key], n_workers: Sequence[int], suppressed: Sequence[bool]
) -> list[bool]:
    """The cells to suppress besides ``suppressed`` (True where a cell is added), so that
    no suppressed cell can be computed from the published cells of the table."""
    hidden = list(suppressed)
    lines = table_lines(keys)
    lines_of: list[list[int]] = [[] for _ in keys]
    for n, line in enumerate(lines):
        for member in line:
            lines_of[member].append(n)
    count = [sum(hidden[m] for m in line) for line in lines]

    def hide(cell: int) -> None:
        hidden[cell] = True
        for n in lines_of[cell]:
            count[n] += 1

    def preference(i: int, line: int) -> tuple[int, bool, int, int]:
        # Finest cells first; among them one that also settles another line, then the
        # smallest.
        settles = any(count[n] == 1 for n in lines_of[i] if n != line)
        return (sum(v == ALL for v in keys[i]), not settles, n_workers[i], i)

    def hide_one_of(line: int) -> bool:
        candidates = [m for m in lines[line] if not hidden[m]]
        if not candidates:
            return False
        hide(min(candidates, key=lambda m: preference(m, line)))
        return True

    two_way = all(len(key) <= 2 for key in keys)
    while True:
        changed = True
        while changed:
            changed = False
            for n in range(len(lines)):
                if count[n] == 1:
                    changed |= hide_one_of(n)
        exposed = recoverable(lines, hidden, two_way=two_way)
        if not exposed:
            break
        cell = exposed[0]
        if any(hide_one_of(n) for n in sorted(lines_of[cell], key=count.__getitem__)):
            continue
        # Every line through it is hidden whole, yet other lines give it back together:
        # hide one more published cell of a line that holds hidden ones, and look again.
        touching = {m for n, line in enumerate(lines) if count[n] for m in line if not hidden[m]}
        if not touching:
            break  # nothing left to add
        hide(min(touching, key=lambda m: (sum(v == ALL for v in keys[m]), n_workers[m], m)))
    return [now and not before for now, before in zip(hidden, suppressed, strict=True)]


def recoverable(
    lines: Sequence[Sequence[int]], hidden: Sequence[bool], *, two_way: bool = False
) -> list[int]:
    """The suppressed cells that the table's lines determine from its published cells.

    In a one- or two-way table every cell lies on at most two lines, and (after flipping
    the signs of some equations) the lines' equations over the suppressed cells form the
    incidence matrix of a graph whose nodes are the lines and whose edges are the
    suppressed cells (a cell on one line only joins it to a common "ground" node): a cell
    is then determined exactly when its edge lies on no cycle, a bridge. Larger tables
    are solved with an SVD per connected group of suppressed cells."""
    if two_way:
        return _bridges(lines, hidden)
    return _determined_by_svd(lines, hidden)


def _bridges(lines: Sequence[Sequence[int]], hidden: Sequence[bool]) -> list[int]:
    ground = len(lines)
    ends: dict[int, list[int]] = {}
    for n, line in enumerate(lines):
        for m in line:
            if hidden[m]:
                ends.setdefault(m, []).append(n)
    adjacency: list[list[tuple[int, int]]] = [[] for _ in range(ground + 1)]
    for cell, nodes in ends.items():
        a, b = (nodes[0], nodes[1]) if len(nodes) > 1 else (nodes[0], ground)
        adjacency[a].append((b, cell))
        adjacency[b].append((a, cell))
    order = [-1] * (ground + 1)
    low = [0] * (ground + 1)
    found: list[int] = []
    clock = 0
    for root in range(ground + 1):
        if order[root] != -1 or not adjacency[root]:
            continue
        order[root] = low[root] = clock
        clock += 1
        stack: list[tuple[int, int, int]] = [(root, -1, 0)]  # node, edge in, next neighbour
        while stack:
            node, via, i = stack[-1]
            if i < len(adjacency[node]):
                stack[-1] = (node, via, i + 1)
                nxt, edge = adjacency[node][i]
                if edge == via:
                    continue
                if order[nxt] == -1:
                    order[nxt] = low[nxt] = clock
                    clock += 1
                    stack.append((nxt, edge, 0))
                else:
                    low[node] = min(low[node], order[nxt])
            else:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[node])
                    if low[node] > order[parent]:
                        found.append(via)
    return sorted(found)


def _determined_by_svd(lines: Sequence[Sequence[int]], hidden: Sequence[bool]) -> list[int]:
    relevant = [line for line in lines if any(hidden[m] for m in line)]
    # Connected groups of suppressed cells (sharing a line), solved one at a time.
    parent = {m: m for line in relevant for m in line if hidden[m]}

    def root(m: int) -> int:
        while parent[m] != m:
            parent[m] = parent[parent[m]]
            m = parent[m]
        return m

    for line in relevant:
        members = [m for m in line if hidden[m]]
        for m in members[1:]:
            parent[root(m)] = root(members[0])
    groups: dict[int, list[Sequence[int]]] = {}
    for line in relevant:
        first = next(m for m in line if hidden[m])
        groups.setdefault(root(first), []).append(line)
    found: list[int] = []
    for group_lines in groups.values():
        cells = sorted({m for line in group_lines for m in line if hidden[m]})
        column = {m: j for j, m in enumerate(cells)}
        matrix = np.zeros((len(group_lines), len(cells)))
        for row, line in enumerate(group_lines):
            for position, m in enumerate(line):
                if hidden[m]:
                    matrix[row, column[m]] = -1.0 if position == 0 else 1.0
        _, singular, vt = np.linalg.svd(matrix)
        rank = int((singular > 1e-9 * max(1.0, singular[0] if len(singular) else 1.0)).sum())
        null = vt[rank:]
        norms = np.sqrt((null**2).sum(axis=0)) if len(null) else np.zeros(len(cells))
        found.extend(cells[j] for j in np.flatnonzero(norms < 1e-9))
    return sorted(found)
