"""What a release stores, as each kind of data makes it (wages, satisfaction, assessment)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from survey_service.structs import Out


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


class ReleaseStamp(Out, kw_only=True):
    """Which release figures come from (null on the live view)."""

    number: int
    created_at: datetime
    content_hash: str
    during_collection: bool
