"""HTTP routes of the scores: worker satisfaction, self-assessments and participation."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.params import FromQuery, QueryParameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.analytics import assessments, participation, satisfaction, score_releases
from survey_service.analytics.release_store import find_release
from survey_service.auth import Principal, require
from survey_service.db.models import Campaign, Form, FormVersion, Release
from survey_service.deps import DB, PathId
from survey_service.errors import not_found, problem
from survey_service.openapi import BEARER, problems
from survey_service.settings import Settings

Year = Annotated[int, QueryParameter(ge=2000, le=2100, description="the campaigns' year")]
ReleaseChoice = Annotated[
    str | None,
    QueryParameter(
        pattern=r"^(live|[1-9][0-9]{0,8})$",
        description="a release's number; default the latest (analysts) or `live` (admins, "
        "the live view, and their default)",
    ),
]


async def _campaign(session: AsyncSession, campaign_id: int) -> tuple[Campaign, FormVersion, Form]:
    row = (
        await session.execute(
            select(Campaign, FormVersion, Form)
            .join(FormVersion, Campaign.form_version_id == FormVersion.id)
            .join(Form, FormVersion.form_id == Form.id)
            .where(Campaign.id == campaign_id)
        )
    ).first()
    if row is None:
        raise not_found(f"Campaign {campaign_id}")
    return row[0], row[1], row[2]


async def _form_version(session: AsyncSession, form: Form, number: int) -> FormVersion:
    """The form version a release was scored with (form versions never change)."""
    found = await session.scalar(
        select(FormVersion).where(FormVersion.form_id == form.id, FormVersion.number == number)
    )
    if found is None:
        raise not_found(f"Version {number} of form {form.key}")
    return found


def _principal(request: Request[Any, Any, Any]) -> Principal:
    principal: Principal = request.state.principal
    return principal


async def _release(
    session: AsyncSession, principal: Principal, campaign: Campaign, kind: str, choice: str | None
) -> Release | None:
    """The release to read (None: the live view). Analysts read releases only."""
    if choice == "live" or (choice is None and principal.role == "admin"):
        if principal.role != "admin":
            raise problem(403, "The live view is for admins; analysts read releases.")
        return None
    number = int(choice) if choice is not None else None
    row = await find_release(session, campaign.id, kind, number)
    if row is None and number is not None:
        raise not_found(f"Release {number} of campaign {campaign.id}")
    if row is None:
        raise problem(409, f"campaign {campaign.id} has no release yet")
    return row


def _wrong_form(form: Form, wanted: str, what: str) -> None:
    if form.kind != wanted:
        raise problem(
            422, f"{what} come from {wanted} campaigns; this one's form is a {form.kind}."
        )


class ScoreController(Controller):
    path = "/api/v1"
    tags = ["analytics"]
    security = BEARER

    @get(
        "/campaigns/{campaign_id:int}/satisfaction",
        guards=[require("admin", "analyst")],
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def get_satisfaction(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        campaign_id: PathId,
        by: FromQuery[satisfaction.GroupBy | None] = None,
        comments: FromQuery[bool] = True,
        release: FromQuery[ReleaseChoice] = None,
    ) -> satisfaction.SatisfactionOut:
        """Per question and per duty: mean, favourable / neutral / unfavourable shares and
        distribution; the would-recommend score. Overall, and with `by` per enterprise
        (admins, live view only), district or industry (GB/T 4754 division).

        Analysts read the campaign's latest release (`release=N`: another one; none yet:
        409); admins the live view unless they name a release. In a release a group is
        shown only with enough answers and enterprises and when the published groups and
        earlier releases cannot give it back; comments only for the whole city. Live, a
        group with fewer answers than the anonymity threshold shows its count only and
        comments need more (sorted by text; `comments=false` leaves them out)."""
        principal = _principal(request)
        if by == "enterprise" and principal.role != "admin":
            raise problem(403, "Figures by enterprise are for admins; analysts see groups.")
        async with db.read() as session:
            campaign, version, form = await _campaign(session, campaign_id)
            _wrong_form(form, "poll", "Satisfaction figures")
            row = await _release(session, principal, campaign, score_releases.SATISFACTION, release)
            try:
                if row is not None:
                    if by == "enterprise":
                        raise problem(
                            422, "A release holds no enterprise: by=enterprise needs release=live."
                        )
                    frozen_version = await _form_version(session, form, row.rules["form_version"])
                    return score_releases.satisfaction_of_release(
                        row, frozen_version, by, with_comments=comments
                    )
                return await satisfaction.campaign_satisfaction(
                    session, campaign, version, by, with_comments=comments
                )
            except satisfaction.RulesProblem as exc:
                raise problem(422, f"The poll cannot be scored: {exc}.") from None

    @get(
        "/campaigns/{campaign_id:int}/assessments",
        guards=[require("admin", "analyst", "enterprise")],
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def get_assessments(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        campaign_id: PathId,
        release: FromQuery[ReleaseChoice] = None,
    ) -> assessments.AssessmentsOut:
        """Each enterprise's points per duty and in total, its veto items and grade (a veto
        caps the grade whatever the score), scored by the rules of the campaign's form
        version; per district the mean total and grade counts, ranked. An enterprise's
        token gets its own row only (live).

        Analysts read the campaign's latest release (`release=N`: another one; none yet:
        409): districts and the city only, a district hidden (counts only) when it has too
        few enterprises or the published figures and earlier releases would give it back,
        ranks over the published districts. Admins get the live view unless they name a
        release."""
        principal = _principal(request)
        own = principal.role == "enterprise"
        if own and principal.campaign_id != campaign_id:
            raise not_found(f"Campaign {campaign_id}")
        async with db.read() as session:
            campaign, version, form = await _campaign(session, campaign_id)
            _wrong_form(form, "self-assessment", "Assessments")
            row = (
                None
                if own
                else await _release(
                    session, principal, campaign, score_releases.ASSESSMENT, release
                )
            )
            try:
                if row is not None:
                    frozen_version = await _form_version(session, form, row.rules["form_version"])
                    return score_releases.assessments_of_release(row, frozen_version)
                return await assessments.campaign_assessments(
                    session,
                    campaign,
                    version,
                    enterprise_id=principal.enterprise_id if own else None,
                )
            except assessments.RulesProblem as exc:
                raise problem(422, f"The assessments cannot be scored: {exc}.") from None

    @get(
        "/participation",
        guards=[require("admin", "analyst")],
        responses=problems(400, 401, 403, 422),
    )
    async def get_participation(
        self, request: Request[Any, Any, Any], db: DB, year: FromQuery[Year]
    ) -> participation.ParticipationOut:
        """Who took part in the year's campaigns, by district (ranked by participation rate)
        and for the city, each rate beside its target; admins also get the enterprises
        still missing."""
        settings: Settings = request.app.state.settings
        try:
            targets = participation.load_targets(settings.participation_targets)
        except (OSError, msgspec.DecodeError) as exc:
            raise problem(500, f"The participation targets cannot be read: {exc}") from None
        async with db.read() as session:
            return await participation.year_participation(
                session, year, targets, with_lists=_principal(request).role == "admin"
            )
