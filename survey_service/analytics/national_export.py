"""The national salary-survey layout export of a campaign: the edit checks over every
record first, then the file, or the refusal listing every failure.

Which data: live, the current revision of each submitted survey of the campaign (only the
accepted ones when the campaign ``requires_review``, as the wage tables count them;
``analytics.wages.eligible_submissions``); or a release's, the revisions its snapshot held
(``collection.release_surveys``) that counted in it (submitted, and accepted where the
campaign required review, then). Enterprises in order of their credit code, employees in the
document's order. A district's staff get their district's
enterprises (the registry's district), the bureau the whole city.

The documents are read one at a time and written to the file as they are checked; when any
record fails, the file is deleted and the export refused (``edit-checks-failed``), so a
record that fails is never handed over.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.analytics.national_checks import EditChecks, Failure, enterprise_failures
from survey_service.analytics.national_layout import (
    LayoutFormat,
    LayoutWriter,
    employee_records,
    enterprise_record,
    layout_writer,
)
from survey_service.analytics.wages import CampaignInfo, eligible_submissions, load_campaign
from survey_service.collection import release_surveys
from survey_service.db.engine import Database
from survey_service.db.lookups import campaign_with_form
from survey_service.db.models import Enterprise, ReleaseSurvey, Submission
from survey_service.errors import ServiceError, not_found

# Failures listed in a refusal at most (the count says how many there were).
MAX_LISTED = 1000


@dataclass(slots=True)
class LayoutCheck:
    """What the edit checks found over the records an export would hold."""

    campaign_id: int
    year: int
    enterprises: int = 0
    employees: int = 0
    failures: list[Failure] = field(default_factory=list)
    failure_count: int = 0

    @property
    def passed(self) -> bool:
        return self.failure_count == 0

    def add(self, found: list[Failure]) -> None:
        self.failure_count += len(found)
        self.failures += found[: max(0, MAX_LISTED - len(self.failures))]


@dataclass(frozen=True, slots=True)
class LayoutFile:
    path: Path
    name: str  # the download's file name


async def _documents(
    session: AsyncSession, info: CampaignInfo, district: str | None, release_id: int | None
) -> list[str]:
    if release_id is None:
        query = select(Submission.id).where(Submission.id.in_(eligible_submissions(info)))
    else:
        query = (
            release_surveys.surveys_of(release_id)
            .with_only_columns(Submission.id)
            .where(ReleaseSurvey.counted.is_(True))
        )
    query = query.join(Enterprise, Submission.enterprise_id == Enterprise.id).order_by(
        Enterprise.uscc
    )
    if district is not None:
        query = query.where(Enterprise.district == district)
    return list((await session.scalars(query)).all())


def _document(info: CampaignInfo, submission_id: str, release_id: int | None) -> Select[Any]:
    if release_id is None:  # still counted when it is read (not amended back to a draft)
        return select(Submission.data).where(
            Submission.id == submission_id, Submission.id.in_(eligible_submissions(info))
        )
    return release_surveys.document_of(release_id, submission_id)


def _check_and_write(
    data: Mapping[str, Any], checks: EditChecks, result: LayoutCheck, writer: LayoutWriter | None
) -> None:
    enterprise: Mapping[str, Any] = data.get("enterprise") or {}
    employees: Sequence[Mapping[str, Any]] = data.get("employees") or []
    found = enterprise_failures(enterprise, employees, checks)
    result.enterprises += 1
    result.employees += len(employees)
    result.add(found)
    if writer is not None and result.passed:
        writer.add(enterprise_record(enterprise), employee_records(enterprise, employees))


async def _run(
    db: Database,
    campaign_id: int,
    district: str | None,
    writer: LayoutWriter | None,
    release: int | None,
) -> LayoutCheck:
    async with db.read() as session:
        found = await campaign_with_form(session, campaign_id)
        if found is None:
            raise not_found("Campaign")
        campaign, version, form = found
        if form.kind != "salary-survey":
            raise ServiceError(
                "unprocessable", "The national layout is made of salary-survey campaigns only."
            )
        checks = EditChecks.of_campaign(campaign.year, version.rules)
        release_id = (
            None if release is None
            else await release_surveys.recorded_release(session, campaign_id, release)
        )  # fmt: skip
        info = await load_campaign(session, campaign_id)
        assert info is not None
        ids = await _documents(session, info, district, release_id)
    result = LayoutCheck(campaign_id=campaign_id, year=campaign.year)
    for submission_id in ids:
        async with db.read() as session:
            data = await session.scalar(_document(info, submission_id, release_id))
        if data is not None:
            await anyio.to_thread.run_sync(_check_and_write, data, checks, result, writer)
    return result


async def check_layout(
    db: Database, campaign_id: int, district: str | None, release: int | None = None
) -> LayoutCheck:
    """The edit checks alone (nothing written), of the live data or of release ``release``."""
    return await _run(db, campaign_id, district, None, release)


def refusal(result: LayoutCheck) -> ServiceError:
    return ServiceError(
        "edit-checks-failed",
        f"{result.failure_count} failure(s) of the official edit checks; nothing was exported.",
        errors=result.failures,
        failure_count=result.failure_count,
    )


async def export_layout(
    db: Database,
    campaign_id: int,
    district: str | None,
    fmt: LayoutFormat,
    release: int | None = None,
) -> LayoutFile:
    """The checked records as a file in a temporary place (the caller streams and deletes
    it); refused with every failure when any record fails."""
    handle, raw = tempfile.mkstemp(suffix=".zip" if fmt == "csv" else ".xlsx")
    os.close(handle)
    path = Path(raw)
    try:
        writer = layout_writer(path, fmt)
        try:
            result = await _run(db, campaign_id, district, writer, release)
        finally:
            await anyio.to_thread.run_sync(writer.close)
        if not result.passed:
            raise refusal(result)
    except BaseException:
        await anyio.Path(path).unlink(missing_ok=True)
        raise
    scope = (f"-{district}" if district else "") + (f"-release-{release}" if release else "")
    suffix = "zip" if fmt == "csv" else "xlsx"
    return LayoutFile(path, f"national-layout-{result.year}-{campaign_id}{scope}.{suffix}")
