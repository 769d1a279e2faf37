"""Reading a wage reference table as a principal may: a release (analysts read nothing
else) or, for admins, the live view, chosen and checked once for the API's route and the
analyst's page alike. Problems are raised as problem+json (400, 403, 404, 409, 422)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

from survey_service.analytics.disclosure import SettingsError
from survey_service.analytics.release_store import (
    ReleaseStore,
    latest_wage_number,
    release_wage_table,
)
from survey_service.analytics.table_cache import WageTableCache
from survey_service.analytics.wage_dimensions import FILTERS, filter_dimension, filter_value
from survey_service.analytics.wage_dimensions import parse_by as _parse_by
from survey_service.analytics.wages import (
    WageQuery,
    WageTable,
    check_query,
    load_campaign,
)
from survey_service.auth import Principal, audit
from survey_service.db.engine import Database
from survey_service.errors import ServiceError, not_found
from survey_service.structs import INT4_MAX

LIVE = "live"
Measure = Literal["annual", "monthly"]


@dataclass(frozen=True, slots=True)
class WageAsk:
    """A table as asked: ``by`` as written (``occupation,district``), the filters by their
    base names (``occupation``, ``industry``, ... see ``wage_dimensions.FILTERS``),
    ``release`` a number, ``live`` or None (the latest release; admins: live without one)."""

    by: str | None = None
    measure: Measure = "annual"
    weighted: bool | None = None
    suppress: bool = True
    release: str | None = None
    filters: dict[str, str] = field(default_factory=dict)


def release_number(raw: str | None) -> int | None:
    """``release=N`` as a number; None for ``live`` or none asked."""
    if raw is None or raw == LIVE:
        return None
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= INT4_MAX:
        raise ServiceError(
            "bad-request", f"release must be a release number or {LIVE!r}, not {raw!r}"
        )
    return int(raw)


def wage_query(ask: WageAsk) -> WageQuery:
    """The checked query of ``ask`` (400 naming a dimension, filter or level it refuses)."""
    unknown = set(ask.filters) - set(FILTERS)
    if unknown:
        raise ServiceError(
            "bad-request", f"unknown filter(s) {sorted(unknown)}; known: {list(FILTERS)}"
        )
    try:
        filters = {
            filter_dimension(name, value): filter_value(name, value)
            for name, value in ask.filters.items()
        }
        query = WageQuery(_parse_by(ask.by), filters, ask.measure, ask.weighted, ask.suppress)
        check_query(query)
    except ValueError as exc:
        raise ServiceError("bad-request", str(exc)) from None
    return query


async def read_wage_table(
    db: Database,
    store: ReleaseStore,
    live_tables: WageTableCache,
    principal: Principal,
    campaign_id: int,
    ask: WageAsk,
) -> WageTable:
    """The table ``ask`` names of a salary-survey campaign, as ``principal`` may read it:
    analysts a release only (the latest by default; 409 while there is none); admins a
    release, or the live view (``release=live``, or a campaign not released yet), where
    alone ``suppress=False`` may be asked, and is audited."""
    admin = principal.role == "admin"
    if not ask.suppress and not admin:
        raise ServiceError(
            "forbidden", "Only an admin may ask for figures without disclosure control."
        )
    if ask.release == LIVE and not admin:
        raise ServiceError(
            "forbidden", "Only an admin may read the live figures; analysts read releases."
        )
    number = release_number(ask.release)
    if number is not None and not ask.suppress:
        raise ServiceError(
            "bad-request", f"suppress=false is for release={LIVE} only: a release is protected."
        )
    query = wage_query(ask)
    async with db.read() as session:
        campaign = await load_campaign(session, campaign_id)
        if campaign is None:
            raise not_found(f"Campaign {campaign_id}")
        if number is None and ask.release is None and ask.suppress:
            number = await latest_wage_number(session, campaign_id)
            if number is None and not admin:
                raise ServiceError("no-release-yet", f"campaign {campaign_id} has no release yet")
        try:
            if number is None:
                live = await live_tables.table(session, campaign, query)
                table = dataclasses.replace(live, meta=live.meta | {"release": None})
            else:
                table = await release_wage_table(
                    session, store, campaign, number, query, detailed=admin
                )
        except SettingsError as exc:
            detail = f"The campaign's settings do not allow this table: {exc}"
            raise ServiceError("unprocessable", detail) from None
    if not ask.suppress:
        async with db.transaction() as session:
            audit(
                session, principal, "benchmark.wages.unsuppressed", f"campaign:{campaign_id}",
                by=query.by, filters=query.filters, measure=ask.measure,
            )  # fmt: skip
    return table
