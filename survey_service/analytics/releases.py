"""Releases: immutable, protected snapshots of a campaign's data, numbered 1, 2, ... per
campaign; what analysts and downloads read (docs/disclosure.md).

Making one freezes the data by the campaign's form kind (``salary-survey`` -> ``wages``,
``poll`` -> ``satisfaction``, ``self-assessment`` -> ``assessment``; the shipped forms
``salary-survey``, ``worker-satisfaction`` and ``enterprise-self-assessment``), protected
jointly with the campaign's earlier releases of that kind, and writes it as one row in one
transaction: it appears whole or not at all, and a failure leaves the previous release
serving. The freezing reads outside the write transaction (protection may take seconds,
and on SQLite a write transaction holds every other writer); the write then checks that no
release was made meanwhile (its protection would not have seen it) and the unique
(campaign, number) constraint settles a race between processes: either way the release
is frozen again, a few times, before giving up with a conflict.

A release also records every enterprise survey of the campaign as its snapshot held it
(revision, review state and whether it counted, ``release_surveys``): the microdata behind
the release can be exported after the surveys are amended (``collection.export_jobs``).

``content_hash`` is the sha256 of the data followed by the rules as canonical JSON; a
release is checked against it when loaded (``release_store``).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from survey_service.analytics.disclosure import SettingsError
from survey_service.analytics.frozen import Frozen, NothingToRelease
from survey_service.analytics.wage_release import content_hash, freeze_wages
from survey_service.analytics.wages import CampaignInfo, eligible_submissions, load_campaign
from survey_service.auth import Principal, audit
from survey_service.collection import release_surveys
from survey_service.db.engine import Database
from survey_service.db.lookups import campaign_with_form
from survey_service.db.models import Campaign, Form, Release, utcnow
from survey_service.errors import ServiceError
from survey_service.problems import ProblemKind

KINDS = {"salary-survey": "wages", "poll": "satisfaction", "self-assessment": "assessment"}
SCORE_MODULE = "survey_service.analytics.score_releases"
ATTEMPTS = 5

Freezer = Callable[[AsyncSession, CampaignInfo, Sequence[bytes]], Awaitable[Frozen]]


class ReleaseError(ServiceError):
    """A release that cannot be made or read; ``problem`` is the problem type it is
    answered with."""

    problem: ClassVar[ProblemKind] = "not-releasable"

    def __init__(self, detail: str) -> None:
        super().__init__(self.problem, detail)


class CampaignNotFound(ReleaseError):
    problem = "not-found"


class ReleaseNotFound(ReleaseError):
    problem = "not-found"


class CampaignStillOpen(ReleaseError):
    problem = "campaign-still-open"


class ReleaseConflict(ReleaseError):
    problem = "conflict"


class NotReleasable(ReleaseError):
    problem = "not-releasable"


class NotInRelease(ReleaseError):
    """A table the release's protected structure does not answer."""

    problem = "not-in-release"


@dataclass(frozen=True, slots=True)
class ReleaseInfo:
    """A release without its data: what listings show."""

    campaign_id: int
    number: int
    kind: str
    created_at: datetime
    during_collection: bool
    content_hash: str
    summary: dict[str, Any]
    rules: dict[str, Any]


_INFO_COLUMNS = (
    Release.campaign_id, Release.number, Release.kind, Release.created_at,
    Release.during_collection, Release.content_hash, Release.summary, Release.rules,
)  # fmt: skip


def _info(row: Any) -> ReleaseInfo:
    return ReleaseInfo(*row)


async def _campaign(session: AsyncSession, campaign_id: int) -> tuple[Campaign, Form]:
    found = await campaign_with_form(session, campaign_id)
    if found is None:
        raise CampaignNotFound(f"Campaign {campaign_id} not found")
    return found[0], found[2]


def release_kind(form: Form) -> str:
    kind = KINDS.get(form.kind)
    if kind is None:
        raise NotReleasable(f"forms of kind {form.kind!r} have no releases")
    return kind


def _score_freezer(kind: str) -> Freezer:
    """helper B's ``score_releases`` (satisfaction and self-assessment), imported when
    asked for: until it is merged those kinds are refused."""
    try:
        module = importlib.import_module(SCORE_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != SCORE_MODULE:
            raise  # the module is there, and broken
        raise NotReleasable(f"{kind} campaigns are not yet releasable") from None
    freeze = getattr(module, f"freeze_{kind}")

    async def freezer(
        session: AsyncSession, campaign: CampaignInfo, earlier: Sequence[bytes]
    ) -> Frozen:
        frozen: Frozen = await freeze(session, campaign.id, earlier)
        return frozen

    return freezer


def freezer_of(kind: str) -> Freezer:
    return freeze_wages if kind == "wages" else _score_freezer(kind)


async def latest_number(session: AsyncSession, campaign_id: int) -> int | None:
    number: int | None = await session.scalar(
        select(func.max(Release.number)).where(Release.campaign_id == campaign_id)
    )
    return number


async def _freeze(
    db: Database, campaign_id: int, during_collection: bool
) -> tuple[str, Frozen, release_surveys.Surveys, int, bool]:
    """The frozen release (its kind, content, the enterprise surveys as they stand, the
    number it follows and whether the campaign is still collecting), read in one snapshot
    of the data."""
    async with db.read() as session:
        if not db.is_sqlite:  # one snapshot for every read (SQLite's transactions are)
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        campaign, form = await _campaign(session, campaign_id)
        kind = release_kind(form)
        if utcnow() < campaign.closes_at and not during_collection:
            raise CampaignStillOpen(
                f"campaign {campaign_id} is still collecting (until "
                f"{campaign.closes_at.isoformat()}); release it during collection with "
                '"during_collection": true'
            )
        info = await load_campaign(session, campaign_id)
        assert info is not None
        earlier = list(
            await session.scalars(
                select(Release.data)
                .where(Release.campaign_id == campaign_id, Release.kind == kind)
                .order_by(Release.number)
            )
        )
        previous = await latest_number(session, campaign_id) or 0
        try:
            frozen = await freezer_of(kind)(session, info, earlier)
        except (NothingToRelease, SettingsError) as exc:
            raise NotReleasable(str(exc)) from None
        surveys = await release_surveys.snapshot(
            session, campaign_id, counted=eligible_submissions(info)
        )
    return kind, frozen, surveys, previous, utcnow() < campaign.closes_at


def audit_release(principal: Principal | None) -> Callable[[AsyncSession, ReleaseInfo], None]:
    """The audit entry of a release made by ``principal`` (None: the command line)."""

    def record(session: AsyncSession, info: ReleaseInfo) -> None:
        audit(
            session, principal, "release.create", f"campaign:{info.campaign_id}",
            number=info.number, kind=info.kind, content_hash=info.content_hash,
            during_collection=info.during_collection,
        )  # fmt: skip

    return record


async def create_release(
    db: Database,
    campaign_id: int,
    *,
    during_collection: bool,
    note: str | None,
    created_by: int | None,
    audit: Callable[[AsyncSession, ReleaseInfo], None],
) -> ReleaseInfo:
    """Freeze and write the campaign's next release; ``audit`` records it in the same
    transaction. ``during_collection`` allows releasing an open campaign; the release
    records whether the campaign was still open."""
    for _ in range(ATTEMPTS):
        kind, frozen, surveys, previous, still_open = await _freeze(
            db, campaign_id, during_collection
        )
        try:
            async with db.transaction() as session:
                if (await latest_number(session, campaign_id) or 0) != previous:
                    continue  # made meanwhile: freeze again, protected with it
                row = Release(
                    campaign_id=campaign_id,
                    number=previous + 1,
                    kind=kind,
                    created_at=utcnow(),
                    created_by=created_by,
                    during_collection=still_open,
                    content_hash=content_hash(frozen.data, frozen.rules),
                    rules=frozen.rules,
                    summary=frozen.summary | ({"note": note} if note else {}),
                    data=frozen.data,
                    protection=frozen.protection,
                )
                session.add(row)
                await session.flush()
                await release_surveys.record(session, row.id, surveys)
                info = release_info(row)
                audit(session, info)
            return info
        except IntegrityError:
            continue  # another process took the number
    raise ReleaseConflict(
        f"campaign {campaign_id} was being released by someone else at the same time; "
        "look at its releases and try again if still needed"
    )


def release_info(row: Release) -> ReleaseInfo:
    return ReleaseInfo(
        row.campaign_id, row.number, row.kind, row.created_at, row.during_collection,
        row.content_hash, row.summary, row.rules,
    )  # fmt: skip


async def list_releases(session: AsyncSession, campaign_id: int) -> list[ReleaseInfo]:
    """The campaign's releases, newest first."""
    await _campaign(session, campaign_id)
    rows = await session.execute(
        select(*_INFO_COLUMNS)
        .where(Release.campaign_id == campaign_id)
        .order_by(Release.number.desc())
    )
    return [_info(r) for r in rows]


async def get_release(session: AsyncSession, campaign_id: int, number: int) -> ReleaseInfo:
    await _campaign(session, campaign_id)
    row = (
        await session.execute(
            select(*_INFO_COLUMNS).where(
                Release.campaign_id == campaign_id, Release.number == number
            )
        )
    ).first()
    if row is None:
        raise ReleaseNotFound(f"Release {number} of campaign {campaign_id} not found")
    return _info(row)


async def latest_releases(session: AsyncSession) -> dict[int, Release]:
    """Every campaign's latest release (without its data), by campaign id."""
    rows = await session.scalars(
        select(Release)
        .options(load_only(Release.campaign_id, Release.number, Release.created_at,
                           Release.during_collection))
        .order_by(Release.campaign_id, Release.number)
    )  # fmt: skip
    return {row.campaign_id: row for row in rows}
