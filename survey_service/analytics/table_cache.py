"""Per process: the wage tables computed lately, reused while the data they are made of
has not changed.

A published reference table is downloaded again and again (negotiators, unions, the
bureau's own pages) while its campaign is closed; computing it reads and groups every
counted worker (60 ms for 20,000 workers, on the event loop). A table is kept under its
campaign, its query and a version of its inputs read on every request, which is exact:
the count and latest change of the surveys and reviews of the campaign and of the
previous year's (the year-on-year columns), the count and latest change of the registry
(a ``group_key`` decides who counts as one contributor), and both campaigns' settings.
Any write to those changes the version, so a kept table is never out of date.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import astuple
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.analytics.wages import (
    CampaignInfo,
    WageQuery,
    WageTable,
    previous_campaign,
    wage_table,
)
from survey_service.db.models import Enterprise, Review, Submission

Key = tuple[Any, ...]


async def data_version(session: AsyncSession, campaign: CampaignInfo) -> bytes:
    """A fingerprint of everything ``wage_table`` reads for ``campaign``."""
    previous = await previous_campaign(session, campaign)
    campaigns = [campaign] + ([previous] if previous else [])
    ids = [c.id for c in campaigns]
    in_campaigns = Submission.campaign_id.in_(ids)
    reviewed = Review.submission_id.in_(select(Submission.id).where(in_campaigns))
    stamps = (
        await session.execute(  # one round trip
            select(
                select(func.count()).select_from(Submission).where(in_campaigns).scalar_subquery(),
                select(func.max(Submission.updated_at)).where(in_campaigns).scalar_subquery(),
                select(func.count()).select_from(Review).where(reviewed).scalar_subquery(),
                select(func.max(Review.at)).where(reviewed).scalar_subquery(),
                select(func.count()).select_from(Enterprise).scalar_subquery(),
                select(func.max(Enterprise.updated_at)).scalar_subquery(),
            )
        )
    ).one()
    parts = [[[c.id, c.settings, c.requires_review] for c in campaigns], [str(v) for v in stamps]]
    return msgspec.json.encode(parts, order="sorted")


class WageTableCache:
    """The last ``size`` tables, by campaign, query and data version."""

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._tables: OrderedDict[Key, WageTable] = OrderedDict()

    async def table(
        self, session: AsyncSession, campaign: CampaignInfo, query: WageQuery
    ) -> WageTable:
        version = await data_version(session, campaign)
        key = (
            campaign.id,
            version,
            msgspec.json.encode(astuple(query), order="sorted"),
        )
        found = self._tables.get(key)
        if found is not None:
            self._tables.move_to_end(key)
            return found
        table = await wage_table(session, campaign, query)
        self._tables[key] = table
        while len(self._tables) > self.size:
            self._tables.popitem(last=False)
        return table
