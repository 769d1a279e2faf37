"""Self-assessment scores: per enterprise the points of each duty and the total, the veto
items answered yes, and the grade; per district the mean total and the grade counts, ranked.

The rules are the campaign's form version's ``rules`` (``form_schemas/
enterprise-self-assessment.json``), never constants here:

- ``duties.<duty>.items.<item>``: ``points`` and how the answer at ``/<duty>/<item>/answer``
  (or the item's ``path``) earns them: ``"boolean"`` (all for true), ``{"type": "percent",
  "zero_at", "full_at"}`` (straight line between, clamped) or ``{"type": "choice",
  "points": {option: points}}``. A duty with a ``weight`` is scaled to it.
- ``grades``: ``[{"grade", "min_score"}]``; the grade is the highest whose ``min_score`` the
  total (rounded to 2 decimals, as shown) reaches.
- ``vetoes.<key>``: a ``true`` at ``/vetoes/<key>`` (or its ``path``) caps the grade at
  ``cap_grade`` whatever the score.

Which assessments count: submitted ones, and when the campaign ``requires_review`` only
those accepted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.analytics.districts import city_districts, competition_ranks, district_name
from survey_service.analytics.form_order import reorder
from survey_service.analytics.frozen import ReleaseStamp
from survey_service.db.models import Campaign, Enterprise, FormVersion, Submission
from survey_service.structs import Out


class RulesProblem(ValueError):
    """The form version's rules cannot score an assessment."""


# --- the rules, as the form holds them -------------------------------------------------------


class PercentScore(msgspec.Struct, kw_only=True, tag_field="type", tag="percent"):
    zero_at: float
    full_at: float


class ChoiceScore(msgspec.Struct, kw_only=True, tag_field="type", tag="choice"):
    points: dict[str, float]


class ItemRule(msgspec.Struct, kw_only=True):
    points: float
    score: Literal["boolean"] | PercentScore | ChoiceScore
    path: str | None = None


class DutyRule(msgspec.Struct, kw_only=True):
    items: dict[str, ItemRule]
    zh: str = ""
    en: str = ""
    weight: float | None = None


class GradeRule(msgspec.Struct, kw_only=True):
    grade: str
    min_score: float
    zh: str = ""
    en: str = ""


class VetoRule(msgspec.Struct, kw_only=True):
    cap_grade: str
    zh: str = ""
    en: str = ""
    path: str | None = None


class AssessmentRules(msgspec.Struct, kw_only=True):
    duties: dict[str, DutyRule]
    grades: list[GradeRule]
    vetoes: dict[str, VetoRule] = msgspec.field(default_factory=dict)
    max_score: float | None = None


def parse_rules(rules: Mapping[str, Any], ui: Mapping[str, Any]) -> AssessmentRules:
    """The rules checked; grades come back best first, duties and vetoes in the order the
    form (``ui``) shows them."""
    try:
        parsed = msgspec.convert(rules, AssessmentRules)
    except msgspec.ValidationError as exc:
        raise RulesProblem(f"the form's rules cannot score assessments: {exc}") from None
    parsed.duties = reorder(parsed.duties, ui.get("order") or [])
    vetoes_section = (ui.get("fields") or {}).get("/vetoes") or {}
    parsed.vetoes = reorder(parsed.vetoes, vetoes_section.get("order") or [])
    if not parsed.grades:
        raise RulesProblem("the form's rules name no grades")
    parsed.grades.sort(key=lambda g: -g.min_score)
    known = {g.grade for g in parsed.grades}
    for key, veto in parsed.vetoes.items():
        if veto.cap_grade not in known:
            raise RulesProblem(f"veto {key!r} caps at {veto.cap_grade!r}, which is no grade")
    for duty, duty_rule in parsed.duties.items():
        for item, item_rule in duty_rule.items.items():
            score = item_rule.score
            if isinstance(score, PercentScore) and score.zero_at == score.full_at:
                raise RulesProblem(f"{duty}.{item}: zero_at and full_at are the same")
    return parsed


# --- scoring one document --------------------------------------------------------------------


def resolve(document: Any, pointer: str) -> Any:
    """The value at a JSON Pointer, or None."""
    node = document
    for part in pointer.split("/")[1:]:
        key = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node


def item_points(rule: ItemRule, answer: Any) -> float:
    """What one answer earns; an answer missing or of the wrong kind earns nothing."""
    score = rule.score
    if score == "boolean":
        return rule.points if answer is True else 0.0
    if isinstance(score, ChoiceScore):
        earned = score.points.get(answer) if isinstance(answer, str) else None
        return float(earned) if earned is not None else 0.0
    if isinstance(answer, bool) or not isinstance(answer, int | float):
        return 0.0
    assert isinstance(score, PercentScore)
    fraction = (answer - score.zero_at) / (score.full_at - score.zero_at)
    return rule.points * min(1.0, max(0.0, fraction))


@dataclass(frozen=True, slots=True)
class Scored:
    duties: dict[str, float]
    total: float
    vetoes: list[str]
    score_grade: str
    grade: str


def score_document(rules: AssessmentRules, document: Any) -> Scored:
    duties: dict[str, float] = {}
    for duty, duty_rule in rules.duties.items():
        earned = sum(
            item_points(rule, resolve(document, rule.path or f"/{duty}/{item}/answer"))
            for item, rule in duty_rule.items.items()
        )
        possible = sum(rule.points for rule in duty_rule.items.values())
        if duty_rule.weight is not None and possible > 0:
            earned = earned / possible * duty_rule.weight
        duties[duty] = round(earned, 2)
    total = round(sum(duties.values()), 2)
    order = [g.grade for g in rules.grades]
    reached = next((g.grade for g in rules.grades if total >= g.min_score), order[-1])
    vetoes = [
        key
        for key, veto in rules.vetoes.items()
        if resolve(document, veto.path or f"/vetoes/{key}") is True
    ]
    worst = max([order.index(reached)] + [order.index(rules.vetoes[v].cap_grade) for v in vetoes])
    return Scored(duties, total, vetoes, reached, order[worst])


def duty_maximum(duty: DutyRule) -> float:
    if duty.weight is not None:
        return duty.weight
    return sum(rule.points for rule in duty.items.values())


# --- the response ------------------------------------------------------------------------------


class DutyScore(Out, kw_only=True):
    key: str
    score: float
    max: float


class EnterpriseAssessment(Out, kw_only=True):
    uscc: str
    name: str
    district: str
    district_name: str | None
    industry: str
    submission_id: str
    review_state: str
    total: float
    duties: list[DutyScore]
    vetoes: list[str]
    score_grade: str  # what the total alone reaches
    grade: str  # after the veto caps
    capped: bool
    rank: int  # in the city, by total


class DistrictAssessment(Out, kw_only=True):
    district: str | None  # None: the whole city
    name: str | None
    enterprises: int
    mean_total: float | None
    duty_means: dict[str, float]
    grades: dict[str, int]
    vetoed: int | None
    rank: int | None
    counts_only: bool = False  # hidden from analysts in a release (score_releases)


class GradeInfo(Out, kw_only=True):
    grade: str
    min_score: float
    zh: str
    en: str


class VetoInfo(Out, kw_only=True):
    key: str
    cap_grade: str
    zh: str
    en: str


class DutyInfo(Out, kw_only=True):
    key: str
    zh: str
    en: str
    max: float


class RulesOut(Out, kw_only=True):
    max_score: float
    duties: list[DutyInfo]
    grades: list[GradeInfo]
    vetoes: list[VetoInfo]


class AssessmentsOut(Out, kw_only=True):
    """``enterprises`` is null for analysts (never one enterprise's figures); for an
    enterprise's own token it holds its own row only and ``districts``/``city`` are null."""

    campaign_id: int
    form_version: int
    rules: RulesOut
    enterprises: list[EnterpriseAssessment] | None
    districts: list[DistrictAssessment] | None
    city: DistrictAssessment | None
    release: ReleaseStamp | None = None  # None: the live view


def rules_out(rules: AssessmentRules) -> RulesOut:
    duties = [
        DutyInfo(key=k, zh=d.zh, en=d.en, max=duty_maximum(d)) for k, d in rules.duties.items()
    ]
    return RulesOut(
        max_score=rules.max_score if rules.max_score is not None else sum(d.max for d in duties),
        duties=duties,
        grades=[
            GradeInfo(grade=g.grade, min_score=g.min_score, zh=g.zh, en=g.en) for g in rules.grades
        ],
        vetoes=[
            VetoInfo(key=k, cap_grade=v.cap_grade, zh=v.zh, en=v.en)
            for k, v in rules.vetoes.items()
        ],
    )


def summarise(
    rules: AssessmentRules, district: str | None, results: Sequence[Scored]
) -> DistrictAssessment:
    n = len(results)
    grades = {g.grade: 0 for g in rules.grades}
    for result in results:
        grades[result.grade] += 1
    return DistrictAssessment(
        district=district,
        name=district_name(district),
        enterprises=n,
        # fsum: the same mean whatever the order (a release's differs from the live one's)
        mean_total=round(math.fsum(r.total for r in results) / n, 2) if n else None,
        duty_means={
            key: round(math.fsum(r.duties[key] for r in results) / n, 2) for key in rules.duties
        }
        if n
        else {},
        grades=grades,
        vetoed=sum(1 for r in results if r.vetoes),
        rank=None,
    )


async def counted_assessments(
    session: AsyncSession,
    campaign: Campaign,
    rules: AssessmentRules,
    enterprise_id: int | None = None,
) -> list[tuple[Submission, Enterprise, Scored]]:
    """The assessments that count (submitted; accepted when the campaign requires review),
    scored."""
    query = (
        select(Submission, Enterprise)
        .join(Enterprise, Submission.enterprise_id == Enterprise.id)
        .where(Submission.campaign_id == campaign.id, Submission.status == "submitted")
    )
    if campaign.requires_review:
        query = query.where(Submission.review_state == "accepted")
    if enterprise_id is not None:
        query = query.where(Submission.enterprise_id == enterprise_id)
    return [
        (submission, enterprise, score_document(rules, submission.data))
        for submission, enterprise in await session.execute(query)
    ]


async def campaign_assessments(
    session: AsyncSession,
    campaign: Campaign,
    version: FormVersion,
    *,
    enterprise_id: int | None = None,
) -> AssessmentsOut:
    """The campaign's assessments; ``enterprise_id`` limits them to one enterprise (its own
    view: no district figures)."""
    rules = parse_rules(version.rules, version.ui)
    scored = await counted_assessments(session, campaign, rules, enterprise_id)
    ranks = competition_ranks([s.total for _, _, s in scored])
    maxima = {k: duty_maximum(d) for k, d in rules.duties.items()}
    rows = [
        EnterpriseAssessment(
            uscc=enterprise.uscc,
            name=enterprise.name,
            district=enterprise.district,
            district_name=district_name(enterprise.district),
            industry=enterprise.industry,
            submission_id=submission.id,
            review_state=submission.review_state,
            total=s.total,
            duties=[DutyScore(key=k, score=v, max=maxima[k]) for k, v in s.duties.items()],
            vetoes=s.vetoes,
            score_grade=s.score_grade,
            grade=s.grade,
            capped=s.grade != s.score_grade,
            rank=rank or 0,
        )
        for (submission, enterprise, s), rank in zip(scored, ranks, strict=True)
    ]
    rows.sort(key=lambda r: (r.rank, r.uscc))
    if enterprise_id is not None:
        return AssessmentsOut(
            campaign_id=campaign.id,
            form_version=version.number,
            rules=rules_out(rules),
            enterprises=rows,
            districts=None,
            city=None,
        )
    by_district: dict[str, list[Scored]] = {}
    for _, enterprise, result in scored:
        by_district.setdefault(enterprise.district, []).append(result)
    codes = sorted(set(city_districts()) | set(by_district))
    summaries = [summarise(rules, code, by_district.get(code, [])) for code in codes]
    for summary, rank in zip(
        summaries, competition_ranks([s.mean_total for s in summaries]), strict=True
    ):
        summary.rank = rank
    city = summarise(rules, None, [result for _, _, result in scored])
    summaries.sort(key=lambda s: (s.rank is None, s.rank, s.district))
    return AssessmentsOut(
        campaign_id=campaign.id,
        form_version=version.number,
        rules=rules_out(rules),
        enterprises=rows,
        districts=summaries,
        city=city,
    )


def counts_only(summary: DistrictAssessment) -> None:
    """A district (or the city) a release hides: its count of enterprises only."""
    summary.mean_total, summary.duty_means, summary.grades = None, {}, {}
    summary.vetoed, summary.rank, summary.counts_only = None, None, True
