"""Issuing, rotating and withdrawing a campaign's poll links, once for the API and the
bureau's pages: the change, its audit record, and the poll desk told at once so that no
answer reaches a withdrawn or replaced link from this process."""

from __future__ import annotations

from sqlalchemy import select

from survey_service.auth import Principal, audit
from survey_service.collection import campaigns, polls
from survey_service.collection.poll_answers import PollDesk
from survey_service.collection.schemas import PollLinkIn, PollLinkOut
from survey_service.db.engine import Database
from survey_service.db.models import Enterprise
from survey_service.errors import unprocessable


async def issue_poll_link(
    db: Database,
    desk: PollDesk,
    principal: Principal,
    campaign_id: int,
    body: PollLinkIn,
    *,
    district: str | None = None,
) -> tuple[PollLinkOut, bool]:
    """The enterprise's link (and whether it is new), ``body.rotate`` replacing the one it
    had; an enterprise outside ``district`` (None: the whole city) is refused as unknown."""
    async with db.transaction() as session:
        campaign, _, form = await campaigns.load_campaign(session, campaign_id)
        if district is not None:
            found = await session.scalar(
                select(Enterprise.district).where(Enterprise.uscc == body.enterprise)
            )
            if found != district:
                raise unprocessable(
                    "The enterprise is not in this campaign's audience.",
                    [{"path": "/enterprise", "message": f"unknown enterprise {body.enterprise}"}],
                )
        out, created = await polls.issue_link(session, campaign, form, body)
        audit(
            session,
            principal,
            "poll_link.issue",
            f"campaign:{campaign_id}:{body.enterprise}",
            created=created,
            codes=len(out.codes),
        )
    desk.forget_links()  # a rotated link's old slug is gone at once
    return out, created


async def rotate_poll_link(
    db: Database,
    desk: PollDesk,
    principal: Principal,
    campaign_id: int,
    slug: str,
    *,
    district: str | None = None,
) -> PollLinkOut:
    """A new link in place of ``slug``, which stops answering."""
    async with db.read() as session:
        campaign, _, _ = await campaigns.load_campaign(session, campaign_id)
        _, enterprise = await polls.scoped_link(session, campaign, slug, district=district)
    body = PollLinkIn(enterprise=enterprise.uscc, rotate=True)
    out, _ = await issue_poll_link(db, desk, principal, campaign_id, body, district=district)
    return out


async def withdraw_poll_link(
    db: Database,
    desk: PollDesk,
    principal: Principal,
    campaign_id: int,
    slug: str,
    *,
    district: str | None = None,
) -> str:
    """Withdraw ``slug`` (it answers 410 Gone from now on); the enterprise's USCC."""
    async with db.transaction() as session:
        campaign, _, _ = await campaigns.load_campaign(session, campaign_id)
        await polls.scoped_link(session, campaign, slug, district=district)
        uscc = await polls.revoke_link(session, campaign, slug)
        audit(session, principal, "poll_link.revoke", f"campaign:{campaign_id}:{uscc}")
    desk.forget_links()  # withdrawn at once in this process
    return uscc
