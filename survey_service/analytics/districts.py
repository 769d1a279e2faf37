"""The city's districts as the reports list them, and how districts are ranked."""

from __future__ import annotations

from collections.abc import Sequence

from survey_service.reference.codes import districts


def city_districts() -> list[str]:
    """The codes of the city's districts: the reference list without the city itself."""
    return [code for code, d in districts().items() if d.level != "city"]


def district_name(code: str | None) -> str | None:
    known = districts().get(code) if code else None
    return known.name if known else None


def competition_ranks(values: Sequence[float | None]) -> list[int | None]:
    """1 for the highest; equal values share a rank and the next is skipped ("1224");
    None (nothing to rank by) gets no rank."""
    ranked = sorted((v for v in values if v is not None), reverse=True)
    first: dict[float, int] = {}
    for position, value in enumerate(ranked, start=1):
        first.setdefault(value, position)
    return [first[v] if v is not None else None for v in values]
