"""The bureau's review of submitted surveys: the queue with each survey's stored warnings,
one survey with its revisions, and the verdicts (accept, or return with a reason the
enterprise sees; accept many at once, those without warnings). The API's route and the
admin's pages both call these, so a verdict is checked and audited in one place.

Every function takes ``district``: the part of the city the caller reviews (None: the whole
city). A survey of an enterprise elsewhere is treated as unknown (404, never 403)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import anyio.to_thread
from sqlalchemy import Integer, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from survey_service.auth import Principal, audit
from survey_service.collection import submissions
from survey_service.collection.revision_changes import Change, document_changes
from survey_service.collection.schemas import ReviewOut
from survey_service.db.lookups import campaign_with_form
from survey_service.db.models import (
    Campaign,
    Enterprise,
    Form,
    FormVersion,
    Submission,
    SubmissionRevision,
)
from survey_service.errors import conflict, not_found

QueueState = Literal["pending", "returned", "accepted", "all"]
QUEUE_STATES: tuple[QueueState, ...] = ("pending", "returned", "accepted", "all")
WarningsFilter = Literal["", "with", "without"]
QUEUE_PAGE = 100
# Surveys one bulk acceptance may name (a page of the queue holds QUEUE_PAGE).
BULK_MAX = 1000


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """Which submitted surveys the queue shows: of one campaign or all, awaiting review
    (``pending``), returned, accepted or all, with or without warnings."""

    campaign_id: int | None = None
    state: QueueState = "pending"
    warnings: WarningsFilter = ""


@dataclass(frozen=True, slots=True)
class QueueItem:
    submission_id: str
    campaign_id: int
    campaign_title: str
    uscc: str
    name: str
    district: str
    revision: int
    updated_at: datetime
    review_state: str
    warning_count: int


@dataclass(frozen=True, slots=True)
class Queue:
    items: list[QueueItem]
    total: int  # matching the filter, over every page
    page: int
    pages: int


def _json_length(column: Any, dialect: str) -> ColumnElement[int]:
    """The length of a stored JSON list (the warnings), counted by the database."""
    length = func.jsonb_array_length if dialect == "postgresql" else func.json_array_length
    return length(column, type_=Integer)


def _queue_query(
    filters: QueueFilter, district: str | None, dialect: str
) -> Select[*tuple[Any, ...]]:
    count = _json_length(Submission.warnings, dialect)
    query = (
        select(
            Submission.id,
            Submission.campaign_id,
            Campaign.title,
            Enterprise.uscc,
            Enterprise.name,
            Enterprise.district,
            Submission.revision,
            Submission.updated_at,
            Submission.review_state,
            count,
        )
        .join(Enterprise, Submission.enterprise_id == Enterprise.id)
        .join(Campaign, Submission.campaign_id == Campaign.id)
        .where(Submission.status == "submitted")
    )
    if district is not None:
        query = query.where(Enterprise.district == district)
    if filters.campaign_id is not None:
        query = query.where(Submission.campaign_id == filters.campaign_id)
    if filters.state != "all":
        query = query.where(Submission.review_state == filters.state)
    if filters.warnings == "with":
        query = query.where(count > 0)
    elif filters.warnings == "without":
        query = query.where(count == 0)
    return query


async def review_queue(
    session: AsyncSession, filters: QueueFilter, *, district: str | None, page: int = 1
) -> Queue:
    """The submitted surveys matching ``filters`` within ``district``, the longest waiting
    first, a page of ``QUEUE_PAGE``."""
    dialect = (await session.connection()).dialect.name
    query = _queue_query(filters, district, dialect)
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    pages = max(1, -(-total // QUEUE_PAGE))
    page = min(max(page, 1), pages)
    rows = await session.execute(
        query.order_by(Submission.updated_at, Submission.id)
        .offset((page - 1) * QUEUE_PAGE)
        .limit(QUEUE_PAGE)
    )
    return Queue([QueueItem(*row) for row in rows], total, page, pages)


async def _scoped(
    session: AsyncSession, submission_id: str, district: str | None, *, lock: bool = False
) -> tuple[Submission, Enterprise] | None:
    try:
        sid = str(uuid.UUID(submission_id))
    except ValueError:
        return None
    row = await session.get(Submission, sid, with_for_update=lock)
    if row is None or row.enterprise_id is None:
        return None
    enterprise = await session.get(Enterprise, row.enterprise_id)
    if enterprise is None or (district is not None and enterprise.district != district):
        return None
    return row, enterprise


async def submission_in_scope(
    session: AsyncSession, submission_id: str, *, district: str | None, lock: bool = False
) -> tuple[Submission, Enterprise]:
    """The survey and its enterprise, or 404 when unknown or outside ``district``;
    ``lock``: held until the transaction ends (a verdict and an amendment do not cross)."""
    found = await _scoped(session, submission_id, district, lock=lock)
    if found is None:
        raise not_found("Submission")
    return found


async def review(
    session: AsyncSession,
    principal: Principal,
    submission_id: str,
    state: str,
    reason: str | None,
    *,
    district: str | None,
    revision: int | None = None,
) -> ReviewOut:
    """Accept or return the survey's current revision, audited. ``revision``: the one the
    reviewer read; when the enterprise amended since, nothing is decided (409)."""
    row, _ = await submission_in_scope(session, submission_id, district=district, lock=True)
    if revision is not None and revision != row.revision:
        raise conflict(
            f"The survey was amended since revision {revision} (it is at revision "
            f"{row.revision} now); read it again before deciding.",
            detail_zh=f"企业在您阅读第 {revision} 版后又修改了问卷（现为第 {row.revision} 版），"
            "请查看最新版本后再审核。",
            revision=row.revision,
        )
    out = await submissions.review_submission(session, principal, row, state, reason)
    audit(session, principal, f"submission.{state}", f"submission:{row.id}")
    return out


SkipReason = Literal["unknown", "not_submitted", "reviewed", "amended", "warnings"]


@dataclass(slots=True)
class BulkAcceptance:
    accepted: list[str] = field(default_factory=list)
    skipped: list[tuple[str, SkipReason]] = field(default_factory=list)


async def accept_without_warnings(
    session: AsyncSession,
    principal: Principal,
    chosen: list[tuple[str, int]],
    *,
    district: str | None,
) -> BulkAcceptance:
    """Accept each chosen ``(submission id, revision)`` that is still awaiting review at
    that revision and has no warning; each acceptance is audited as a single one is. The
    others are left as they are, with the reason."""
    result = BulkAcceptance()
    for submission_id, revision in dict.fromkeys(chosen[:BULK_MAX]):
        found = await _scoped(session, submission_id, district, lock=True)
        if found is None:
            result.skipped.append((submission_id, "unknown"))
            continue
        row = found[0]
        why = _why_not_accepted(row, revision)
        if why is not None:
            result.skipped.append((submission_id, why))
            continue
        await submissions.review_submission(session, principal, row, "accepted", None)
        audit(session, principal, "submission.accepted", f"submission:{row.id}", bulk=True)
        result.accepted.append(row.id)
    return result


def _why_not_accepted(row: Submission, revision: int) -> SkipReason | None:
    if row.status != "submitted":
        return "not_submitted"
    if row.review_state != "pending":
        return "reviewed"
    if row.revision != revision:
        return "amended"
    if row.warnings:
        return "warnings"
    return None


@dataclass(frozen=True, slots=True)
class RevisionLine:
    """One kept revision, without its data."""

    revision: int
    status: str
    created_at: datetime
    warning_count: int
    author_token_id: int | None


@dataclass(frozen=True, slots=True)
class SubmissionDetail:
    submission: Submission
    enterprise: Enterprise
    campaign: Campaign
    version: FormVersion
    form: Form
    revisions: list[RevisionLine]
    reviews: list[ReviewOut]


async def submission_detail(
    session: AsyncSession, submission_id: str, *, district: str | None
) -> SubmissionDetail:
    """A survey as the reviewer opens it: its current data and warnings, its campaign and
    form, every revision kept (newest last) and every verdict."""
    row, enterprise = await submission_in_scope(session, submission_id, district=district)
    found = await campaign_with_form(session, row.campaign_id)
    assert found is not None  # a submission's campaign is never deleted
    campaign, version, form = found
    dialect = (await session.connection()).dialect.name
    lines = await session.execute(
        select(
            SubmissionRevision.revision,
            SubmissionRevision.status,
            SubmissionRevision.created_at,
            _json_length(SubmissionRevision.warnings, dialect),
            SubmissionRevision.author_token_id,
        )
        .where(SubmissionRevision.submission_id == row.id)
        .order_by(SubmissionRevision.revision)
    )
    return SubmissionDetail(
        row,
        enterprise,
        campaign,
        version,
        form,
        [RevisionLine(*line) for line in lines],
        await submissions.review_history(session, row.id),
    )


@dataclass(frozen=True, slots=True)
class Comparison:
    before: int
    after: int
    changes: list[Change]
    total: int  # changes found; ``changes`` holds the first of them


async def compare_revisions(
    session: AsyncSession, submission_id: str, before: int, after: int, *, district: str | None
) -> Comparison | None:
    """What changed from revision ``before`` to ``after`` of a survey (404 when unknown or
    outside ``district``); None when either revision does not exist."""
    row, _ = await submission_in_scope(session, submission_id, district=district)
    kept = {
        r.revision: submissions.revision_document(r, row)
        for r in await session.scalars(
            select(SubmissionRevision).where(
                SubmissionRevision.submission_id == row.id,
                SubmissionRevision.revision.in_([before, after]),
            )
        )
    }
    if before not in kept or after not in kept:
        return None
    # A re-uploaded payroll of 100,000 lines takes a second or two to compare: not on the
    # event loop.
    changes, total = await anyio.to_thread.run_sync(document_changes, kept[before], kept[after])
    return Comparison(before, after, changes, total)
