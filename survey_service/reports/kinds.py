"""The three reports: what each gathers from the analytics and how it is cut into sections.

Each kind has ``gather`` (figures from the same functions the API answers with, so a PDF
never says other than the API) and ``sections`` (the HTML of each part, rendered apart).

Wage figures come from the campaign's latest wage release, never from live data: the wage
guide is the release's occupation x district table as an analyst downloads it, and names
the release (number, date, content hash); made during collection, or while its campaign
still collects, it is 征求意见稿 on the cover and in every page's header. An enterprise's
report takes the city's reference from the release's published cells and the
enterprise's own figures from the same release's columns, so the counted surveys are the
tables' own. A campaign without a release has no wage report.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.analytics import (
    assessments,
    briefs,
    disclosure,
    guidelines,
    participation,
    satisfaction,
    wages,
)
from survey_service.analytics.disclosure import (
    COMPLEMENTARY,
    DOMINANCE,
    MIN_ENTERPRISES,
    MIN_WORKERS,
    P_PERCENT,
)
from survey_service.analytics.release_store import (
    ReleaseStore,
    latest_wage_number,
    release_wage_table,
)
from survey_service.analytics.releases import ReleaseError
from survey_service.analytics.wage_dimensions import code_name, enum_labels
from survey_service.analytics.wage_release import own_annual_pay
from survey_service.analytics.wage_structure import CONFIDENTIAL
from survey_service.db.models import Campaign, Enterprise, Form, FormVersion, utcnow
from survey_service.errors import ServiceError
from survey_service.local_time import NotAnInstant, instant_from_text
from survey_service.reference.codes import industries, industry_division
from survey_service.reports import charts
from survey_service.reports.render import Section
from survey_service.settings import Settings

ISSUER = "铜川市协调劳动关系三方委员会办公室"


class ReportError(ServiceError):
    """A report that cannot be made from the data (a clear reason for its requester); asked
    for over HTTP, an ``unprocessable`` problem."""

    def __init__(self, detail: str) -> None:
        super().__init__("unprocessable", detail)


def svg_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _today(settings: Settings) -> str:
    """Today in the city's zone (SURVEY_TIME_ZONE), as a report prints it."""
    return datetime.now(settings.zone).strftime("%Y-%m-%d")


def _plain(value: Any) -> Any:
    """msgspec structs (the API's answers) as plain dicts for the templates."""
    return msgspec.to_builtins(value)


Gather = Callable[[AsyncSession, dict[str, Any], Settings], Awaitable[dict[str, Any]]]
Sections = Callable[[jinja2.Environment, dict[str, Any]], list[Section]]


@dataclass(frozen=True, slots=True)
class Kind:
    gather: Gather
    sections: Sections
    title: Callable[[dict[str, Any]], str]
    cover: bool = False  # a cover page carries no running header and no number
    mark: Callable[[dict[str, Any]], str | None] = lambda ctx: None  # in every page's header


PROVISIONAL = "征求意见稿"


def provisional_mark(ctx: dict[str, Any]) -> str | None:
    """The header's mark of a report made from a release of a campaign still collecting."""
    return PROVISIONAL if ctx["release"]["provisional"] else None


# --- the participation circular ---------------------------------------------------------------


async def gather_participation(
    session: AsyncSession, params: dict[str, Any], settings: Settings
) -> dict[str, Any]:
    year = int(params["year"])
    try:
        targets = participation.load_targets(settings.participation_targets)
    except (OSError, msgspec.DecodeError) as exc:
        raise ReportError(f"the participation targets cannot be read: {exc}") from None
    try:
        at = participation.as_of_instant(params.get("as_of"), settings.zone, utcnow())
    except ServiceError as exc:
        raise ReportError(exc.detail) from None
    out = await participation.year_participation(
        session, year, targets, with_lists=bool(params.get("annex")), zone=settings.zone, at=at
    )
    if not out.campaigns:
        raise ReportError(f"there is no campaign in {year} as of {params.get('as_of') or 'now'}")
    data: dict[str, Any] = _plain(out)
    return data | {
        "annex": bool(params.get("annex")),
        "as_of": participation.as_of_text(params.get("as_of"), at, settings.zone),
    }


def participation_sections(env: jinja2.Environment, ctx: dict[str, Any]) -> list[Section]:
    districts = ctx["districts"]  # as the table lists them; no rate, no bar
    names = [d["name"] or d["district"] for d in districts]
    targets = ctx["targets"]
    chart_list = [
        {
            "title": "各区县参与率",
            "uri": svg_uri(
                charts.rate_bars(
                    names,
                    [d["participation_rate"] for d in districts],
                    targets["participation"],
                )
            ),
        },
        {
            "title": f"{targets['collective_contract_min_staff']} 人以上建会企业集体合同签订率",
            "uri": svg_uri(
                charts.rate_bars(
                    names,
                    [d["collective_contract_rate"] for d in districts],
                    targets["collective_contract_signing"],
                )
            ),
        },
    ]
    title = participation_title(ctx)
    main = env.get_template("participation/circular.html").render(
        title=title, issuer=ISSUER, data_as_of=ctx["as_of"], charts=chart_list, **ctx
    )
    sections = [Section("通报", main)]
    if ctx["annex"]:
        annex = env.get_template("participation/annex.html").render(
            title=title, missing=ctx["missing"] or [],
            without_contract=ctx["without_collective_contract"] or [],
        )  # fmt: skip
        sections.append(Section("附件", annex))
    return sections


def participation_title(ctx: dict[str, Any]) -> str:
    return f"{ctx['year']}年度“双爱”活动参与情况通报"


# --- the wage guide ---------------------------------------------------------------------------

ALL = "*"  # a margin's key in the wage table ("全市" for districts)
REASONS_ZH = {
    MIN_ENTERPRISES: "企业数不足",
    MIN_WORKERS: "职工数不足",
    P_PERCENT: "少数企业占比过高（p% 规则）",
    DOMINANCE: "少数企业占比过高（优势规则）",
    COMPLEMENTARY: "次级隐藏（防止由合计反推）",
    CONFIDENTIAL: "不予公布",
}
GUIDE_CHARTED = 12  # occupations in the spread chart: the largest by workers
ROWS_PER_SECTION = 100  # table rows rendered as one section (sections render in parallel)


async def _salary_campaign(session: AsyncSession, campaign_id: int) -> wages.CampaignInfo:
    campaign = await wages.load_campaign(session, campaign_id)
    if campaign is None:
        raise ReportError(f"there is no campaign {campaign_id}")
    if campaign.form_kind != "salary-survey":
        raise ReportError(f"campaign {campaign_id} is not a salary survey")
    return campaign


def _rules_text(rules: dict[str, Any]) -> list[str]:
    lines = [
        f"单元格须至少有 {rules['min_enterprises']} 家企业（同一集团的企业计为一家）"
        f"和 {rules['min_workers']} 名职工；",
        f"p% 规则（p = {rules['p_percent']:g}）：工资总额减去最大两家企业的份额后，"
        f"须不少于最大一家企业份额的 {rules['p_percent']:g}%；",
    ]
    dominance = rules.get("dominance")
    if dominance:
        lines.append(
            f"({dominance['n']}, {dominance['k']:g}) 优势规则：最大 {dominance['n']} 家企业"
            f"合计不得超过 {dominance['k']:g}%；"
        )
    return lines


async def _latest_release(session: AsyncSession, campaign: wages.CampaignInfo) -> int:
    number = await latest_wage_number(session, campaign.id)
    if number is None:
        raise ReportError(f"campaign {campaign.id} has no release yet")
    return number


async def _release_table(
    session: AsyncSession,
    store: ReleaseStore,
    campaign: wages.CampaignInfo,
    number: int,
    by: list[str],
) -> wages.WageTable:
    """A table of the release as an analyst reads it (hidden cells without figures)."""
    try:
        return await release_wage_table(
            session, store, campaign, number, wages.WageQuery(by=by), detailed=False
        )
    except (ReleaseError, disclosure.SettingsError, ValueError) as exc:
        raise ReportError(f"the wage table cannot be made: {exc}") from None


async def _still_open(session: AsyncSession, campaign_id: int) -> bool:
    closes_at = await session.scalar(select(Campaign.closes_at).where(Campaign.id == campaign_id))
    return closes_at is not None and utcnow() < closes_at


def _local_day(instant: Any, zone: ZoneInfo) -> str:
    """The day an instant (a datetime or its RFC 3339 text) falls on in the city's zone."""
    if not instant:
        return ""
    when = instant if isinstance(instant, datetime) else datetime.fromisoformat(str(instant))
    return when.astimezone(zone).strftime("%Y-%m-%d")


def _release_text(meta: dict[str, Any], *, still_open: bool, zone: ZoneInfo) -> dict[str, Any]:
    """The release as the report prints it (its day in the city's zone): provisional when
    it was made during collection or its campaign is still collecting."""
    return {
        "number": meta["number"],
        "date": _local_day(meta["created_at"], zone),
        "content_hash": meta["content_hash"],
        "provisional": bool(meta["during_collection"]) or still_open,
    }


async def gather_wage_guide(
    session: AsyncSession, params: dict[str, Any], settings: Settings
) -> dict[str, Any]:
    campaign = await _salary_campaign(session, int(params["campaign_id"]))
    number = await _latest_release(session, campaign)
    # A store of its own: a report is rare, and a process-wide one would outlive its
    # database (a restore; the tests' cleared database) under the same release numbers.
    store = ReleaseStore()
    table = await _release_table(session, store, campaign, number, ["occupation", "district"])
    release = await store.wages(session, campaign.id, number)
    labels = enum_labels(campaign.schema)
    rows = [
        r | {
            "occupation_name": code_name("occupation", r["occupation"], labels),
            "district_name": "全市" if r["district"] == ALL
            else code_name("district", r["district"], labels),
            "reason": REASONS_ZH.get(r["suppression_reason"], r["suppression_reason"]),
        }
        for r in table.rows
    ]  # fmt: skip
    total = next((r for r in rows if r["occupation"] == ALL and r["district"] == ALL), None)
    cells = [r for r in rows if r["occupation"] != ALL and r["district"] != ALL]
    if total is None or not cells:
        raise ReportError("the campaign has no salary data to tabulate yet")
    meta = table.meta
    city_rows = [r for r in rows if r["occupation"] != ALL and r["district"] == ALL]
    return {
        "guideline_year": campaign.campaign_year,
        "guideline": await _guideline_text(session, campaign.campaign_year, total.get("p50")),
        "campaign": meta["campaign"],
        "release": _release_text(
            meta["release"],
            still_open=await _still_open(session, campaign.id),
            zone=settings.zone,
        ),
        "previous_year": (meta.get("previous_campaign") or {}).get("year"),
        "previous_release": (meta.get("previous_campaign") or {}).get("release"),
        "data_as_of": _local_day(meta.get("data_as_of"), settings.zone),
        "generated": _today(settings),
        "rules": table.rules,
        "annual_min_months": release.rules["annual_min_months"],
        "requires_review": campaign.requires_review,
        "rows": [r for r in rows if r["occupation"] != ALL],
        "sample": {
            "enterprises": total["n_enterprises"],
            "workers": total["n_workers"],
        },
        # What the tables print: a city row per occupation, then its districts' cells.
        "counts": {
            "rows": len(city_rows) + len(cells),
            "published": sum(1 for r in (*city_rows, *cells) if not r["suppressed"]),
            "city_rows": len(city_rows),
            "city_published": sum(1 for r in city_rows if not r["suppressed"]),
            "cells": len(cells),
            "cells_published": sum(1 for r in cells if not r["suppressed"]),
        },
    }


async def _guideline_text(
    session: AsyncSession, year: int, median: float | None
) -> dict[str, Any] | None:
    """The guideline negotiations of ``year`` quote (the city's, else the province's), with
    its lines applied to the city's median as a worked example (none when it is withheld)."""
    found = await guidelines.guideline_for(session, year)
    if found is None:
        return None
    shown = msgspec.to_builtins(guidelines.guideline_out(found))
    shown["applied"] = (
        [dataclasses.asdict(line) for line in guidelines.applied(found, median)]
        if median is not None
        else []
    )
    shown["median"] = median
    return dict(shown)


def year_on_year(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The city rows with a change on last year's release (published both years)."""
    return [
        r | {"p50_change": r["p50_change_pct"] / 100, "mean_change": r["mean_change_pct"] / 100}
        for r in rows
        if r["district"] == ALL
        and r.get("p50_change_pct") is not None
        and r.get("mean_change_pct") is not None
    ]


def _major_title(code: str) -> str:
    major = code.split("-")[0]
    return f"第{major}大类 {code_name('occupation', major, {})}"


def guide_title(ctx: dict[str, Any]) -> str:
    return f"{ctx['campaign']['year']}年铜川市企业工资价位表"


def guide_sections(env: jinja2.Environment, ctx: dict[str, Any]) -> list[Section]:
    title = guide_title(ctx)
    rows = ctx["rows"]
    growth = year_on_year(rows)
    cover = env.get_template("wage_guide/cover.html").render(
        title=title, issuer=ISSUER, rules_text=_rules_text(ctx["rules"]),
        mark=provisional_mark(ctx), has_growth=bool(growth), **ctx,
    )  # fmt: skip
    sections = [Section("说明", cover)]
    # The tables: occupations in code order, the city row first, cut into sections of
    # about ROWS_PER_SECTION rows on occupation boundaries (a section renders on its own).
    by_occupation: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_occupation.setdefault(row["occupation"], []).append(row)
    chunk: list[dict[str, Any]] = []
    chunks: list[list[dict[str, Any]]] = []
    for code in sorted(by_occupation, key=lambda c: (c is None, c or "")):
        group = sorted(
            by_occupation[code], key=lambda r: (r["district"] != ALL, r["district"] or "")
        )
        if chunk and len(chunk) + len(group) > ROWS_PER_SECTION:
            chunks.append(chunk)
            chunk = []
        chunk.extend(group)
    if chunk:
        chunks.append(chunk)
    template = env.get_template("wage_guide/tables.html")
    for n, part in enumerate(chunks):
        groups: dict[str, list[dict[str, Any]]] = {}
        for row in part:
            groups.setdefault(_major_title(row["occupation"] or "?"), []).append(row)
        html = template.render(
            title=title, first=n == 0,
            groups=[{"title": t, "rows": g} for t, g in groups.items()],
        )  # fmt: skip
        sections.append(Section("工资价位表", html))
    city = [r for r in rows if r["district"] == ALL and not r["suppressed"] and r["occupation"]]
    largest = sorted(city, key=lambda r: -r["n_workers"])[:GUIDE_CHARTED]
    spreads = [
        charts.Spread(r["occupation_name"], r["p10"], r["p25"], r["p50"], r["p75"], r["p90"])
        for r in largest
    ]
    chart_list = (
        [{"title": f"人数最多的 {len(spreads)} 个职业", "uri": svg_uri(charts.pay_spread(spreads))}]
        if spreads
        else []
    )
    sections.append(
        Section("工资分布", env.get_template("wage_guide/charts.html").render(
            title=title, charts=chart_list))
    )  # fmt: skip
    if growth:  # else the method says so in a line, not a page
        sections.append(
            Section("与上年相比", env.get_template("wage_guide/growth.html").render(
                title=title, growth=growth, previous_year=ctx["previous_year"]))
        )  # fmt: skip
    return sections


# --- an enterprise's own report ----------------------------------------------------------------


async def _campaign_of_year(
    session: AsyncSession, campaign_year: int, form_kind: str
) -> tuple[Campaign, FormVersion] | None:
    """The campaign year's latest campaign whose form is of ``form_kind`` (whatever its
    key): a survey of last year's pay finds this year's poll by the year they share."""
    found = (
        await session.execute(
            select(Campaign, FormVersion)
            .join(FormVersion, Campaign.form_version_id == FormVersion.id)
            .join(Form, FormVersion.form_id == Form.id)
            .where(Campaign.campaign_year == campaign_year, Form.kind == form_kind)
            # Of the year's polls, the satisfaction poll (the six duties), not the workers'
            # six commitments: the report's section is the workers' view of the enterprise.
            .order_by((Form.key == "worker-commitments").asc(), Campaign.id.desc())
            .limit(1)
        )
    ).first()
    return (found[0], found[1]) if found else None


async def gather_enterprise(
    session: AsyncSession, params: dict[str, Any], settings: Settings
) -> dict[str, Any]:
    campaign = await _salary_campaign(session, int(params["campaign_id"]))
    found = await session.scalar(select(Enterprise).where(Enterprise.uscc == params["enterprise"]))
    if found is None:
        raise ReportError(f"there is no enterprise {params['enterprise']}")
    labels = enum_labels(campaign.schema)
    number = await _latest_release(session, campaign)
    # The city's reference: the release's published occupation table, never a cell of
    # another enterprise; the enterprise's own figures from the same release.
    store = ReleaseStore()  # as the guide's
    city = await _release_table(session, store, campaign, number, ["occupation"])
    release = await store.wages(session, campaign.id, number)
    own, totals = own_annual_pay(release, found.id)
    reference = {r["occupation"]: r for r in city.rows if not r["suppressed"]}
    pay = []
    for row in own:
        ref = reference.get(row["occupation"])
        pay.append(
            row | {
                "occupation_name": code_name("occupation", row["occupation"], labels),
                "city": ref,
                "relative": (row["p50"] / ref["p50"] - 1) if ref and ref["p50"] else 0.0,
            }
        )  # fmt: skip
    return {
        "year": campaign.campaign_year,  # the campaign's year; the pay is of data_year
        "data_year": campaign.year,
        "release": _release_text(
            city.meta["release"],
            still_open=await _still_open(session, campaign.id),
            zone=settings.zone,
        ),
        "enterprise": {
            "uscc": found.uscc,
            "name": found.name,
            "district": found.district,
            "district_name": code_name("district", found.district, labels),
            "industry": found.industry,
            "industry_name": industry_name(found.industry),
            "staff_count": found.staff_count,
        },
        "pay": pay,
        "pay_total": totals,
        "assessment": await _own_assessment(session, campaign.campaign_year, found.id),
        "satisfaction": await _own_satisfaction(session, campaign.campaign_year, found.uscc),
    }


async def _own_assessment(
    session: AsyncSession, year: int, enterprise_id: int
) -> dict[str, Any] | None:
    found = await _campaign_of_year(session, year, "self-assessment")
    if found is None:
        return None
    campaign, version = found
    try:
        scored = await assessments.campaign_assessments(
            session, campaign, version, enterprise_id=enterprise_id
        )
    except assessments.RulesProblem as exc:
        raise ReportError(f"the self-assessment cannot be scored: {exc}") from None
    if not scored.enterprises:
        return None
    row = scored.enterprises[0]
    duties = {d.key: d for d in scored.rules.duties}
    vetoes = {v.key: v.zh for v in scored.rules.vetoes}
    return {
        "total": row.total,
        "max": scored.rules.max_score,
        "grade": row.grade,
        "score_grade": row.score_grade,
        "capped": row.capped,
        "vetoes": [vetoes.get(v, v) for v in row.vetoes],
        "chart": svg_uri(
            charts.duty_bars(
                [duties[d.key].zh if d.key in duties else d.key for d in row.duties],
                [d.score for d in row.duties],
                maximum=max((d.max for d in row.duties), default=1),
            )
        ),
    }


async def _own_satisfaction(session: AsyncSession, year: int, uscc: str) -> dict[str, Any] | None:
    found = await _campaign_of_year(session, year, "poll")
    if found is None:
        return None
    campaign, version = found
    try:
        out = await satisfaction.campaign_satisfaction(
            session, campaign, version, "enterprise", with_comments=False
        )
    except satisfaction.RulesProblem as exc:
        raise ReportError(f"the poll cannot be scored: {exc}") from None
    group = next((g for g in out.groups if g.key == uscc), None)
    threshold = out.thresholds.min_group
    if group is None:
        return {"suppressed": True, "respondents": 0, "threshold": threshold}
    if group.suppressed or group.dimensions is None:
        return {"suppressed": True, "respondents": group.respondents, "threshold": threshold}
    titles = {d.key: d.title.get("zh", d.key) for d in out.dimensions}
    return {
        "suppressed": False,
        "respondents": group.respondents,
        "dimensions": [_plain(d) | {"title": titles.get(d.key, d.key)} for d in group.dimensions],
        "recommend": group.recommend.score if group.recommend else None,
    }


def industry_name(code: str) -> str:
    """The division's name of an industry code ("C3011" -> 非金属矿物制品业), else the code."""
    try:
        division = industry_division(code)
    except ValueError:
        return code
    found = industries().get(division)
    return found.name if found else code


def enterprise_title(ctx: dict[str, Any]) -> str:
    return f"{ctx['enterprise']['name']} {ctx['year']}年度企业报告"


def enterprise_sections(env: jinja2.Environment, ctx: dict[str, Any]) -> list[Section]:
    html = env.get_template("enterprise/report.html").render(
        title=enterprise_title(ctx), issuer=ISSUER, **ctx
    )
    return [Section("企业报告", html)]


# --- the negotiation brief --------------------------------------------------------------------


async def gather_brief(
    session: AsyncSession, params: dict[str, Any], settings: Settings
) -> dict[str, Any]:
    """The brief's data as the API serves it, with what the page prints besides."""
    try:
        brief = await briefs.negotiation_brief(
            session, ReleaseStore(), int(params["campaign_id"]), params["enterprise"]
        )
    except ServiceError as exc:
        raise ReportError(exc.detail) from None
    campaign = brief["campaign"]
    release = brief["release"]
    return brief | {
        "year": campaign["campaign_year"],
        "release": release | _release_text(
            release, still_open=await _still_open(session, campaign["id"]), zone=settings.zone
        ),
        "enterprise": brief["enterprise"] | {
            "industry_name": industry_name(brief["enterprise"]["industry"]),
            "size_name": SIZE_NAMES.get(brief["enterprise"]["size_class"] or "", "未注明"),
            "section_name": getattr(
                industries().get(brief["enterprise"]["industry_section"] or ""), "name", "未注明"
            ),
        },
        "generated": _today(settings),
    }  # fmt: skip


SIZE_NAMES = {"large": "大型", "medium": "中型", "small": "小型", "micro": "微型"}


def brief_title(ctx: dict[str, Any]) -> str:
    return f"{ctx['enterprise']['name']} {ctx['year']}年工资集体协商参考"


def brief_sections(env: jinja2.Environment, ctx: dict[str, Any]) -> list[Section]:
    html = env.get_template("brief/brief.html").render(title=brief_title(ctx), issuer=ISSUER, **ctx)
    return [Section("工资集体协商参考", html)]


def report_params(kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The request's parameters for ``kind``, checked and in one canonical form (they
    name the stored PDF)."""
    if kind not in KINDS:
        raise ReportError(f"unknown report type {kind!r}; one of {', '.join(sorted(KINDS))}")
    params: dict[str, Any] = {}
    for name in NEEDS[kind]:
        value = raw.get(name)
        if name in ("campaign_id", "year"):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                wanted = "year or campaign_id" if kind == "participation" else name
                raise ReportError(f"a {kind} report needs {wanted} (a positive whole number)")
        elif name == "enterprise":
            if not isinstance(value, str) or not value.strip():
                raise ReportError(f"a {kind} report needs enterprise (a credit code)")
            value = value.strip().upper()
        elif name == "annex":
            value = bool(value)
        params[name] = value
    for name in MAY_TAKE.get(kind, ()):
        value = raw.get(name)
        if value is not None:
            params[name] = _as_of_param(value)
    return params


def stamped(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters a report is made with: a participation report asked for without
    ``as_of`` counts as everything stood when it was asked for, and keeps that instant, so
    that asking again with it makes the same report."""
    if kind in MAY_TAKE and "as_of" in MAY_TAKE[kind] and "as_of" not in params:
        return params | {"as_of": utcnow().isoformat()}
    return params


def _as_of_param(value: Any) -> str:
    """``as_of``: a date or an RFC 3339 date-time, not in the future (checked again, in the
    city's zone, when the report is made)."""
    if not isinstance(value, str):
        raise ReportError("as_of is a date (YYYY-MM-DD) or an RFC 3339 date-time")
    try:
        at = instant_from_text(value, ZoneInfo("UTC"))
    except NotAnInstant as exc:
        raise ReportError(f"as_of: {exc}") from None
    if at > utcnow():
        raise ReportError("as_of is in the future")
    return value.strip()


NEEDS: dict[str, tuple[str, ...]] = {
    "wage-benchmark": ("campaign_id",),
    "enterprise": ("campaign_id", "enterprise"),
    "negotiation-brief": ("campaign_id", "enterprise"),
    "participation": ("year", "annex"),
}
# Parameters a kind may take besides.
MAY_TAKE: dict[str, tuple[str, ...]] = {"participation": ("as_of",)}

KINDS: dict[str, Kind] = {
    "wage-benchmark": Kind(
        gather_wage_guide, guide_sections, guide_title, cover=True, mark=provisional_mark
    ),
    "negotiation-brief": Kind(gather_brief, brief_sections, brief_title, mark=provisional_mark),
    "enterprise": Kind(
        gather_enterprise, enterprise_sections, enterprise_title, mark=provisional_mark
    ),
    "participation": Kind(gather_participation, participation_sections, participation_title),
}
