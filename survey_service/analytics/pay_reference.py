"""The published occupational pay that the outlier warning compares a salary survey with.

The reference is a figure already published, never one computed from the other
enterprises' rows: the city-wide monthly median (P50) per occupation of the table
``by=occupation, measure=monthly`` of a wage release, where that cell is published (a hidden
cell gives no reference). The release is the campaign's latest, else the latest of the same
form's campaign of the year before (the one ``wages.previous_campaign`` names). Where
neither has a release, or an occupation's cell is hidden, there is no reference and no
outlier check. Releases and their tables are cached per process (``release_store``), so a
submission costs one small query.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from survey_service.analytics.disclosure import ALL
from survey_service.analytics.release_store import (
    CorruptRelease,
    ReleaseStore,
)
from survey_service.analytics.wages import WageQuery
from survey_service.db.models import Campaign, Form, FormVersion, Release

REFERENCE_QUERY = WageQuery(["occupation"], measure="monthly")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PayReference:
    """Published monthly medians by occupation and the release they were published in."""

    campaign_id: int
    year: int  # the released campaign's year
    number: int  # the release's number in that campaign
    medians: dict[str, float]


def _latest_wage_number(campaign_id: Any) -> ScalarSelect[int | None]:
    return (
        select(func.max(Release.number))
        .where(Release.campaign_id == campaign_id, Release.kind == "wages")
        .scalar_subquery()
    )


ReleaseChoice = tuple[int, int, int]  # (campaign id, year, release number)


def release_columns(
    campaign_id: Any, year: Any, form_key: Any
) -> tuple[ScalarSelect[Any], ScalarSelect[Any], ScalarSelect[Any]]:
    """The campaign's latest wage release number, the same form's campaign of the year
    before and that one's latest release number, as scalar subqueries: one statement finds
    them (each submission asks), beside the campaign's own row when the caller reads it."""
    before, version, form = aliased(Campaign), aliased(FormVersion), aliased(Form)
    previous = (
        select(before.id)
        .join(version, before.form_version_id == version.id)
        .join(form, version.form_id == form.id)
        .where(form.key == form_key, before.year == year - 1)
        .order_by(before.id.desc())
        .limit(1)
        .correlate(Campaign, Form)  # to the outer query also when nested one level deeper
        .scalar_subquery()
    )
    return _latest_wage_number(campaign_id), previous, _latest_wage_number(previous)


def chosen_release(
    campaign_id: int, year: int, own: int | None, previous_id: int | None, previous: int | None
) -> ReleaseChoice | None:
    """The release to compare with, from ``release_columns``: the campaign's own latest,
    else last year's campaign's latest, else none."""
    if own is not None:
        return campaign_id, year, own
    if previous_id is None or previous is None:
        return None
    return previous_id, year - 1, previous


async def _released_campaign(session: AsyncSession, campaign_id: int) -> ReleaseChoice | None:
    found = (
        await session.execute(
            select(Campaign.year, *release_columns(Campaign.id, Campaign.year, Form.key))
            .join(FormVersion, Campaign.form_version_id == FormVersion.id)
            .join(Form, FormVersion.form_id == Form.id)
            .where(Campaign.id == campaign_id)
        )
    ).first()
    return None if found is None else chosen_release(campaign_id, *found)


async def published_medians(
    session: AsyncSession, store: ReleaseStore, campaign_id: int
) -> PayReference | None:
    """The reference for a survey of ``campaign_id``; None where no release gives one."""
    found = await _released_campaign(session, campaign_id)
    return await medians_of(session, store, campaign_id, found)


async def medians_of(
    session: AsyncSession, store: ReleaseStore, campaign_id: int, found: ReleaseChoice | None
) -> PayReference | None:
    """The reference published by the release ``found`` (``chosen_release``) for a survey
    of ``campaign_id``."""
    if found is None:
        return None
    released, year, number = found
    try:
        release = await store.wages(session, released, number)
    except CorruptRelease:  # a warning never refuses a survey: no check, and say why
        log.exception("no outlier reference for campaign %s", campaign_id)
        return None
    table = await store.tables.rows(release, REFERENCE_QUERY)
    medians = {
        row["occupation"]: float(row["p50"])
        for row in table.rows
        if row["occupation"] not in (ALL, None) and not row["suppressed"] and row["p50"] is not None
    }
    return PayReference(released, year, number, medians)
