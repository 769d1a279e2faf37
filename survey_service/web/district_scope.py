"""The part of the city a signed-in page user sees and manages: for an administrator the
whole city (None), within which a page may show one district asked for. A district's
staff is held to its own district (``auth.district_scope``)."""

from __future__ import annotations

from survey_service.auth import Principal, district_scope
from survey_service.reference.codes import districts


def district_asked(principal: Principal, asked: str | None) -> str | None:
    """The district a page shows: the one asked for (a known code) within the principal's
    scope, else the whole scope."""
    scope = district_scope(principal)
    if scope is not None:
        return scope
    return asked if asked in districts() else None


def district_choices() -> list[str]:
    """The districts a page offers to filter by (every district of the city)."""
    return [code for code, found in districts().items() if found.level != "city"]
