"""What a release stores, as each kind of data makes it (wages, satisfaction, assessment)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class NothingToRelease(ValueError):
    """The campaign has no counted data to release yet."""


@dataclass(frozen=True, slots=True)
class Frozen:
    """A release's content before it is written: the snapshot, the protection (the hidden
    cells with their reasons), the rules in force and the counts shown in listings."""

    data: bytes
    protection: bytes
    rules: dict[str, Any]
    summary: dict[str, Any]
