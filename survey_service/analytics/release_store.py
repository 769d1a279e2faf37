"""Wage releases read back: loaded once per process by (campaign, number) and checked
against their hash (a release never changes, so no version check is needed), and the
wage tables cut from them, with the year-on-year change from the previous year's
campaign's latest release (never live data)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import anyio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.analytics.disclosure import SettingsError
from survey_service.analytics.releases import NotInRelease, ReleaseNotFound
from survey_service.analytics.wage_columns import from_bytes
from survey_service.analytics.wage_release import (
    ReleaseTableCache,
    WageRelease,
    analyst_rows,
    content_hash,
)
from survey_service.analytics.wage_structure import pattern_from_bytes, release_query_error
from survey_service.analytics.wages import (
    CampaignInfo,
    WageQuery,
    WageTable,
    add_changes,
    previous_campaign,
)
from survey_service.db.models import Campaign, Release, utcnow


class CorruptRelease(RuntimeError):
    """A stored release whose content does not match its hash."""


def decode_wages(row: Release) -> WageRelease:
    if content_hash(row.data, row.rules) != row.content_hash:
        raise CorruptRelease(f"release {row.number} of campaign {row.campaign_id}: bad hash")
    return WageRelease(
        campaign_id=row.campaign_id,
        number=row.number,
        created_at=row.created_at,
        content_hash=row.content_hash,
        during_collection=row.during_collection,
        rules=row.rules,
        summary=row.summary,
        columns=from_bytes(row.data),
        pattern=pattern_from_bytes(row.protection),
    )


class ReleaseStore:
    """Wage releases loaded in this process, by (campaign, number), the least recently
    used going first; and the tables computed from them."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._loaded: OrderedDict[tuple[int, int], WageRelease] = OrderedDict()
        self.tables = ReleaseTableCache()

    async def wages(self, session: AsyncSession, campaign_id: int, number: int) -> WageRelease:
        key = (campaign_id, number)
        found = self._loaded.get(key)
        if found is not None:
            self._loaded.move_to_end(key)
            return found
        row = await session.scalar(
            select(Release).where(Release.campaign_id == campaign_id, Release.number == number)
        )
        if row is None or row.kind != "wages":
            raise ReleaseNotFound(f"Wage release {number} of campaign {campaign_id} not found")
        loaded = await anyio.to_thread.run_sync(decode_wages, row)
        self._loaded[key] = loaded
        while len(self._loaded) > self.size:
            self._loaded.popitem(last=False)
        return loaded


async def find_release(
    session: AsyncSession, campaign_id: int, kind: str, number: int | None
) -> Release | None:
    """The campaign's release ``number`` of ``kind``, or its latest (None: there is none)."""
    query = select(Release).where(Release.campaign_id == campaign_id, Release.kind == kind)
    if number is not None:
        query = query.where(Release.number == number)
    return (await session.scalars(query.order_by(Release.number.desc()).limit(1))).first()


async def latest_wage_number(session: AsyncSession, campaign_id: int) -> int | None:
    number: int | None = await session.scalar(
        select(func.max(Release.number)).where(
            Release.campaign_id == campaign_id, Release.kind == "wages"
        )
    )
    return number


async def release_wage_table(
    session: AsyncSession,
    store: ReleaseStore,
    campaign: CampaignInfo,
    number: int,
    query: WageQuery,
    *,
    detailed: bool,
) -> WageTable:
    """The table of ``query`` from wage release ``number``, with the year-on-year change
    from the previous year's campaign's latest release (never live data). ``detailed``:
    the pattern's reasons for hidden cells (admins), else one reason for all."""
    error = release_query_error(query)
    if error is not None:
        raise NotInRelease(f"release {number} does not answer this table: {error}")
    release = await store.wages(session, campaign.id, number)
    current = await store.tables.rows(release, query)
    rows = [dict(row) for row in current.rows]  # the cached rows stay as they are
    previous = await previous_campaign(session, campaign)
    before: WageRelease | None = None
    before_rows = None
    if previous is not None:
        previous_number = await latest_wage_number(session, previous.id)
        if previous_number is not None:
            before = await store.wages(session, previous.id, previous_number)
            try:
                before_rows = (await store.tables.rows(before, query)).rows
            except SettingsError:
                before = None  # e.g. weights asked for and the earlier release has none
    add_changes(rows, before_rows, query.dimensions)
    meta = {
        "campaign": {"id": campaign.id, "year": campaign.year, "title": campaign.title},
        "previous_campaign": {
            "id": previous.id, "year": previous.year, "title": previous.title,
            "release": before.number,
        }
        if previous is not None and before is not None
        else None,
        "by": query.by,
        "filters": query.filters,
        "method": "release",
        "data_as_of": release.summary.get("data_as_of"),
        "generated_at": utcnow().isoformat(timespec="seconds"),
        "release": release.meta(),
    }  # fmt: skip
    return WageTable(
        campaign, query.dimensions, rows if detailed else analyst_rows(rows), current.rules, meta
    )


@dataclass(frozen=True, slots=True)
class ReleasedCampaign:
    """A campaign with releases of one kind, as an analyst chooses it."""

    id: int
    title: str
    year: int
    kind: str
    numbers: list[int]  # its releases of the kind, newest first


async def released_campaigns(session: AsyncSession, *kinds: str) -> list[ReleasedCampaign]:
    """Every campaign with a release of one of ``kinds`` (one entry per campaign and kind),
    the newest campaign first."""
    rows = await session.execute(
        select(Campaign.id, Campaign.title, Campaign.year, Release.kind, Release.number)
        .join(Release, Release.campaign_id == Campaign.id)
        .where(Release.kind.in_(kinds))
        .order_by(Campaign.id.desc(), Release.number.desc())
    )
    found: dict[tuple[int, str], ReleasedCampaign] = {}
    for campaign_id, title, year, kind, number in rows:
        key = (campaign_id, kind)
        found.setdefault(key, ReleasedCampaign(campaign_id, title, year, kind, []))
        found[key].numbers.append(number)
    return list(found.values())
