"""HTTP routes of the scores: worker satisfaction, self-assessments and participation."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.params import FromQuery, QueryParameter
from litestar.response import Response

from survey_service.analytics import (
    assessments,
    participation,
    satisfaction,
    score_reads,
    score_tables,
)
from survey_service.auth import principal_of, require
from survey_service.db.models import utcnow
from survey_service.deps import DB, Config, PathId, ReleaseChoice
from survey_service.downloads import Format, chosen_format, sheet_csv_response, xlsx_response
from survey_service.errors import ServiceError
from survey_service.openapi import BEARER, downloads, problems
from survey_service.tabular import XLSX

Year = Annotated[int, QueryParameter(ge=2000, le=2100, description="the campaigns' year")]
AS_OF = (
    "Count as everything stood at this instant (not in the future): a date alone "
    "(`2023-12-31`) is the end of that day in the service's time zone; an RFC 3339 "
    "date-time with its offset is that instant. Default: now, to the second."
)


class ScoreController(Controller):
    path = "/api/v1"
    tags = ["analytics"]
    security = BEARER

    @get(
        "/campaigns/{campaign_id:int}/satisfaction",
        guards=[require("admin", "analyst")],
        operation_class=downloads("text/csv; charset=utf-8", XLSX),
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
        format: FromQuery[Format | None] = None,
    ) -> Response[satisfaction.SatisfactionOut]:
        """Per question and per duty: mean, favourable / neutral / unfavourable shares and
        distribution; the would-recommend score. Overall, and with `by` per enterprise
        (admins, live view only), district or industry (GB/T 4754 division).

        Analysts read the campaign's latest release (`release=N`: another one; none yet:
        409); admins the live view unless they name a release. In a release a group is
        shown only with enough answers and enterprises and when the published groups and
        earlier releases cannot give it back; comments only for the whole city. Live, a
        group with fewer answers than the anonymity threshold shows its count only and
        comments need more (sorted by text; `comments=false` leaves them out).

        `format=csv` or `xlsx` (or the Accept header): the same figures as a table, one row
        per group and item; the XLSX adds the comments and a notes sheet."""
        async with db.read() as session:
            out = await score_reads.read_satisfaction(
                session, principal_of(request), campaign_id, by, release=release, comments=comments
            )
            chosen = chosen_format(request, format)
            if chosen == "json":
                return Response(out)
            title = await score_reads.campaign_label(session, campaign_id)
        name = score_tables.file_name("satisfaction", campaign_id, out.release)
        if chosen == "csv":
            return sheet_csv_response(name, score_tables.satisfaction_sheet(out))
        sheets = [score_tables.satisfaction_sheet(out), score_tables.satisfaction_comments(out)]
        return await xlsx_response(name, sheets, score_tables.satisfaction_notes(out, title))

    @get(
        "/campaigns/{campaign_id:int}/assessments",
        guards=[require("admin", "analyst", "enterprise")],
        operation_class=downloads("text/csv; charset=utf-8", XLSX),
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def get_assessments(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        campaign_id: PathId,
        release: FromQuery[ReleaseChoice] = None,
        format: FromQuery[Format | None] = None,
    ) -> Response[assessments.AssessmentsOut]:
        """Each enterprise's points per duty and in total, its veto items and grade (a veto
        caps the grade whatever the score), scored by the rules of the campaign's form
        version; per district the mean total and grade counts, ranked. An enterprise's
        token gets its own row only (live).

        Analysts read the campaign's latest release (`release=N`: another one; none yet:
        409): districts and the city only, a district hidden (counts only) when it has too
        few enterprises or the published figures and earlier releases would give it back,
        ranks over the published districts. Admins get the live view unless they name a
        release.

        `format=csv` or `xlsx` (or the Accept header): the same rows as a table
        (enterprises when shown, districts, the city); the XLSX adds a notes sheet."""
        async with db.read() as session:
            out = await score_reads.read_assessments(
                session, principal_of(request), campaign_id, release=release
            )
            chosen = chosen_format(request, format)
            if chosen == "json":
                return Response(out)
            title = await score_reads.campaign_label(session, campaign_id)
        name = score_tables.file_name("assessments", campaign_id, out.release)
        sheet = score_tables.assessment_sheet(out)
        if chosen == "csv":
            return sheet_csv_response(name, sheet)
        return await xlsx_response(name, [sheet], score_tables.assessment_notes(out, title))

    @get(
        "/participation",
        guards=[require("admin", "analyst")],
        responses=problems(400, 401, 403, 422),
    )
    async def get_participation(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        app_settings: Config,
        year: FromQuery[Year],
        as_of: Annotated[str | None, QueryParameter(description=AS_OF)] = None,
    ) -> participation.ParticipationOut:
        """Who took part in the year's campaigns, by district (ranked by participation rate)
        and for the city, each rate beside its target; admins also get the enterprises
        still missing. Counted as everything stood at `as_of` (now by default): the
        registry's history, the surveys' revisions, the contract records known then."""
        at = participation.as_of_instant(as_of, app_settings.zone, utcnow())
        try:
            targets = participation.load_targets(app_settings.participation_targets)
        except (OSError, msgspec.DecodeError) as exc:
            detail = f"The participation targets cannot be read: {exc}"
            raise ServiceError("internal-error", detail) from None
        async with db.read() as session:
            return await participation.year_participation(
                session,
                year,
                targets,
                with_lists=principal_of(request).role == "admin",
                zone=app_settings.zone,
                at=at,
            )
