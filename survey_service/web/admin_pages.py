"""The bureau's pages (``/admin``): sign in with an admin token, the dashboard (campaigns,
progress by district as bars, participation against the targets as a table and bars, each
campaign's latest release and the downloads of its tables: figures of enterprises leave
only through releases), a campaign's scores, and the form builder (its script calls the
forms API with the session; the live preview is drawn here by the same renderer as every
other form)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.params import FromQuery
from markupsafe import Markup

from survey_service.analytics import participation, releases, score_reads
from survey_service.auth import BUREAU_ROLES, CSRF_HEADER, audit, csrf_matches, verified_principal
from survey_service.collection import campaigns
from survey_service.collection.progress import campaign_progress, poll_answers_by_district
from survey_service.collection.schemas import CampaignOut, ProgressOut
from survey_service.db.models import utcnow
from survey_service.deps import DB, PathId, ReleaseChoice
from survey_service.errors import ServiceError
from survey_service.forms.builder import (
    BuilderError,
    Label,
    build_schema,
    check_builder_fields,
    decode_builder_fields,
)
from survey_service.local_time import local_time
from survey_service.reference.codes import districts
from survey_service.settings import Settings
from survey_service.web.charts import Bar, bar_chart
from survey_service.web.form_view import form_view
from survey_service.web.i18n import Lang, lang_of, pick, translate
from survey_service.web.pages import (
    environment,
    page,
    signin_throttled,
)
from survey_service.web.participation_view import participation_charts
from survey_service.web.posting import read_post
from survey_service.web.sessions import csrf_ok, csrf_token, sign_in, sign_out, signed_in
from survey_service.web.staff_access import see_other

HOME = "/admin"
# A district's staff start at their district's review queue (the dashboard is the city's).
DISTRICT_HOME = "/admin/review"
SIGN_IN = "/admin/signin"


def district_name(code: str | None, lang: Lang) -> str:
    if code is None:
        return "全市" if lang == "zh" else "All districts"
    found = districts().get(code)
    if found is None:
        return code
    return found.name if lang == "zh" else found.name_en


@dataclass(frozen=True, slots=True)
class LatestRelease:
    """A campaign's latest release, as the dashboard names it and links its tables."""

    number: int
    created_at: datetime
    during_collection: bool


@dataclass(frozen=True, slots=True)
class CampaignSummary:
    campaign: CampaignOut
    kind: str
    progress: ProgressOut | None  # surveys: invited, drafts, submitted by district
    responses: dict[str, int]  # polls: answers by district
    chart: Markup
    release: LatestRelease | None = None  # none yet: nothing to download


def _survey_chart(progress: ProgressOut, lang: Lang) -> Markup:
    bars = [
        Bar(
            district_name(row.district, lang),
            row.response_rate or 0.0,
            f"{row.submitted} / {row.invited}"
            + (f" ({row.response_rate:.0%})" if row.response_rate is not None else ""),
        )
        for row in [*progress.by_district, progress.overall]
    ]
    title = "各区县填报率" if lang == "zh" else "Response rate by district"
    return bar_chart(bars, title=title, scale=1.0)


def _poll_chart(responses: dict[str, int], lang: Lang) -> Markup:
    if not responses:
        return Markup("")
    most = max(responses.values(), default=0)
    unit = " 份" if lang == "zh" else ""
    bars = [
        Bar(district_name(code, lang), n, f"{n}{unit}") for code, n in sorted(responses.items())
    ]
    title = "各区县答卷数" if lang == "zh" else "Answers by district"
    return bar_chart(bars, title=title, scale=float(most or 1))


async def _participation(
    request: Request[Any, Any, Any], db: DB, year: int
) -> participation.ParticipationOut | None:
    """The latest year's participation by district against the targets (None when the
    targets file cannot be read: the dashboard still shows the campaigns)."""
    settings: Settings = request.app.state.settings
    try:
        targets = participation.load_targets(settings.participation_targets)
    except (OSError, msgspec.DecodeError):
        return None
    async with db.read() as session:
        return await participation.year_participation(
            session, year, targets, with_lists=False, zone=settings.zone
        )


async def _summaries(db: DB, lang: Lang, only: int | None = None) -> list[CampaignSummary]:
    out: list[CampaignSummary] = []
    async with db.read() as session:
        listed = await campaigns.list_campaigns(session)
        latest = {
            campaign_id: LatestRelease(row.number, row.created_at, row.during_collection)
            for campaign_id, row in (await releases.latest_releases(session)).items()
        }
        for campaign in listed:
            if only is not None and campaign.id != only:
                continue
            _, _, form = await campaigns.load_campaign(session, campaign.id)
            if form.kind == "poll":
                responses = await poll_answers_by_district(session, campaign.id)
                out.append(
                    CampaignSummary(
                        campaign,
                        form.kind,
                        None,
                        responses,
                        _poll_chart(responses, lang),
                        latest.get(campaign.id),
                    )
                )
            else:
                progress = await campaign_progress(session, campaign.id)
                out.append(
                    CampaignSummary(
                        campaign,
                        form.kind,
                        progress,
                        {},
                        _survey_chart(progress, lang),
                        latest.get(campaign.id),
                    )
                )
    return out


class AdminPageController(Controller):
    path = "/admin"
    tags = ["admin pages"]
    include_in_schema = False

    @get("/signin", media_type=MediaType.HTML)
    async def signin_page(self, request: Request[Any, Any, Any]) -> Response[Any]:
        if await signed_in(request, "admin"):
            return see_other(HOME)
        return page(request, "signin.html", role="admin", csrf=csrf_token(request), error="")

    @post("/signin", media_type=MediaType.HTML)
    async def signin(self, request: Request[Any, Any, Any], db: DB) -> Response[Any]:
        """Exchange an admin token (posted) for a session cookie."""
        posted = await read_post(request)
        lang = lang_of(request)
        if not csrf_ok(request, posted.csrf):
            error = "页面已过期，请重试。" if lang == "zh" else "The page expired; try again."
            return page(
                request, "signin.html", 403, role="admin", csrf=csrf_token(request), error=error
            )
        token = (posted.fields.get("token") or [""])[0].strip()
        try:
            principal = await verified_principal(request, token, BUREAU_ROLES) if token else None
        except ServiceError as exc:
            if exc.kind != "too-many-failed-attempts":
                raise
            return signin_throttled(request, exc, role="admin")
        if principal is None:
            error = (
                "令牌无效、已过期、已被撤销，或不是管理员或区县工作人员的令牌。"
                if lang == "zh"
                else "The token is unknown, expired, revoked or not an administrator's."
            )
            return page(
                request, "signin.html", 401, role="admin", csrf=csrf_token(request), error=error
            )
        async with db.transaction() as session:
            audit(session, principal, "session.sign_in", "page:admin")
        sign_in(request, principal)
        return see_other(HOME if principal.role == "admin" else DISTRICT_HOME)

    @post("/signout", media_type=MediaType.HTML)
    async def signout(self, request: Request[Any, Any, Any]) -> Response[Any]:
        posted = await read_post(request)
        if csrf_ok(request, posted.csrf):
            sign_out(request)
        return see_other(SIGN_IN)

    @get("/", media_type=MediaType.HTML)
    async def dashboard(
        self, request: Request[Any, Any, Any], db: DB, year: FromQuery[str | None] = None
    ) -> Response[Any]:
        """Every campaign with its progress by district, and the downloads; participation
        against the targets in the latest campaign year (or ``?year=``) as a table and bars;
        a district's staff are sent to their district's review queue."""
        principal = await signed_in(request, *BUREAU_ROLES)
        if principal is None:
            return see_other(SIGN_IN)
        if principal.role != "admin":
            return see_other(DISTRICT_HOME)
        lang = lang_of(request)
        summaries = await _summaries(db, lang)
        # Participation is counted by campaign year, which a survey of last year's pay
        # shares with this year's poll.
        years = sorted({s.campaign.campaign_year for s in summaries}, reverse=True)
        shown = next((y for y in years if str(y) == year), years[0] if years else None)
        figures = await _participation(request, db, shown) if shown is not None else None
        return page(
            request,
            "admin_dashboard.html",
            summaries=summaries,
            years=years,
            participation=figures,
            participation_charts=participation_charts(figures, lang) if figures else [],
            csrf=csrf_token(request),
            district_name=district_name,
            today=local_time(utcnow(), request.app.state.settings.zone, "day"),
        )

    @get("/campaigns/{campaign_id:int}/scores", media_type=MediaType.HTML)
    async def scores(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        campaign_id: PathId,
        release: FromQuery[ReleaseChoice] = None,
    ) -> Response[Any]:
        """A poll's satisfaction or the self-assessments by district, as a table to read
        (the same figures as the API's, of a release or the live view)."""
        principal = await signed_in(request, "admin")
        if principal is None:
            return see_other(SIGN_IN)
        lang = lang_of(request)
        async with db.read() as session:
            campaign, _, form = await campaigns.load_campaign(session, campaign_id)
            try:
                if form.kind == "poll":
                    figures: Any = await score_reads.read_satisfaction(
                        session, principal, campaign_id, "district",
                        release=release, comments=False,
                    )  # fmt: skip
                else:
                    figures = await score_reads.read_assessments(
                        session, principal, campaign_id, release=release
                    )
            except ServiceError as exc:
                return page(
                    request, "message.html", exc.status_code,
                    title="无法显示得分" if lang == "zh" else "No scores to show",
                    message=exc.detail, csrf=csrf_token(request),
                )  # fmt: skip
        return page(
            request,
            "admin_scores.html",
            campaign=campaign,
            kind=form.kind,
            figures=figures,
            pick=pick,
            district_name=district_name,
            csrf=csrf_token(request),
        )

    @get("/builder", media_type=MediaType.HTML)
    async def builder(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """The form builder: palette, field editor, live preview, the JSON Schema, publish."""
        if await signed_in(request, "admin") is None:
            return see_other(SIGN_IN)
        return page(request, "admin_builder.html", csrf=csrf_token(request))

    @post("/builder/preview", media_type=MediaType.JSON, status_code=200)
    async def preview(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """Builder fields -> ``{html, schema, ui, errors}``: the preview as the respondent
        will see it, and the JSON Schema it makes (or what is wrong with the fields)."""
        if await signed_in(request, "admin") is None:
            return Response({"detail": "Sign in first."}, status_code=401)
        if not csrf_matches(request, request.headers.get(CSRF_HEADER)):
            return Response({"detail": "The CSRF token is missing or wrong."}, status_code=403)
        lang = lang_of(request)
        body = await request.body()
        try:
            raw = msgspec.json.decode(body)
            title = msgspec.convert(raw.get("title") or {"zh": "未命名表单"}, Label)
            description = msgspec.convert(raw.get("description"), Label | None)
            fields = decode_builder_fields(msgspec.json.encode(raw.get("fields") or []))
        except (msgspec.ValidationError, msgspec.DecodeError, AttributeError) as exc:
            return Response({"html": "", "schema": None, "ui": None, "errors": [_shape(exc)]})
        issues = check_builder_fields(fields)
        if issues:
            return Response({"html": "", "schema": None, "ui": None, "errors": issues})
        try:
            built = build_schema(fields, title=title, description=description)
        except BuilderError as exc:
            return Response({"html": "", "schema": None, "ui": None, "errors": exc.errors})
        view = form_view(built.schema, built.ui, {}, [], lang)
        html = environment.get_template("builder_preview.html").render(
            lang=lang, t=lambda text, **values: translate(lang, text, **values), view=view
        )
        return Response({"html": html, "schema": built.schema, "ui": built.ui, "errors": []})


def _shape(exc: Exception) -> dict[str, str]:
    text = str(exc)
    message, _, where = text.rpartition(" - at `$")
    path = where.rstrip("`").replace("[", "/").replace("]", "").replace(".", "/") if where else ""
    return {
        "path": "/fields" + path if path else "",
        "message": message or text,
        "keyword": "shape",
    }
