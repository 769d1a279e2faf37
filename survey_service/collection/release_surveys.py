"""The enterprise surveys a release's snapshot held (``release_surveys``, written with the
release by ``analytics.releases``): the revision of each, its review state then and whether
it counted, so that the microdata behind a release can be read after the surveys are
amended. A revision's document is its own copy once a newer revision replaced it, else the
survey's (as ``collection.submissions.revision_document`` reads it in Python)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.db import bulk
from survey_service.db.models import Release, ReleaseSurvey, Submission, SubmissionRevision
from survey_service.errors import ServiceError, not_found

Surveys = list[tuple[str, int, str, bool]]  # (submission id, revision, review state, counted)
_COLUMNS = ("release_id", "submission_id", "revision", "review_state", "counted")


async def snapshot(session: AsyncSession, campaign_id: int, *, counted: Select[Any]) -> Surveys:
    """Every enterprise survey of the campaign as ``session``'s snapshot holds it; those in
    ``counted`` (a select of submission ids) counted in the release."""
    rows = await session.execute(
        select(
            Submission.id, Submission.revision, Submission.review_state,
            Submission.id.in_(counted),
        ).where(Submission.campaign_id == campaign_id)
    )  # fmt: skip
    return [(r[0], r[1], r[2], bool(r[3])) for r in rows]


async def record(session: AsyncSession, release_id: int, surveys: Surveys) -> None:
    """The release's surveys, written in ``session``'s transaction (the release's own)."""
    rows = [(release_id, *survey) for survey in surveys]
    await bulk.insert_tuples(await session.connection(), "release_surveys", _COLUMNS, rows)


async def recorded_release(session: AsyncSession, campaign_id: int, number: int) -> int:
    """The id of the campaign's release ``number``: not found, or refused when it was made
    before releases recorded their surveys."""
    release_id = await session.scalar(
        select(Release.id).where(Release.campaign_id == campaign_id, Release.number == number)
    )
    if release_id is None:
        raise not_found(f"Release {number} of campaign {campaign_id}")
    recorded = await session.scalar(
        select(ReleaseSurvey.release_id).where(ReleaseSurvey.release_id == release_id).limit(1)
    )
    if recorded is None:
        raise ServiceError(
            "unprocessable",
            f"Release {number} was made before releases recorded their surveys; export the "
            "live data, or make a new release and export that.",
        )
    return release_id


def surveys_of(release_id: int) -> Select[*tuple[Any, ...]]:
    """The release's surveys as it held them, in the live listing's columns: ``id``,
    ``status``, ``review_state``, ``revision``, ``updated_at`` (when that revision was
    made); join the enterprise on ``Submission.enterprise_id``."""
    return _held(
        release_id,
        Submission.id,
        SubmissionRevision.status,
        ReleaseSurvey.review_state,
        ReleaseSurvey.revision,
        SubmissionRevision.created_at.label("updated_at"),
    )


def document_of(release_id: int, submission_id: str) -> Select[Any]:
    """The document of the survey's revision the release held."""
    held = _held(release_id, func.coalesce(SubmissionRevision.data, Submission.data))
    return held.where(ReleaseSurvey.submission_id == submission_id)


def _held(release_id: int, *columns: Any) -> Select[*tuple[Any, ...]]:
    """``columns`` of the release's surveys, each joined to the revision it held."""
    its_revision = and_(
        SubmissionRevision.submission_id == ReleaseSurvey.submission_id,
        SubmissionRevision.revision == ReleaseSurvey.revision,
    )
    return (
        select(*columns)
        .select_from(ReleaseSurvey)
        .join(Submission, Submission.id == ReleaseSurvey.submission_id)
        .join(SubmissionRevision, its_revision)
        .where(ReleaseSurvey.release_id == release_id)
    )
