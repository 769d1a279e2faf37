"""Changing a campaign once it is made: edit it, close it early, reopen it.

A campaign's form version is what its answers were checked against, so it can change only
while nothing has been collected or released. Moving the end of the window later carries
the invitation codes along: a code issued to last as long as the campaign (the default)
would otherwise expire at the old end and lock the enterprise out of the reopened
campaign; a code given a shorter life of its own keeps it.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.auth import Principal, audit
from survey_service.collection.campaigns import (
    audience_data,
    campaign_out,
    campaign_window,
    checked_settings,
    create_campaign,
    is_open,
    published_version,
)
from survey_service.collection.poll_answers import PollDesk
from survey_service.collection.schemas import CampaignIn, CampaignOut
from survey_service.db.engine import Database
from survey_service.db.lookups import campaign_with_form
from survey_service.db.models import (
    AccessToken,
    Campaign,
    Form,
    FormVersion,
    PollResponse,
    Release,
    Submission,
    utcnow,
)
from survey_service.errors import conflict, not_found, unprocessable
from survey_service.local_time import NotAnInstant, instant_from_text

# The fields of a campaign, as CampaignIn names them; what ``update_campaign`` reports.
FIELDS = ("form", "title", "year", "campaign_year", "window", "audience", "requires_review",
          "settings")  # fmt: skip


async def _locked(session: AsyncSession, campaign_id: int) -> tuple[Campaign, FormVersion, Form]:
    """The campaign, its row locked until the transaction ends (PostgreSQL; SQLite's
    write transactions are serial already), so two edits never interleave."""
    await session.execute(select(Campaign.id).where(Campaign.id == campaign_id).with_for_update())
    found = await campaign_with_form(session, campaign_id)
    if found is None:
        raise not_found(f"Campaign {campaign_id}")
    return found


async def has_collected(session: AsyncSession, campaign_id: int) -> bool:
    """Whether the campaign has a submission, a poll answer or a release."""
    for table in (Submission, PollResponse, Release):
        if await session.scalar(select(exists().where(table.campaign_id == campaign_id))):
            return True
    return False


async def follow_window(session: AsyncSession, campaign: Campaign, old_end: datetime) -> int:
    """Extend the campaign's live invitation codes that lasted at least to ``old_end`` to
    its new end, when that is later; how many were extended."""
    if campaign.closes_at <= old_end:
        return 0
    result = await session.execute(
        update(AccessToken)
        .where(
            AccessToken.campaign_id == campaign.id,
            AccessToken.role == "enterprise",
            AccessToken.revoked_at.is_(None),
            AccessToken.expires_at.is_not(None),
            AccessToken.expires_at >= old_end,
            AccessToken.expires_at < campaign.closes_at,
        )
        .values(expires_at=campaign.closes_at)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def update_campaign(
    session: AsyncSession, campaign_id: int, body: CampaignIn, zone: ZoneInfo
) -> tuple[CampaignOut, list[str]]:
    """Replace the campaign's fields with ``body``'s; the campaign and the names of the
    fields that changed (``FIELDS``). ``settings`` is replaced whole."""
    campaign, old_version, _ = await _locked(session, campaign_id)
    opens_at, closes_at = campaign_window(body, zone)
    form, version = await published_version(session, body.form_key, body.form_version)
    if version.id != old_version.id and await has_collected(session, campaign_id):
        raise conflict(
            "The campaign has collected answers (or been released) with version "
            f"{old_version.number}; its form cannot change now.",
            errors=[{"path": "/form_version", "keyword": "collected",
                     "message": "answers were collected with the current version",
                     "message_zh": "已按当前版本收到填报，不能再更换表单"}],
        )  # fmt: skip
    audience = audience_data(body.audience)
    settings = checked_settings(body.settings)
    campaign_year = body.campaign_year or opens_at.astimezone(zone).year
    old_end = campaign.closes_at
    changed = [
        name
        for name, differs in (
            ("form", version.id != old_version.id),
            ("title", body.title != campaign.title),
            ("year", body.year != campaign.year),
            ("campaign_year", campaign_year != campaign.campaign_year),
            ("window", (opens_at, closes_at) != (campaign.opens_at, campaign.closes_at)),
            ("audience", audience != (campaign.audience or {})),
            ("requires_review", body.requires_review != campaign.requires_review),
            ("settings", settings != (campaign.settings or {})),
        )
        if differs
    ]
    campaign.form_version_id = version.id
    campaign.title, campaign.year, campaign.campaign_year = body.title, body.year, campaign_year
    campaign.opens_at, campaign.closes_at = opens_at, closes_at
    campaign.audience, campaign.settings = audience, settings
    campaign.requires_review = body.requires_review
    await session.flush()
    await follow_window(session, campaign, old_end)
    return campaign_out(campaign, form, version), changed


async def close_campaign(session: AsyncSession, campaign_id: int) -> CampaignOut:
    """End an open campaign now: enterprises can no longer submit or amend, workers no
    longer answer; what was collected stays."""
    campaign, version, form = await _locked(session, campaign_id)
    now = utcnow()
    if now >= campaign.closes_at:
        raise conflict("The campaign is closed already.", message_zh="活动已经截止")
    if now < campaign.opens_at:
        raise conflict(
            "The campaign has not opened yet; change its window instead.",
            message_zh="活动尚未开始，请修改起止时间",
        )
    campaign.closes_at = now
    await session.flush()
    return campaign_out(campaign, form, version)


async def reopen_campaign(
    session: AsyncSession, campaign_id: int, closes_at: str, zone: ZoneInfo
) -> CampaignOut:
    """Open a closed campaign again until ``closes_at`` (a date: through that whole day)."""
    campaign, version, form = await _locked(session, campaign_id)
    now = utcnow()
    if is_open(campaign, now):
        raise conflict("The campaign is open already.", message_zh="活动正在进行中")
    if now < campaign.opens_at:
        raise conflict(
            "The campaign has not opened yet; change its window instead.",
            message_zh="活动尚未开始，请修改起止时间",
        )
    try:
        end = instant_from_text(closes_at, zone, end_of_day=True)
    except NotAnInstant as exc:
        raise unprocessable(
            "closes_at takes a date or an RFC 3339 time.",
            [{"path": "/closes_at", "message": str(exc), "keyword": "format",
              "message_zh": "应为日期（如 2026-12-01）或带时区的时间"}],
        ) from None  # fmt: skip
    if end <= now:
        raise unprocessable(
            "A campaign reopens until a time to come.",
            [{"path": "/closes_at", "message": "closes_at must be in the future",
              "message_zh": "新的截止时间应晚于现在", "keyword": "future"}],
        )  # fmt: skip
    old_end = campaign.closes_at
    campaign.closes_at = end
    await session.flush()
    await follow_window(session, campaign, old_end)
    return campaign_out(campaign, form, version)


# --- the workflows the API and the bureau's pages share: the change, its audit record, and
# the poll desk told at once (a poll's window is cached with its link) ---------------------


async def save_new_campaign(
    db: Database, principal: Principal, body: CampaignIn, zone: ZoneInfo
) -> CampaignOut:
    async with db.transaction() as session:
        out = await create_campaign(session, body, zone)
        audit(session, principal, "campaign.create", f"campaign:{out.id}")
    return out


async def edit_campaign(
    db: Database,
    desk: PollDesk,
    principal: Principal,
    campaign_id: int,
    body: CampaignIn,
    zone: ZoneInfo,
) -> CampaignOut:
    async with db.transaction() as session:
        out, changed = await update_campaign(session, campaign_id, body, zone)
        audit(session, principal, "campaign.update", f"campaign:{campaign_id}", changed=changed)
    desk.forget_links()
    return out


async def close_now(
    db: Database, desk: PollDesk, principal: Principal, campaign_id: int
) -> CampaignOut:
    async with db.transaction() as session:
        out = await close_campaign(session, campaign_id)
        audit(session, principal, "campaign.close", f"campaign:{campaign_id}")
    desk.forget_links()
    return out


async def reopen_until(
    db: Database,
    desk: PollDesk,
    principal: Principal,
    campaign_id: int,
    closes_at: str,
    zone: ZoneInfo,
) -> CampaignOut:
    async with db.transaction() as session:
        out = await reopen_campaign(session, campaign_id, closes_at, zone)
        audit(session, principal, "campaign.reopen", f"campaign:{campaign_id}",
              closes_at=out.closes_at.isoformat())  # fmt: skip
    desk.forget_links()
    return out
