"""Disclosure control of the score releases as linked count tables (issue 11, docs/disclosure.md).

A score release publishes, for analysts, one figure per group of units (answers of the worker
poll, enterprises of the self-assessment): the city, and each group of every partition of it
(districts; industries). Every figure is a sum over the group's units of a value per
*category*: a 0/1 count (answered 4 on question q, graded B, vetoed) or a magnitude (a duty's
points). The partitions are linked: a unit lies in one district *and* one industry, so the
tables share cells (district x industry).

The pattern, decided once per release over every table an analyst can ask of it:

1. primary: a group with fewer than ``min_units`` units or ``min_enterprises`` enterprises;
   a group that changed by fewer than those since an earlier release (the two releases'
   difference would be a group of its own); a group hidden in an earlier release and not
   changed since (publishing it now would give that release's hidden figures back);
2. complementary: a partition with one hidden (non-empty) group hides a second, the
   smallest published one; a city whose hidden groups changed by fewer than the thresholds
   since an earlier release is hidden;
3. audit: per category, the attacker's system of every release's published figures (the
   campaign's earlier releases too), the bounds of each cell (0 .. its units' caps) and of
   each cell's change between releases (what was added, what was removed). A protected
   figure (a primary hidden group now or earlier, a small change) must not be *pinned* by
   that system: its value is pinned when it is the same at every point of the polytope
   (found with HiGHS: the bounds held at every point, then a rank test), and a magnitude
   must also keep an interval of at least its ``width``. Until nothing is pinned, one more
   group is hidden: the cheapest that frees the pinned figure, else the city.

Analysts are told ``suppressed`` only; the reasons stay in the release's protection blob.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

CITY = "city"

# Why a group is hidden (the protection blob's vocabulary).
MIN_UNITS = "min_units"
MIN_ENTERPRISES = "min_enterprises"
CHANGED = "changed_since_release"
HIDDEN_BEFORE = "hidden_before"
COMPLEMENTARY = "complementary"
LINKED = "linked"
PRIMARY = frozenset({MIN_UNITS, MIN_ENTERPRISES, CHANGED, HIDDEN_BEFORE})

FloatArray = npt.NDArray[np.float64]
_TOL = 1e-7


@dataclass(frozen=True, slots=True)
class Units:
    """One release's units: per unit its group in each partition (``partitions[name][u]``),
    an identity (the canonical snapshot text, to tell what changed between releases), its
    value per category (``values[u, k]``) and the most it could hold (``caps[u, k]``:
    1 for an answered count category, a duty's maximum, 0 when unanswered)."""

    partitions: dict[str, list[str]]
    identity: list[str]
    values: FloatArray
    caps: FloatArray
    enterprise: list[int] | None = None  # only while freezing: never stored

    def __len__(self) -> int:
        return len(self.identity)

    def members(self, group: str) -> list[int]:
        if group == CITY:
            return list(range(len(self)))
        name, _, key = group.partition(":")
        return [u for u, g in enumerate(self.partitions[name]) if g == key]

    def groups(self) -> list[str]:
        found = {f"{name}:{g}" for name, keys in self.partitions.items() for g in keys}
        return [CITY, *sorted(found)]

    def cells(self) -> list[tuple[str, ...]]:
        names = sorted(self.partitions)
        return [tuple(self.partitions[n][u] for n in names) for u in range(len(self))]


@dataclass(frozen=True, slots=True)
class Thresholds:
    min_units: int
    min_enterprises: int
    units_are_enterprises: bool  # self-assessment: one unit per enterprise


@dataclass(slots=True)
class Earlier:
    """An earlier release as the new one is protected against: its units and what it hid."""

    units: Units
    hidden: dict[str, str]


@dataclass(frozen=True, slots=True)
class Change:
    added: list[int]  # units of the new release not in the earlier one
    removed: list[int]  # units of the earlier release not in the new one

    @property
    def size(self) -> int:
        return max(len(self.added), len(self.removed))


def change(
    new: Units, old: Units, new_members: Sequence[int], old_members: Sequence[int]
) -> Change:
    """What differs between two releases' units of one group, as multisets of identities
    (an answer or a result changed in place counts as removed and added)."""
    by_identity: dict[str, list[int]] = {}
    for u in new_members:
        by_identity.setdefault(new.identity[u], []).append(u)
    before = Counter(old.identity[u] for u in old_members)
    added: list[int] = []
    for identity, units in by_identity.items():
        added.extend(units[before.get(identity, 0) :])
    now = Counter(new.identity[u] for u in new_members)
    removed: list[int] = []
    seen: Counter[str] = Counter()
    for u in old_members:
        seen[old.identity[u]] += 1
        if seen[old.identity[u]] > now.get(old.identity[u], 0):
            removed.append(u)
    return Change(added, removed)


def _changed_enterprises(new: Units, delta: Change, thresholds: Thresholds) -> int:
    """The fewest enterprises that can account for a change."""
    added = len({new.enterprise[u] for u in delta.added}) if new.enterprise else len(delta.added)
    removed = len(delta.removed) if thresholds.units_are_enterprises else min(len(delta.removed), 1)
    return max(added, removed)


def _small_change(new: Units, delta: Change, thresholds: Thresholds) -> bool:
    """A change that is no group of its own: some units, but too few, or too few enterprises."""
    return delta.size > 0 and (
        delta.size < thresholds.min_units
        or _changed_enterprises(new, delta, thresholds) < thresholds.min_enterprises
    )


def _too_small(units: int, enterprises: int, thresholds: Thresholds) -> str | None:
    if units < thresholds.min_units:
        return MIN_UNITS
    if enterprises < thresholds.min_enterprises:
        return MIN_ENTERPRISES
    return None


@dataclass
class _Release:
    units: Units
    hidden: dict[str, str]
    members: dict[str, list[int]] = field(default_factory=dict)
    cells: list[tuple[str, ...]] = field(default_factory=list)
    by_cell: dict[tuple[str, ...], list[int]] = field(default_factory=dict)
    group_list: list[str] = field(default_factory=list)
    member_sets: dict[str, frozenset[int]] = field(default_factory=dict)
    group_cells: dict[str, frozenset[tuple[str, ...]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.cells = self.units.cells()
        for u, cell in enumerate(self.cells):
            self.by_cell.setdefault(cell, []).append(u)

    def of(self, group: str) -> list[int]:
        if group not in self.members:
            self.members[group] = self.units.members(group)
        return self.members[group]

    def groups(self) -> list[str]:
        if not self.group_list:
            self.group_list = self.units.groups()
        return self.group_list

    def member_set(self, group: str) -> frozenset[int]:
        if group not in self.member_sets:
            self.member_sets[group] = frozenset(self.of(group))
        return self.member_sets[group]

    def cells_of(self, group: str) -> frozenset[tuple[str, ...]]:
        if group not in self.group_cells:
            self.group_cells[group] = frozenset(self.cells[u] for u in self.of(group))
        return self.group_cells[group]


@dataclass
class _Structure:
    """What the audit's systems share across categories and rounds: the releases and each
    cell's change between the new release and every earlier one."""

    releases: list[_Release]
    changes: list[dict[tuple[str, ...], Change]] = field(default_factory=list)
    unchanged: dict[tuple[int, int, str], bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        new = self.releases[0]
        self.changes = [{}]
        for old in self.releases[1:]:
            self.changes.append(
                {
                    cell: change(
                        new.units, old.units, new.by_cell.get(cell, []), old.by_cell.get(cell, [])
                    )
                    for cell in sorted(set(new.by_cell) | set(old.by_cell))
                }
            )

    def same(self, r: int, other: int, group: str) -> bool:
        """Are the group's units the same in both releases (so what one release says of
        it, the other does too)?"""
        key = (min(r, other), max(r, other), group)
        if key not in self.unchanged:
            one, two = self.releases[r], self.releases[other]
            self.unchanged[key] = (
                change(one.units, two.units, one.of(group), two.of(group)).size == 0
            )
        return self.unchanged[key]


def protect(
    new: Units,
    earlier: Sequence[Earlier],
    thresholds: Thresholds,
    width: Sequence[float],
) -> dict[str, str]:
    """The groups (``"city"``, ``"district:610202"``, ...) hidden from analysts in the new
    release, each with its reason; ``width[k]`` the least interval a protected magnitude
    of category k must keep (0 for counts: not pinned is enough)."""
    current = _Release(new, {})
    olds = [_Release(e.units, e.hidden) for e in earlier]
    groups = new.groups()
    hidden: dict[str, str] = {}
    for g in groups:
        members = current.of(g)
        if not members:
            continue
        enterprises = (
            len(set(new.enterprise[u] for u in members)) if new.enterprise else len(members)
        )
        reason = _too_small(len(members), enterprises, thresholds)
        for old in olds:
            if reason:
                break
            delta = change(new, old.units, members, old.of(g))
            if delta.size == 0:
                if g in old.hidden and not any(
                    g not in o.hidden and change(new, o.units, members, o.of(g)).size == 0
                    for o in olds
                ):
                    reason = HIDDEN_BEFORE
            elif _small_change(new, delta, thresholds):
                reason = CHANGED
        if reason:
            hidden[g] = reason
    current.hidden = hidden
    while True:
        _complement(current, olds, thresholds)
        pinned = audit(current, olds, thresholds, width)
        if not pinned:
            return hidden
        if not _free(current, olds, thresholds, width, pinned[0]):
            return hidden


def _partition_groups(release: _Release, name: str) -> list[str]:
    return [g for g in release.groups() if g.startswith(f"{name}:") and release.of(g)]


def _cost(current: _Release, olds: Sequence[_Release], group: str) -> tuple[bool, int, str]:
    """The order complements are chosen in: a group an earlier release published as it is
    now hides nothing (it is known), then the smallest."""
    known = any(
        group not in old.hidden
        and change(current.units, old.units, current.of(group), old.of(group)).size == 0
        for old in olds
    )
    return known, len(current.of(group)), group


def _complement(current: _Release, olds: Sequence[_Release], thresholds: Thresholds) -> None:
    hidden = current.hidden
    for name in sorted(current.units.partitions):
        groups = _partition_groups(current, name)
        shut = [g for g in groups if g in hidden]
        if len(shut) == 1:
            published = [g for g in groups if g not in hidden]
            if published:
                hidden[min(published, key=lambda g: _cost(current, olds, g))] = COMPLEMENTARY
            elif CITY not in hidden:
                hidden[CITY] = COMPLEMENTARY  # the city is that one group
        # The hidden groups' combined change is what the city and the published groups
        # give away between two releases: it must be a group of its own, or nothing.
        shut = [g for g in groups if g in hidden]
        if CITY in hidden or not shut:
            continue
        new_members = sorted(u for g in shut for u in current.of(g))
        for old in olds:
            old_members = sorted(u for g in shut for u in old.of(g))
            delta = change(current.units, old.units, new_members, old_members)
            if _small_change(current.units, delta, thresholds):
                hidden[CITY] = COMPLEMENTARY
                break


# --- the audit -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """A protected figure: a release's group (``release`` 0 the new one, i the i-th earlier)
    or the change of a group between the new release and earlier ``release``."""

    group: str
    release: int
    is_change: bool = False


def _targets(current: _Release, olds: Sequence[_Release], thresholds: Thresholds) -> list[Target]:
    found = [Target(g, 0) for g, why in current.hidden.items() if why in PRIMARY]
    for i, old in enumerate(olds, start=1):
        found += [Target(g, i) for g, why in old.hidden.items() if why in PRIMARY]
        for g in current.groups():
            delta = change(current.units, old.units, current.of(g), old.of(g))
            if _small_change(current.units, delta, thresholds):
                found.append(Target(g, i, is_change=True))
    return found


_NULL_SPACES: dict[bytes, FloatArray] = {}


def _null_space(matrix: FloatArray) -> FloatArray:
    """A basis of the vectors the rows of ``matrix`` say nothing of (rows of the result);
    the categories of one question share their systems' shape, so it is remembered."""
    matrix = matrix[np.any(matrix != 0, axis=1)]
    key = np.array(matrix.shape).tobytes() + matrix.tobytes()
    found = _NULL_SPACES.get(key)
    if found is None:
        if len(matrix) == 0:
            found = np.eye(matrix.shape[1])
        else:
            _, singular, vt = np.linalg.svd(matrix, full_matrices=True)
            rank = int((singular > 1e-9 * max(1.0, float(singular[0]))).sum())
            found = vt[rank:]
        if len(_NULL_SPACES) > 256:
            _NULL_SPACES.clear()
        _NULL_SPACES[key] = found
    return found


class _System:
    """One category's attacker system over every release: variables are each release's cell
    sums, then each earlier release's change per cell."""

    def __init__(self, structure: _Structure, k: int) -> None:
        releases = structure.releases
        self.releases = releases
        lows: list[float] = []
        highs: list[float] = []
        self.index: list[dict[tuple[str, ...], int]] = []
        for release in releases:
            index = {}
            for cell, members in sorted(release.by_cell.items()):
                cap = float(release.units.caps[members, k].sum())
                if cap > 0:
                    index[cell] = len(lows)
                    lows.append(0.0)
                    highs.append(cap)
            self.index.append(index)
        self.change_index: list[dict[tuple[str, ...], int]] = [{}]
        rows: list[dict[int, float]] = []
        rhs: list[float] = []
        new = releases[0]
        for old_i, old in enumerate(releases[1:], start=1):
            index = {}
            for cell, delta in structure.changes[old_i].items():
                in_new, in_old = self.index[0].get(cell), self.index[old_i].get(cell)
                if in_new is None and in_old is None:
                    continue
                added = float(new.units.caps[delta.added, k].sum()) if delta.added else 0.0
                removed = float(old.units.caps[delta.removed, k].sum()) if delta.removed else 0.0
                index[cell] = len(lows)
                lows.append(-removed)
                highs.append(added)
                row = {index[cell]: -1.0}
                if in_new is not None:
                    row[in_new] = 1.0
                if in_old is not None:
                    row[in_old] = -1.0
                rows.append(row)
                rhs.append(0.0)
            self.change_index.append(index)
        for r, release in enumerate(releases):
            values = release.units.values[:, k]
            for g in release.groups():
                if g in release.hidden:
                    continue
                members = release.of(g)
                cells = {c for c in release.cells_of(g) if c in self.index[r]}
                if not cells:
                    continue
                rows.append({self.index[r][c]: 1.0 for c in cells})
                rhs.append(float(values[members].sum()))
        self.low = np.array(lows)
        self.high = np.array(highs)
        self.a_eq = np.zeros((len(rows), len(lows)))
        for i, row in enumerate(rows):
            for j, v in row.items():
                self.a_eq[i, j] = v
        self.b_eq = np.array(rhs)

    def vector(self, target: Target) -> FloatArray | None:
        """The target's coefficients, None when it holds nothing in this category."""
        vector = np.zeros(len(self.low))
        if target.is_change:
            new, old = self.releases[0], self.releases[target.release]
            cells = new.cells_of(target.group) | old.cells_of(target.group)
            index = self.change_index[target.release]
        else:
            release = self.releases[target.release]
            cells = release.cells_of(target.group)
            index = self.index[target.release]
        for cell in cells:
            j = index.get(cell)
            if j is not None:
                vector[j] = 1.0
        if not np.any((self.high - self.low)[vector != 0] > 0):
            return None  # fixed by its own bounds: nothing of it to learn
        return vector

    def pinned(self, vectors: Sequence[FloatArray]) -> list[bool]:
        """For each vector: is its value the same everywhere in the polytope?"""
        from scipy.optimize import linprog  # SciPy loads when a release is made, not at start

        n = len(self.low)
        fixed = self.high - self.low <= _TOL
        free = np.zeros(n, dtype=bool)
        while True:
            candidates = np.flatnonzero(~fixed & ~free)
            if len(candidates) == 0:
                break
            m = len(candidates)
            # maximise the candidates' slacks s_j <= x_i - low_i, s_j <= high_i - x_i, 0<=s<=1
            a_ub = np.zeros((2 * m, n + m))
            b_ub = np.zeros(2 * m)
            for j, i in enumerate(candidates):
                a_ub[2 * j, i], a_ub[2 * j, n + j], b_ub[2 * j] = -1.0, 1.0, -self.low[i]
                a_ub[2 * j + 1, i], a_ub[2 * j + 1, n + j] = 1.0, 1.0
                b_ub[2 * j + 1] = self.high[i]
            a_eq = np.hstack([self.a_eq, np.zeros((len(self.a_eq), m))])
            result = linprog(
                np.r_[np.zeros(n), -np.ones(m)],
                A_ub=a_ub,
                b_ub=b_ub,
                A_eq=a_eq if len(a_eq) else None,
                b_eq=self.b_eq if len(a_eq) else None,
                bounds=list(zip(self.low, self.high, strict=True)) + [(0.0, 1.0)] * m,
                method="highs",
            )
            if result.status != 0:
                raise RuntimeError(f"the audit's system has no solution: {result.message}")
            slack = result.x[n:]
            opened = candidates[slack > _TOL]
            if len(opened) == 0:
                break
            free[opened] = True
        # The stuck variables are constants: a vector is pinned when its part over the free
        # ones lies in the row space of the equalities over them.
        columns = np.flatnonzero(free)
        if len(columns) == 0:
            return [True for _ in vectors]
        null = _null_space(self.a_eq[:, columns])
        return [
            bool(
                len(null) == 0
                or np.linalg.norm(null @ v[columns]) <= 1e-7 * max(1.0, float(np.linalg.norm(v)))
            )
            for v in vectors
        ]

    def interval(self, vector: FloatArray) -> tuple[float, float]:
        from scipy.optimize import linprog

        bounds = list(zip(self.low, self.high, strict=True))
        ends = []
        for sign in (1.0, -1.0):
            result = linprog(
                sign * vector,
                A_eq=self.a_eq if len(self.a_eq) else None,
                b_eq=self.b_eq if len(self.a_eq) else None,
                bounds=bounds,
                method="highs",
            )
            if result.status != 0:
                raise RuntimeError(f"the audit's system has no solution: {result.message}")
            ends.append(sign * float(result.fun))
        return ends[0], ends[1]


def audit(
    current: _Release,
    olds: Sequence[_Release],
    thresholds: Thresholds,
    width: Sequence[float],
) -> list[Target]:
    """The protected figures the published ones pin (empty: the pattern is safe)."""
    targets = _targets(current, olds, thresholds)
    if not targets:
        return []
    structure = _Structure([current, *olds])
    found: list[Target] = []
    for k in range(current.units.values.shape[1]):
        system = _System(structure, k)
        vectors = [
            (t, system.vector(t))
            for t in targets
            if t not in found and not _implied(structure, t, k)
        ]
        live = [(t, v) for t, v in vectors if v is not None]
        if not live:
            continue
        for (t, v), pinned in zip(live, system.pinned([v for _, v in live]), strict=True):
            if not pinned and width[k] > 0:
                low, high = system.interval(v)
                pinned = high - low < width[k]
            if pinned:
                found.append(t)
    return found


def _at_bound(value: float, low: float, high: float) -> bool:
    return abs(value - low) <= _TOL or abs(value - high) <= _TOL


def _held_at_bound(release: _Release, group: str, k: int) -> bool:
    """Does a group the release publishes hold ``group`` whole and sit at 0 or full in k?"""
    inside = release.member_set(group)
    units = release.units
    for g in release.groups():
        if g in release.hidden or not inside <= release.member_set(g):
            continue
        members = release.of(g)
        if _at_bound(
            float(units.values[members, k].sum()), 0.0, float(units.caps[members, k].sum())
        ):
            return True
    return False


def _implied(structure: _Structure, target: Target, k: int) -> bool:
    """Is the target's figure in category k implied by one published group holding it
    whole (a group that passed the rules itself) being at a bound, e.g. nobody in the city
    answered 1? Then every part of that group is at the bound too: that is the published
    group's figure, not the hidden one's. A release where the target's group is the same
    says it as well."""
    releases = structure.releases
    new = releases[0]
    if not target.is_change:
        return any(
            _held_at_bound(other, target.group, k)
            for r, other in enumerate(releases)
            if r == target.release or structure.same(target.release, r, target.group)
        )
    old = releases[target.release]
    inside_new, inside_old = new.member_set(target.group), old.member_set(target.group)
    for g in new.groups():
        if g in new.hidden or g in old.hidden:
            continue
        if not (inside_new <= new.member_set(g) and inside_old <= old.member_set(g)):
            continue
        members, old_members = new.of(g), old.of(g)
        delta = change(new.units, old.units, members, old_members)
        moved = float(new.units.values[members, k].sum()) - float(
            old.units.values[old_members, k].sum()
        )
        added = float(new.units.caps[delta.added, k].sum()) if delta.added else 0.0
        removed = float(old.units.caps[delta.removed, k].sum()) if delta.removed else 0.0
        if _at_bound(moved, -removed, added):
            return True
    return False


def _free(
    current: _Release,
    olds: Sequence[_Release],
    thresholds: Thresholds,
    width: Sequence[float],
    target: Target,
) -> bool:
    """Hide one more group so that ``target`` is no longer pinned: the group itself when it
    is published, else the cheapest published group of its partition that frees it, else
    the city, else the smallest group still published (False: none is left)."""
    hidden = current.hidden
    if target.group not in hidden and current.of(target.group):
        hidden[target.group] = LINKED
        return True
    name = target.group.partition(":")[0]
    candidates = sorted(
        (g for g in _partition_groups(current, name) if g not in hidden),
        key=lambda g: _cost(current, olds, g),
    )
    for g in candidates:
        hidden[g] = LINKED
        if target not in audit(current, olds, thresholds, width):
            return True
        del hidden[g]
    if CITY not in hidden and current.of(CITY):
        hidden[CITY] = LINKED
        return True
    rest = sorted(
        (g for g in current.groups() if g not in hidden and current.of(g)),
        key=lambda g: (len(current.of(g)), g),
    )
    if not rest:
        return False  # all hidden: what still pins it is the earlier releases' own doing
    hidden[rest[0]] = LINKED
    return True
