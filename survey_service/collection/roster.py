"""A campaign's roster: every enterprise of its audience (and any invited or answering from
outside it, say after the audience or the registry changed) with where it stands, filtered,
searched, sorted, counted by state and cut into pages.

States, in the order a survey moves through them:

- ``not_invited``: no invitation code that was not withdrawn;
- ``invited``: a code (expired or not: the campaign may have closed), no survey yet;
- ``draft``: a survey saved as a draft;
- ``submitted``: submitted, not reviewed yet (or amended since it was returned);
- ``returned``: returned by the bureau for correction, not amended yet;
- ``accepted``: accepted by the bureau.

Three reads whatever the size of the registry (the enterprises of the scope, the
campaign's live codes, its surveys with their latest review); the rest is done here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.collection.campaigns import outside_audience
from survey_service.db.models import AccessToken, Campaign, Enterprise, Review, Submission
from survey_service.structs import Out

RosterState = Literal["not_invited", "invited", "draft", "submitted", "returned", "accepted"]
STATES: tuple[RosterState, ...] = get_args(RosterState)
RosterSort = Literal["name", "district", "state", "changed"]
SORTS: tuple[RosterSort, ...] = get_args(RosterSort)
Search = Annotated[str, msgspec.Meta(max_length=100)]
MAX_PER_PAGE = 500


class RosterQuery(msgspec.Struct, kw_only=True, frozen=True):
    """Which part of the roster to show. ``district`` filters (within the caller's scope),
    ``search`` matches a part of the name or the credit code, whatever the case."""

    state: RosterState | None = None
    district: str | None = None
    search: Search = ""
    sort: RosterSort = "name"
    descending: bool = False
    page: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 1
    per_page: Annotated[int, msgspec.Meta(ge=1, le=MAX_PER_PAGE)] = 100


class RosterEntry(Out, kw_only=True):
    uscc: str
    name: str
    district: str
    state: RosterState
    in_audience: bool
    invited_at: datetime | None  # when the live code was issued (the latest one)
    submission_id: str | None
    changed_at: datetime | None  # the latest of: invited, saved or submitted, reviewed


class RosterOut(Out, kw_only=True):
    campaign_id: int
    counts: dict[str, int]  # per state, over the enterprises the filters other than state keep
    total: int  # the enterprises the filters keep, state included
    page: int
    per_page: int
    pages: int
    items: list[RosterEntry]


@dataclass(frozen=True, slots=True)
class _Registered:
    """An enterprise's columns, as the audience test reads them."""

    id: int
    uscc: str
    name: str
    district: str
    industry: str
    above_designated_size: bool
    has_union: bool
    staff_count: int | None


def survey_state(status: str, review_state: str) -> RosterState:
    if status != "submitted":
        return "draft"
    if review_state == "returned":
        return "returned"
    if review_state == "accepted":
        return "accepted"
    return "submitted"


async def _entries(
    session: AsyncSession, campaign: Campaign, district: str | None
) -> list[RosterEntry]:
    scope = [Enterprise.district == district] if district is not None else []
    registered = [
        _Registered(*row)
        for row in await session.execute(
            select(
                Enterprise.id, Enterprise.uscc, Enterprise.name, Enterprise.district,
                Enterprise.industry, Enterprise.above_designated_size, Enterprise.has_union,
                Enterprise.staff_count,
            ).where(*scope)
        )
    ]  # fmt: skip
    invited: dict[int | None, datetime] = {
        enterprise_id: at
        for enterprise_id, at in await session.execute(
            select(AccessToken.enterprise_id, func.max(AccessToken.created_at))
            .join(Enterprise, AccessToken.enterprise_id == Enterprise.id)
            .where(
                AccessToken.campaign_id == campaign.id,
                AccessToken.role == "enterprise",
                AccessToken.revoked_at.is_(None),
                *scope,
            )
            .group_by(AccessToken.enterprise_id)
        )
    }
    latest_review = (
        select(Review.submission_id, func.max(Review.at).label("at"))
        .group_by(Review.submission_id)
        .subquery()
    )
    surveys: dict[int | None, tuple[str, RosterState, datetime]] = {
        enterprise_id: (sid, survey_state(status, review), max(updated, reviewed or updated))
        for enterprise_id, sid, status, review, updated, reviewed in await session.execute(
            select(
                Submission.enterprise_id, Submission.id, Submission.status,
                Submission.review_state, Submission.updated_at, latest_review.c.at,
            )
            .join(Enterprise, Submission.enterprise_id == Enterprise.id)
            .outerjoin(latest_review, latest_review.c.submission_id == Submission.id)
            .where(Submission.campaign_id == campaign.id, *scope)
        )
    }  # fmt: skip
    audience = campaign.audience or {}
    out = []
    for e in registered:
        inside = outside_audience(audience, e) is None
        if not inside and e.id not in invited and e.id not in surveys:
            continue
        invited_at = invited.get(e.id)
        survey = surveys.get(e.id)
        sid: str | None = None
        changed: datetime | None = invited_at
        state: RosterState = "invited" if invited_at is not None else "not_invited"
        if survey is not None:
            sid, state, saved = survey
            changed = max(saved, invited_at) if invited_at else saved
        out.append(
            RosterEntry(
                uscc=e.uscc, name=e.name, district=e.district, state=state,
                in_audience=inside, invited_at=invited_at, submission_id=sid, changed_at=changed,
            )
        )  # fmt: skip
    return out


def _sort_key(sort: RosterSort) -> Callable[[RosterEntry], tuple[Any, ...]]:
    order = {state: i for i, state in enumerate(STATES)}
    if sort == "district":
        return lambda e: (e.district, e.name, e.uscc)
    if sort == "state":
        return lambda e: (order[e.state], e.name, e.uscc)
    if sort == "changed":  # never changed: before everything (or after, descending)
        return lambda e: (e.changed_at is not None, e.changed_at or 0, e.name, e.uscc)
    return lambda e: (e.name, e.uscc)


async def campaign_roster(
    session: AsyncSession, campaign: Campaign, query: RosterQuery, *, district: str | None
) -> RosterOut:
    """The campaign's roster as ``query`` asks, within ``district`` (None: the whole city)."""
    entries = await _entries(session, campaign, district)
    if query.district is not None:
        entries = [e for e in entries if e.district == query.district]
    needle = query.search.strip().casefold()
    if needle:
        entries = [e for e in entries if needle in e.name.casefold() or needle in e.uscc.casefold()]
    counts: dict[str, int] = dict.fromkeys(STATES, 0)
    for e in entries:
        counts[e.state] += 1
    if query.state is not None:
        entries = [e for e in entries if e.state == query.state]
    entries.sort(key=_sort_key(query.sort), reverse=query.descending)
    pages = max(1, -(-len(entries) // query.per_page))
    page = min(query.page, pages)
    start = (page - 1) * query.per_page
    return RosterOut(
        campaign_id=campaign.id,
        counts=counts,
        total=len(entries),
        page=page,
        per_page=query.per_page,
        pages=pages,
        items=entries[start : start + query.per_page],
    )
