"""A campaign's progress: invited, drafts, submitted and returned surveys by district."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.collection.schemas import ProgressOut, ProgressRow
from survey_service.db.models import AccessToken, Enterprise, PollResponse, Submission


async def campaign_progress(
    session: AsyncSession, campaign_id: int, district: str | None = None
) -> ProgressOut:
    """The campaign's counts by district, within ``district`` (None: the whole city)."""
    scope = [Enterprise.district == district] if district is not None else []
    invited_rows = await session.execute(
        select(Enterprise.district, func.count(func.distinct(Enterprise.id)))
        .join(AccessToken, AccessToken.enterprise_id == Enterprise.id)
        .where(AccessToken.campaign_id == campaign_id, *scope)
        .group_by(Enterprise.district)
    )
    invited: dict[str, int] = {district: n for district, n in invited_rows}
    # A submitted survey the bureau returned counts apart until the enterprise amends it.
    counts: dict[tuple[str, str], int] = {}
    for district, status, review, n in await session.execute(
        select(Enterprise.district, Submission.status, Submission.review_state, func.count())
        .join(Enterprise, Submission.enterprise_id == Enterprise.id)
        .where(Submission.campaign_id == campaign_id, *scope)
        .group_by(Enterprise.district, Submission.status, Submission.review_state)
    ):
        state = "returned" if status == "submitted" and review == "returned" else status
        counts[(district, state)] = counts.get((district, state), 0) + n
    districts = sorted(set(invited) | {d for d, _ in counts})

    def row(district: str | None, keys: list[str]) -> ProgressRow:
        inv = sum(invited.get(d, 0) for d in keys)
        sub = sum(counts.get((d, "submitted"), 0) for d in keys)
        return ProgressRow(
            district=district,
            invited=inv,
            drafts=sum(counts.get((d, "draft"), 0) for d in keys),
            submitted=sub,
            returned=sum(counts.get((d, "returned"), 0) for d in keys),
            response_rate=round(sub / inv, 4) if inv else None,
        )

    return ProgressOut(
        campaign_id=campaign_id,
        overall=row(None, districts),
        by_district=[row(d, [d]) for d in districts],
    )


async def poll_answers_by_district(session: AsyncSession, campaign_id: int) -> dict[str, int]:
    """How many anonymous answers a poll has, by the district of the link's enterprise."""
    rows = await session.execute(
        select(Enterprise.district, func.count())
        .select_from(PollResponse)
        .join(Enterprise, PollResponse.enterprise_id == Enterprise.id)
        .where(PollResponse.campaign_id == campaign_id)
        .group_by(Enterprise.district)
    )
    return {district: int(n) for district, n in rows}
