"""Reading the scores as a principal may: the live view or a release, chosen and checked
once for the API's routes and the bureau's pages alike."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.analytics import assessments, exports, satisfaction, score_releases
from survey_service.analytics.release_store import find_release
from survey_service.auth import Principal
from survey_service.db.lookups import campaign_with_form
from survey_service.db.models import Campaign, Form, FormVersion, Release
from survey_service.errors import ServiceError, not_found


async def _campaign(session: AsyncSession, campaign_id: int) -> tuple[Campaign, FormVersion, Form]:
    found = await campaign_with_form(session, campaign_id)
    if found is None:
        raise not_found(f"Campaign {campaign_id}")
    return found


async def campaign_label(session: AsyncSession, campaign_id: int) -> str:
    """The campaign as a download's notes name it (``exports.campaign_label``)."""
    campaign, _, _ = await _campaign(session, campaign_id)
    return exports.campaign_label(campaign.title, campaign.year)


async def _form_version(session: AsyncSession, form: Form, number: int) -> FormVersion:
    """The form version a release was scored with (form versions never change)."""
    found = await session.scalar(
        select(FormVersion).where(FormVersion.form_id == form.id, FormVersion.number == number)
    )
    if found is None:
        raise not_found(f"Version {number} of form {form.key}")
    return found


async def _release(
    session: AsyncSession, principal: Principal, campaign: Campaign, kind: str, choice: str | None
) -> Release | None:
    """The release to read (None: the live view). Analysts read releases only."""
    if choice == "live" or (choice is None and principal.role == "admin"):
        if principal.role != "admin":
            raise ServiceError("forbidden", "The live view is for admins; analysts read releases.")
        return None
    number = int(choice) if choice is not None else None
    row = await find_release(session, campaign.id, kind, number)
    if row is None and number is not None:
        raise not_found(f"Release {number} of campaign {campaign.id}")
    if row is None:
        raise ServiceError("no-release-yet", f"campaign {campaign.id} has no release yet")
    return row


def _wrong_form(form: Form, wanted: str, what: str) -> None:
    if form.kind != wanted:
        raise ServiceError(
            "unprocessable",
            f"{what} come from {wanted} campaigns; this one's form is a {form.kind}.",
        )


async def read_satisfaction(
    session: AsyncSession,
    principal: Principal,
    campaign_id: int,
    by: satisfaction.GroupBy | None,
    *,
    release: str | None,
    comments: bool,
) -> satisfaction.SatisfactionOut:
    if by == "enterprise" and principal.role != "admin":
        raise ServiceError(
            "forbidden", "Figures by enterprise are for admins; analysts see groups."
        )
    campaign, version, form = await _campaign(session, campaign_id)
    _wrong_form(form, "poll", "Satisfaction figures")
    row = await _release(session, principal, campaign, score_releases.SATISFACTION, release)
    try:
        if row is not None:
            if by == "enterprise":
                raise ServiceError(
                    "unprocessable",
                    "A release holds no enterprise: by=enterprise needs release=live.",
                )
            frozen_version = await _form_version(session, form, row.rules["form_version"])
            return score_releases.satisfaction_of_release(
                row, frozen_version, by, with_comments=comments
            )
        return await satisfaction.campaign_satisfaction(
            session, campaign, version, by, with_comments=comments
        )
    except satisfaction.RulesProblem as exc:
        raise ServiceError("unprocessable", f"The poll cannot be scored: {exc}.") from None


async def read_assessments(
    session: AsyncSession, principal: Principal, campaign_id: int, *, release: str | None
) -> assessments.AssessmentsOut:
    own = principal.role == "enterprise"
    if own and principal.campaign_id != campaign_id:
        raise not_found(f"Campaign {campaign_id}")
    campaign, version, form = await _campaign(session, campaign_id)
    _wrong_form(form, "self-assessment", "Assessments")
    row = (
        None
        if own
        else await _release(session, principal, campaign, score_releases.ASSESSMENT, release)
    )
    try:
        if row is not None:
            frozen_version = await _form_version(session, form, row.rules["form_version"])
            return score_releases.assessments_of_release(row, frozen_version)
        return await assessments.campaign_assessments(
            session, campaign, version, enterprise_id=principal.enterprise_id if own else None
        )
    except assessments.RulesProblem as exc:
        raise ServiceError("unprocessable", f"The assessments cannot be scored: {exc}.") from None
