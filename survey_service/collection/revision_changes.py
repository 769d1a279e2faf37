"""What changed between two revisions of a survey: the answers (JSON leaves) that were
added, removed or changed, each named by its JSON Pointer (``/employees/3/annual_pay``),
in the order of the documents. Lists compare by position (a worker's line is a line)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

# Changes kept for showing; past it only the count grows (a re-uploaded payroll may change
# every line).
MAX_CHANGES = 500
_MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class Change:
    pointer: str
    kind: Literal["added", "removed", "changed"]
    before: Any  # None when added
    after: Any  # None when removed


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _json(value: Any) -> bytes:
    return msgspec.json.encode(value)


def _children(value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [(_escape(k), v) for k, v in value.items()]
    if isinstance(value, list):
        return [(str(i), v) for i, v in enumerate(value)]
    return []


def _walk(before: Any, after: Any, pointer: str) -> Iterator[Change]:
    if before is _MISSING or after is _MISSING:  # a line or a part added or removed whole
        present = after if before is _MISSING else before
        children = _children(present)
        if not children:
            if before is _MISSING:
                yield Change(pointer, "added", None, after)
            else:
                yield Change(pointer, "removed", before, None)
            return
        for key, value in children:
            pair = (_MISSING, value) if before is _MISSING else (value, _MISSING)
            yield from _walk(*pair, f"{pointer}/{key}")
        return
    # 60000 and 60000.0 are one answer; true and 1 are not (bool is an int in Python, so
    # two parts that are == may still differ in a true: their JSON says).
    if (
        before == after
        and isinstance(before, bool) == isinstance(after, bool)
        and (not isinstance(before, dict | list) or _json(before) == _json(after))
    ):
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in [*before, *(k for k in after if k not in before)]:
            yield from _walk(
                before.get(key, _MISSING), after.get(key, _MISSING), f"{pointer}/{_escape(key)}"
            )
        return
    if isinstance(before, list) and isinstance(after, list):
        for index in range(max(len(before), len(after))):
            yield from _walk(
                before[index] if index < len(before) else _MISSING,
                after[index] if index < len(after) else _MISSING,
                f"{pointer}/{index}",
            )
        return
    yield Change(pointer, "changed", before, after)


def document_changes(before: Any, after: Any, limit: int = MAX_CHANGES) -> tuple[list[Change], int]:
    """The first ``limit`` changes from ``before`` to ``after``, and how many there are."""
    shown: list[Change] = []
    total = 0
    for change in _walk(before, after, ""):
        total += 1
        if len(shown) < limit:
            shown.append(change)
    return shown, total
