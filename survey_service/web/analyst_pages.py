"""The analyst's page (``/analyst``): sign in with an analyst's token (an admin's session
opens it too), choose a released salary-survey campaign and its release, the groups (one
or two dimensions), filters and the measure, and see the wage table with every hidden cell
marked and why, a chart of P10-P90 by group, and the downloads: the same table as JSON,
CSV and Excel from the API (the session opens them), and the wage guide (PDF).

Figures come only from ``analytics.wage_reads.read_wage_table``, as the API's: analysts
read releases, never live data; an admin sees the detailed reasons a release keeps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from markupsafe import Markup

from survey_service.analytics import score_reads
from survey_service.analytics.exports import REASONS_ZH
from survey_service.analytics.release_store import ReleasedCampaign, released_campaigns
from survey_service.analytics.score_releases import ASSESSMENT, SATISFACTION
from survey_service.analytics.wage_dimensions import DIMENSIONS, code_name, enum_labels
from survey_service.analytics.wage_reads import WageAsk, read_wage_table
from survey_service.analytics.wages import WageTable
from survey_service.auth import Principal, audit, verified_principal
from survey_service.deps import DB, Releases, WageTables
from survey_service.errors import ServiceError
from survey_service.reference.codes import districts
from survey_service.reports import jobs
from survey_service.reports.requests import ask_report, readable_report
from survey_service.web.admin_pages import district_name
from survey_service.web.i18n import Lang, lang_of, pick, translate
from survey_service.web.pages import page, signin_throttled
from survey_service.web.posting import read_post
from survey_service.web.sessions import csrf_ok, csrf_token, sign_in, sign_out, signed_in
from survey_service.web.spread_chart import Spread, spread_chart
from survey_service.web.staff_access import field, see_other, signed_post

HOME = "/analyst"
SIGN_IN = "/analyst/signin"
READERS = ("analyst", "admin")
ALL = "*"
MAX_ROWS = 1000  # rows shown on the page; the downloads hold every one
MAX_CHARTED = 40

# The groups an analyst may ask (docs: at most two of the first kind, or one of the rest).
PAIRABLE = (
    "occupation", "occupation_major", "occupation_middle", "occupation_minor",
    "occupation_detailed", "industry", "industry_division", "district", "size_class",
)  # fmt: skip
ALONE = ("ownership", "education", "skill_level", "job_level")
DIMENSION_EN = {
    "occupation": "Occupation", "occupation_major": "Occupation (major group)",
    "occupation_middle": "Occupation (middle group)",
    "occupation_minor": "Occupation (minor group)",
    "occupation_detailed": "Occupation (detailed)", "industry": "Industry (section)",
    "industry_division": "Industry (division)", "district": "District", "size_class": "Size",
    "ownership": "Ownership", "education": "Education", "skill_level": "Skill grade or title",
    "job_level": "Management level",
}  # fmt: skip
REASONS_EN = {
    "min_enterprises": "too few enterprises",
    "min_workers": "too few workers",
    "p_percent": "one enterprise holds too large a share (p% rule)",
    "dominance": "a few enterprises hold too large a share (dominance rule)",
    "complementary": "hidden with another cell, so it cannot be worked out from the totals",
    "changed_since_release": "changed by too few enterprises since the last release",
    "weighted_dominance": "one enterprise's weighted share is too large",
    "confidential": "confidential",
}
REASONS_ZH_MORE = {
    "changed_since_release": "自上次发布以来变动企业过少",
    "weighted_dominance": "加权后个别企业占比过高",
}
FIGURES = ("p10", "p25", "p50", "p75", "p90", "mean")


def dimension_label(name: str, lang: Lang) -> str:
    return DIMENSIONS[name].label_zh if lang == "zh" else DIMENSION_EN[name]


def reason_text(reason: str | None, lang: Lang) -> str:
    if reason is None:
        return ""
    if lang == "en":
        return REASONS_EN.get(reason, reason)
    return REASONS_ZH.get(reason) or REASONS_ZH_MORE.get(reason) or reason


@dataclass(frozen=True, slots=True)
class Choice:
    """What the form asked, as the page writes it back into the form and the links."""

    campaign: int | None
    release: str | None
    by1: str
    by2: str
    measure: str
    filters: dict[str, str]

    @property
    def by(self) -> str:
        return ",".join(d for d in (self.by1, self.by2) if d)

    def api_query(self, number: int, fmt: str) -> str:
        query = {"by": self.by, "measure": self.measure, "release": str(number)}
        return urlencode(query | self.filters | {"format": fmt})


@dataclass(frozen=True, slots=True)
class ShownRow:
    groups: list[tuple[str | None, str]]  # (code, name) per dimension
    total: bool  # a margin ("all") in some dimension
    row: dict[str, Any]


def _group_name(
    dimension: str, code: str | None, labels: dict[str, dict[str, str]], lang: Lang
) -> str:
    if code == ALL:
        return "合计" if lang == "zh" else "All"
    if lang == "en" and dimension == "district" and code in districts():
        return districts()[code].name_en
    return code_name(dimension, code, labels)


def _shown_rows(table: WageTable, lang: Lang) -> list[ShownRow]:
    labels = enum_labels(table.campaign.schema)
    return [
        ShownRow(
            groups=[(row[d], _group_name(d, row[d], labels, lang)) for d in table.dimensions],
            total=any(row[d] == ALL for d in table.dimensions),
            row=row,
        )
        for row in table.rows[:MAX_ROWS]
    ]


def _short(label: str, most: int = 12) -> str:
    """A chart's label, cut to fit beside the axis (the table has it whole)."""
    return label if len(label) <= most else label[: most - 1] + "…"


def _quantiles(row: dict[str, Any]) -> tuple[float, float, float, float, float] | None:
    if row["suppressed"]:
        return None
    p10, p25, p50, p75, p90 = (float(row[q]) for q in ("p10", "p25", "p50", "p75", "p90"))
    return p10, p25, p50, p75, p90


def _chart(table: WageTable, rows: list[ShownRow], lang: Lang) -> tuple[Markup, int]:
    """P10-P90 of the first dimension's groups (over every group of the second, when there
    is one), and how many groups were left out of it."""
    first = table.dimensions[0]
    charted = [r for r in rows if all(r.row[d] == ALL for d in table.dimensions[1:])]
    spreads = [
        Spread(
            _short(r.groups[0][1]),
            _quantiles(r.row),
            "保密" if lang == "zh" else "confidential",
        )
        for r in charted[:MAX_CHARTED]
    ]
    title = (
        f"按{dimension_label(first, lang)}的工资分布（P10–P90，方框为 P25–P75，竖线为中位数）"
        if lang == "zh"
        else f"Pay by {dimension_label(first, lang).lower()}: P10–P90, the box P25–P75, "
        "the bar the median"
    )
    chart = spread_chart(spreads, title=title, median_word="中位数" if lang == "zh" else "P50")
    return chart, max(0, len(charted) - MAX_CHARTED)


def _choice(
    campaign: str | None,
    release: str | None,
    by1: str | None,
    by2: str | None,
    measure: str | None,
    filters: dict[str, str | None],
) -> Choice:
    number = int(campaign) if campaign and campaign.isascii() and campaign.isdigit() else None
    return Choice(
        campaign=number if number and number < 2**31 else None,
        release=(release or "").strip() or None,
        by1=(by1 or "occupation_major").strip(),
        by2=(by2 or "").strip(),
        measure=(measure or "annual").strip(),
        filters={k: v.strip() for k, v in filters.items() if v and v.strip()},
    )


async def _reader(request: Request[Any, Any, Any]) -> Principal | None:
    return await signed_in(request, *READERS)


class AnalystPageController(Controller):
    path = HOME
    tags = ["analyst pages"]
    include_in_schema = False

    @get("/signin", media_type=MediaType.HTML)
    async def signin_page(self, request: Request[Any, Any, Any]) -> Response[Any]:
        if await _reader(request) is not None:
            return see_other(HOME)
        return page(request, "analyst_signin.html", csrf=csrf_token(request), error="")

    @post("/signin", media_type=MediaType.HTML)
    async def signin(self, request: Request[Any, Any, Any], db: DB) -> Response[Any]:
        """Exchange an analyst's (or an admin's) token, posted, for a session cookie."""
        posted = await read_post(request)
        lang = lang_of(request)
        if not csrf_ok(request, posted.csrf):
            error = translate(lang, "The form has expired; please try again.")
            return page(request, "analyst_signin.html", 403, csrf=csrf_token(request), error=error)
        token = (posted.fields.get("token") or [""])[0].strip()
        try:
            principal = await verified_principal(request, token) if token else None
        except ServiceError as exc:  # too many failed sign-ins from here
            return signin_throttled(request, exc, role="analyst")
        if principal is not None and principal.role not in READERS:
            async with db.transaction() as session:  # an invitation code: not for this page
                audit(session, None, "auth.refused", None, reason="role", path=SIGN_IN,
                      token_id=principal.token_id)  # fmt: skip
            principal = None
        if principal is None:
            error = (
                "令牌无效、已过期、已被撤销或不是分析员令牌。"
                if lang == "zh"
                else "The token is unknown, expired, revoked or not an analyst's."
            )
            return page(request, "analyst_signin.html", 401, csrf=csrf_token(request), error=error)
        async with db.transaction() as session:
            audit(session, principal, "session.sign_in", "page:analyst")
        sign_in(request, principal)
        return see_other(HOME)

    @post("/signout", media_type=MediaType.HTML)
    async def signout(self, request: Request[Any, Any, Any]) -> Response[Any]:
        if not isinstance(await signed_post(request, READERS, SIGN_IN), Response):
            sign_out(request)
        return see_other(SIGN_IN)

    @get("/", media_type=MediaType.HTML)
    async def tables(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        release_store: Releases,
        wage_tables: WageTables,
        campaign: FromQuery[str | None] = None,
        release: FromQuery[str | None] = None,
        by1: FromQuery[str | None] = None,
        by2: FromQuery[str | None] = None,
        measure: FromQuery[str | None] = None,
        occupation: FromQuery[str | None] = None,
        industry: FromQuery[str | None] = None,
        district: FromQuery[str | None] = None,
        size_class: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """The form, and the table it asks for with its chart and downloads."""
        principal = await _reader(request)
        if principal is None:
            return see_other(SIGN_IN)
        lang = lang_of(request)
        filters = {"occupation": occupation, "industry": industry, "district": district,
                   "size_class": size_class}  # fmt: skip
        chosen = _choice(campaign, release, by1, by2, measure, filters)
        async with db.read() as session:
            released = await released_campaigns(session, "wages")
        current: ReleasedCampaign | None = next(
            (c for c in released if c.id == chosen.campaign), None
        )
        if current is None and chosen.campaign is None and released:
            current = released[0]
        context: dict[str, Any] = {
            "released": released,
            "current": current,
            "chosen": chosen,
            "pairable": PAIRABLE,
            "alone": ALONE,
            "dimension_label": dimension_label,
            "reason_text": reason_text,
            "districts": [d for d in districts().values() if d.level != "city"],
            "figures": FIGURES,
            "is_admin": principal.role == "admin",
            "csrf": csrf_token(request),
            "table": None,
            "rows": [],
            "chart": Markup(""),
            "chart_left_out": 0,
            "error": "",
            "downloads": {},
            "size_labels": {},
        }
        status = 200
        campaign_id = current.id if current else chosen.campaign
        if campaign_id is not None:
            ask = WageAsk(
                by=chosen.by,
                measure="monthly" if chosen.measure == "monthly" else "annual",
                release=chosen.release,
                filters=chosen.filters,
            )
            try:
                table = await read_wage_table(
                    db, release_store, wage_tables, principal,
                    campaign_id, ask,
                )  # fmt: skip
            except ServiceError as exc:
                status, context["error"] = exc.status_code, str(exc.detail)
            else:
                if not table.meta.get("release"):  # an admin's live view: not on this page
                    status, context["error"] = (
                        403,
                        (
                            "这个页面只显示已发布的数据；实时数据请用接口 release=live 查看。"
                            if lang == "zh"
                            else "This page shows releases only; the live view is the API's "
                            "(release=live)."
                        ),
                    )
                    return page(request, "analyst_tables.html", status, **context)
                rows = _shown_rows(table, lang)
                chart, left_out = _chart(table, rows, lang)
                released_as = table.meta.get("release") or {}
                number = released_as.get("number")
                context |= {
                    "table": table,
                    "rows": rows,
                    "chart": chart,
                    "chart_left_out": left_out,
                    "release_meta": released_as,
                    "released_at": datetime.fromisoformat(released_as["created_at"])
                    if released_as
                    else None,
                    "downloads": {
                        fmt: f"/api/v1/campaigns/{campaign_id}/benchmarks/wages?"
                        + chosen.api_query(number, fmt)
                        for fmt in ("json", "csv", "xlsx")
                    }
                    if number
                    else {},
                    "size_labels": enum_labels(table.campaign.schema).get("size_class", {}),
                }
        return page(request, "analyst_tables.html", status, **context)

    @get("/scores", media_type=MediaType.HTML)
    async def scores(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        campaign: FromQuery[str | None] = None,
        release: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """The released worker-satisfaction and self-assessment figures by district, the
        same as the API gives an analyst, with their downloads."""
        principal = await _reader(request)
        if principal is None:
            return see_other(SIGN_IN)
        async with db.read() as session:
            released = await released_campaigns(session, SATISFACTION, ASSESSMENT)
            chosen = next((c for c in released if str(c.id) == campaign), None)
            current = chosen or (released[0] if released and campaign is None else None)
            context: dict[str, Any] = {
                "released": released, "current": current, "figures": None, "error": "",
                "pick": pick, "district_name": district_name, "csrf": csrf_token(request),
                "is_admin": principal.role == "admin",
            }  # fmt: skip
            if current is None:
                status = 404 if campaign is not None else 200
                if campaign is not None:
                    context["error"] = (
                        "这个调查活动没有已发布的得分。"
                        if lang_of(request) == "zh"
                        else "This campaign has no released scores."
                    )
                return page(request, "analyst_scores.html", status, **context)
            number = release if release and release.isascii() and release.isdigit() else None
            try:
                if current.kind == SATISFACTION:
                    figures: Any = await score_reads.read_satisfaction(
                        session, principal, current.id, "district",
                        release=number or str(current.numbers[0]), comments=False,
                    )  # fmt: skip
                else:
                    figures = await score_reads.read_assessments(
                        session, principal, current.id, release=number or str(current.numbers[0])
                    )
            except ServiceError as exc:
                context["error"] = str(exc.detail)
                return page(request, "analyst_scores.html", exc.status_code, **context)
        context |= {
            "figures": figures,
            "kind": "poll" if current.kind == SATISFACTION else "self-assessment",
        }
        return page(request, "analyst_scores.html", **context)

    @post("/guide", media_type=MediaType.HTML)
    async def guide(self, request: Request[Any, Any, Any], db: DB) -> Response[Any]:
        """Ask for the wage guide (PDF) of a campaign's latest release, as the API does."""
        sent = await signed_post(request, READERS, SIGN_IN)
        if isinstance(sent, Response):
            return sent
        principal, posted = sent
        raw = field(posted, "campaign_id")
        campaign_id = int(raw) if raw.isascii() and raw.isdigit() and int(raw) < 2**31 else 0
        queue: jobs.Queue = request.app.state.reports
        try:
            if campaign_id < 1:
                raise ServiceError("unprocessable", "No campaign was chosen.")
            asked = await ask_report(
                db, queue, principal, "wage-benchmark", {"campaign_id": campaign_id}
            )
        except ServiceError as exc:
            return page(
                request, "analyst_report.html", exc.status_code, report=None,
                error=str(exc.detail), csrf=csrf_token(request),
            )  # fmt: skip
        return see_other(f"{HOME}/reports/{asked.report.id}")

    @get("/reports/{report_id:str}", media_type=MediaType.HTML)
    async def report(
        self, request: Request[Any, Any, Any], db: DB, report_id: FromPath[str]
    ) -> Response[Any]:
        """A report asked for here: its state (the page looks again every few seconds
        until it is done) and, once done, the link to the PDF."""
        principal = await _reader(request)
        if principal is None:
            return see_other(SIGN_IN)
        try:
            row = await readable_report(db, principal, report_id, with_pdf=False)
        except ServiceError as exc:
            return page(
                request, "analyst_report.html", exc.status_code, report=None,
                error=str(exc.detail), csrf=csrf_token(request),
            )  # fmt: skip
        waiting = row.status in ("queued", "rendering")
        return page(
            request,
            "analyst_report.html",
            report=row,
            error="",
            csrf=csrf_token(request),
            headers={"Refresh": "3"} if waiting else None,
        )
