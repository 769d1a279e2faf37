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


async def _released_campaign(
    session: AsyncSession, campaign_id: int, known: tuple[int, str] | None
) -> tuple[int, int, int] | None:
    """(campaign id, year, release number) of the release to compare with: one statement
    (each submission asks), the year before's campaign looked up in it too."""
    found = (
        known
        or (
            await session.execute(
                select(Campaign.year, Form.key)
                .join(FormVersion, Campaign.form_version_id == FormVersion.id)
                .join(Form, FormVersion.form_id == Form.id)
                .where(Campaign.id == campaign_id)
            )
        ).first()
    )
    if found is None:
        return None
    year, form_key = found
    previous = (
        select(Campaign.id)
        .join(FormVersion, Campaign.form_version_id == FormVersion.id)
        .join(Form, FormVersion.form_id == Form.id)
        .where(Form.key == form_key, Campaign.year == year - 1)
        .order_by(Campaign.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    own, previous_id, previous_number = (
        await session.execute(
            select(_latest_wage_number(campaign_id), previous, _latest_wage_number(previous))
        )
    ).one()
    if own is not None:
        return campaign_id, year, own
    if previous_id is None or previous_number is None:
        return None
    return previous_id, year - 1, previous_number


async def published_medians(
    session: AsyncSession,
    store: ReleaseStore,
    campaign_id: int,
    *,
    year_and_form: tuple[int, str] | None = None,
) -> PayReference | None:
    """The reference for a survey of ``campaign_id``; None where no release gives one.
    ``year_and_form``: the campaign's year and form key, when the caller has them."""
    found = await _released_campaign(session, campaign_id, year_and_form)
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
