"""Worker satisfaction from a poll campaign's anonymous answers: per question and per duty
the mean, the favourable, neutral and unfavourable shares and the distribution, and the
would-recommend score (NPS), for the whole campaign and by enterprise, district or industry.

What is scored is read from the campaign's form version, never from code: the Likert
questions are the schema's ``x-likert`` properties (or ``likert`` widgets) on their
``minimum``..``maximum`` scale; the duties they belong to are ``rules.dimensions`` (else the
``ui.groups`` that hold Likert questions); the bands are ``rules.favourable`` / ``neutral`` /
``unfavourable`` and ``rules.recommend`` (each an inclusive ``[low, high]`` range); the
would-recommend question is ``rules.recommend.question``, else the ``x-nps`` property.

Anonymity: a group with fewer answers than ``min_group`` shows its count only, and written
comments appear only for groups of at least ``min_group_comments`` answers, sorted by text
so their order says nothing of when they arrived. The thresholds are the form's
``rules.anonymity``, overridden by the campaign's ``settings.anonymity`` (same keys).
This is the admins' live view; analysts read releases (``score_releases``), protected
further.

The answers become one column per question and are counted with numpy: one ``bincount``
per question over (group, scale point); a duty pools its questions' counts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.analytics.frozen import ReleaseStamp
from survey_service.db.models import Campaign, Enterprise, FormVersion, PollResponse
from survey_service.reference.codes import (
    districts,
    industries,
    industry_division,
    industry_section,
)
from survey_service.structs import Out

GroupBy = Literal["enterprise", "district", "industry"]

# The thresholds docs/domain.md names, for a form whose rules are silent: fewer than 5 answers
# show a count only (Culture Amp, Glint, Lattice), comments need 10.
DEFAULT_MIN_GROUP = 5
DEFAULT_MIN_GROUP_COMMENTS = 10
# NPS is defined by its bands (Reichheld 2003); a form's rules.recommend may restate them.
NPS_PROMOTERS = (9, 10)
NPS_DETRACTORS = (0, 6)


class RulesProblem(ValueError):
    """The form version's rules or the campaign's settings cannot be used as they are."""


# --- the poll's shape, read from the form version ------------------------------------------


@dataclass(frozen=True, slots=True)
class Question:
    key: str
    title: dict[str, str]
    low: int
    high: int
    dimension: str | None = None


@dataclass(frozen=True, slots=True)
class Dimension:
    key: str
    title: dict[str, str]
    items: tuple[str, ...]


Band = tuple[int, int]  # inclusive


@dataclass(frozen=True, slots=True)
class PollShape:
    questions: tuple[Question, ...]  # the Likert questions, in the form's order
    dimensions: tuple[Dimension, ...]
    recommend: Question | None
    comments: tuple[str, ...]  # the free-text questions
    favourable: Band
    neutral: Band | None
    unfavourable: Band
    promoters: Band
    detractors: Band
    min_group: int
    min_group_comments: int


def _title(schema_prop: Mapping[str, Any], ui_field: Mapping[str, Any] | None) -> dict[str, str]:
    label = (ui_field or {}).get("label")
    if isinstance(label, dict) and label:
        return {str(k): str(v) for k, v in label.items()}
    title = {"zh": str(schema_prop.get("title", ""))}
    english = (schema_prop.get("x-en") or {}).get("title")
    return title | ({"en": str(english)} if english else {})


def _band(value: Any, what: str) -> Band:
    """A band as the rules write it: ``[4, 5]``, ``[3]`` or ``[0, 6]``: lowest to highest."""
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise RulesProblem(f"rules.{what} must be a list of whole numbers, e.g. [4, 5]")
    return min(value), max(value)


def _threshold(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise RulesProblem(f"{what} must be a whole number of answers, at least 1")
    return value


def _scale(prop: Mapping[str, Any]) -> tuple[int, int] | None:
    low, high = prop.get("minimum"), prop.get("maximum")
    if isinstance(low, int) and isinstance(high, int) and low < high:
        return low, high
    scale = (prop.get("x-likert") or {}).get("scale")
    return (1, scale) if isinstance(scale, int) and scale > 1 else None


def poll_shape(
    schema: Mapping[str, Any],
    ui: Mapping[str, Any],
    rules: Mapping[str, Any],
    campaign_settings: Mapping[str, Any],
) -> PollShape:
    properties: dict[str, Any] = dict(schema.get("properties") or {})
    fields: dict[str, Any] = dict(ui.get("fields") or {})
    order = [k for k in ui.get("order") or [] if k in properties]
    order += [k for k in properties if k not in order]
    recommend_rules: dict[str, Any] = dict(rules.get("recommend") or {})

    def widget(key: str) -> str | None:
        return (fields.get(f"/{key}") or {}).get("widget")

    recommend_key = recommend_rules.get("question") or next(
        (k for k in order if "x-nps" in properties[k] or widget(k) == "nps"), None
    )
    likert: dict[str, Question] = {}
    for key in order:
        prop = properties[key]
        scale = _scale(prop)
        if key != recommend_key and scale and ("x-likert" in prop or widget(key) == "likert"):
            likert[key] = Question(key, _title(prop, fields.get(f"/{key}")), *scale)
    dimensions = _dimensions(rules, ui, likert)
    member = {item: d.key for d in dimensions for item in d.items}
    questions = tuple(
        Question(q.key, q.title, q.low, q.high, member.get(q.key)) for q in likert.values()
    )
    recommend = None
    if recommend_key is not None:
        prop = properties.get(recommend_key)
        scale = _scale(prop) if isinstance(prop, dict) else None
        if prop is None or scale is None:
            raise RulesProblem(f"the would-recommend question {recommend_key!r} has no scale")
        recommend = Question(recommend_key, _title(prop, fields.get(f"/{recommend_key}")), *scale)
    comments = tuple(
        k
        for k in order
        if properties[k].get("type") == "string"
        and "enum" not in properties[k]
        and "format" not in properties[k]
    )
    low = min((q.low for q in questions), default=1)
    high = max((q.high for q in questions), default=5)
    middle = (low + high) / 2
    anonymity = dict(rules.get("anonymity") or {}) | dict(campaign_settings.get("anonymity") or {})
    min_group = _threshold(anonymity.get("min_group", DEFAULT_MIN_GROUP), "anonymity.min_group")
    min_comments = _threshold(
        anonymity.get("min_group_comments", DEFAULT_MIN_GROUP_COMMENTS),
        "anonymity.min_group_comments",
    )
    return PollShape(
        questions=questions,
        dimensions=dimensions,
        recommend=recommend,
        comments=comments,
        favourable=_band(rules["favourable"], "favourable")
        if "favourable" in rules
        else (math.floor(middle) + 1, high),
        neutral=_band(rules["neutral"], "neutral")
        if "neutral" in rules
        else ((int(middle), int(middle)) if middle.is_integer() else None),
        unfavourable=_band(rules["unfavourable"], "unfavourable")
        if "unfavourable" in rules
        else (low, math.ceil(middle) - 1),
        promoters=_band(recommend_rules.get("promoters", list(NPS_PROMOTERS)), "promoters"),
        detractors=_band(recommend_rules.get("detractors", list(NPS_DETRACTORS)), "detractors"),
        min_group=min_group,
        # Comments never show where the figures would not.
        min_group_comments=max(min_comments, min_group),
    )


def _dimensions(
    rules: Mapping[str, Any], ui: Mapping[str, Any], likert: Mapping[str, Question]
) -> tuple[Dimension, ...]:
    """The duties: ``rules.dimensions`` when the form has them, else its UI screens."""
    declared = rules.get("dimensions")
    found: list[Dimension] = []
    if isinstance(declared, dict) and declared:
        for key, spec in declared.items():
            items = tuple(str(i) for i in (spec or {}).get("items") or [])
            unknown = [i for i in items if i not in likert]
            if unknown:
                raise RulesProblem(f"rules.dimensions.{key} names no Likert question {unknown}")
            title = {lang: str(spec[lang]) for lang in ("zh", "en") if spec.get(lang)}
            found.append(Dimension(str(key), title, items))
        # In the order of their first question (the rules' object order is not kept).
        first = {key: i for i, key in enumerate(likert)}
        return tuple(sorted(found, key=lambda d: min((first[i] for i in d.items), default=0)))
    for group in ui.get("groups") or []:
        items = tuple(f.lstrip("/") for f in group.get("fields") or [] if f.lstrip("/") in likert)
        if items:
            title = group.get("title") or {"zh": str(group.get("key"))}
            found.append(Dimension(str(group.get("key")), dict(title), items))
    return tuple(found)


# --- counting --------------------------------------------------------------------------------

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def value_counts(
    group: IntArray, n_groups: int, values: FloatArray, low: int, high: int
) -> IntArray:
    """Answers per group and scale point: shape (n_groups, high - low + 1). Missing (NaN)
    and off-scale values are not counted."""
    width = high - low + 1
    keep = ~np.isnan(values) & (values >= low) & (values <= high)
    index = group[keep] * width + (values[keep].astype(np.int64) - low)
    return np.bincount(index, minlength=n_groups * width).reshape(n_groups, width)


# --- the response ------------------------------------------------------------------------------


class QuestionInfo(Out, kw_only=True):
    key: str
    title: dict[str, str]
    dimension: str | None
    low: int
    high: int


class DimensionInfo(Out, kw_only=True):
    key: str
    title: dict[str, str]
    items: list[str]


class Thresholds(Out, kw_only=True):
    min_group: int
    min_group_comments: int


class BandsOut(Out, kw_only=True):
    favourable: list[int]
    neutral: list[int] | None
    unfavourable: list[int]
    promoters: list[int]
    detractors: list[int]


class Score(Out, kw_only=True):
    """Shares are fractions of ``n`` (the answers counted)."""

    key: str
    n: int
    mean: float | None
    favourable: float | None
    neutral: float | None
    unfavourable: float | None
    distribution: dict[str, int]


class RecommendScore(Out, kw_only=True):
    n: int
    promoters: float | None
    passives: float | None
    detractors: float | None
    score: float | None  # % promoters - % detractors, -100..100


class GroupScores(Out, kw_only=True):
    """One group's figures; under the anonymity threshold only ``respondents``."""

    key: str | None
    name: str | None
    district: str | None = None
    respondents: int
    suppressed: bool
    questions: list[Score] | None
    dimensions: list[Score] | None
    recommend: RecommendScore | None
    comments: dict[str, list[str]] | None


class SatisfactionOut(Out, kw_only=True):
    campaign_id: int
    form_version: int
    by: str | None
    thresholds: Thresholds
    bands: BandsOut
    questions: list[QuestionInfo]
    dimensions: list[DimensionInfo]
    overall: GroupScores
    groups: list[GroupScores]
    release: ReleaseStamp | None = None  # None: the live view


def _share(count: int, n: int) -> float | None:
    return round(count / n, 4) if n else None


def _in(band: Band | None, low: int) -> slice:
    """The columns of a count matrix (first column = scale point ``low``) in ``band``."""
    if band is None:
        return slice(0, 0)
    return slice(max(band[0] - low, 0), max(band[1] - low + 1, 0))


def _score(key: str, counts: IntArray, low: int, shape: PollShape) -> Score:
    n = int(counts.sum())
    points = np.arange(low, low + counts.shape[0])
    return Score(
        key=key,
        n=n,
        mean=round(float(counts @ points) / n, 3) if n else None,
        favourable=_share(int(counts[_in(shape.favourable, low)].sum()), n),
        neutral=_share(int(counts[_in(shape.neutral, low)].sum()), n),
        unfavourable=_share(int(counts[_in(shape.unfavourable, low)].sum()), n),
        distribution={str(low + i): int(c) for i, c in enumerate(counts)},
    )


def _recommend(counts: IntArray, low: int, shape: PollShape) -> RecommendScore:
    n = int(counts.sum())
    promoters = int(counts[_in(shape.promoters, low)].sum())
    detractors = int(counts[_in(shape.detractors, low)].sum())
    return RecommendScore(
        n=n,
        promoters=_share(promoters, n),
        passives=_share(n - promoters - detractors, n),
        detractors=_share(detractors, n),
        score=round(100 * (promoters - detractors) / n, 1) if n else None,
    )


@dataclass(frozen=True, slots=True)
class Group:
    key: str | None
    name: str | None
    district: str | None = None


def group_scores(
    shape: PollShape,
    groups: Sequence[Group],
    group: IntArray,
    columns: Mapping[str, FloatArray],
    comments: Mapping[int, Mapping[str, list[str]]],
) -> list[GroupScores]:
    """Every group's figures from the answers' columns: ``group`` holds each answer's group
    (an index into ``groups``), ``columns`` each question's values (NaN: not answered),
    ``comments`` the written comments of each group."""
    n_groups = len(groups)
    respondents = np.bincount(group, minlength=n_groups)
    counts = {
        q.key: value_counts(group, n_groups, columns[q.key], q.low, q.high) for q in shape.questions
    }
    recommend = (
        value_counts(
            group, n_groups, columns[shape.recommend.key], shape.recommend.low, shape.recommend.high
        )
        if shape.recommend is not None
        else None
    )
    low = {q.key: q.low for q in shape.questions}
    out: list[GroupScores] = []
    for g, meta in enumerate(groups):
        n = int(respondents[g])
        if n < shape.min_group:
            out.append(
                GroupScores(
                    key=meta.key,
                    name=meta.name,
                    district=meta.district,
                    respondents=n,
                    suppressed=True,
                    questions=None,
                    dimensions=None,
                    recommend=None,
                    comments=None,
                )
            )
            continue
        dimensions = []
        for d in shape.dimensions:
            lows = {low[i] for i in d.items}
            if len(lows) != 1 or len({counts[i].shape[1] for i in d.items}) != 1:
                raise RulesProblem(f"the questions of {d.key!r} are not on one scale")
            pooled = sum((counts[i][g] for i in d.items), np.zeros_like(counts[d.items[0]][g]))
            dimensions.append(_score(d.key, pooled, lows.pop(), shape))
        out.append(
            GroupScores(
                key=meta.key,
                name=meta.name,
                district=meta.district,
                respondents=n,
                suppressed=False,
                questions=[_score(q.key, counts[q.key][g], q.low, shape) for q in shape.questions],
                dimensions=dimensions,
                recommend=(
                    _recommend(recommend[g], shape.recommend.low, shape)
                    if recommend is not None and shape.recommend is not None
                    else None
                ),
                comments=(
                    {key: sorted(comments.get(g, {}).get(key, [])) for key in shape.comments}
                    if n >= shape.min_group_comments
                    else None
                ),
            )
        )
    return out


# --- from the database ---------------------------------------------------------------------


def industry_group(code: str) -> Group:
    """An industry code at GB/T 4754 division level ("C3011" -> "C30"), named."""
    try:
        division = industry_division(code)
        key = industry_section(code) + division
    except ValueError:
        known = industries().get(code)
        return Group(code, known.name if known else None)
    return Group(key, industries()[division].name)


def group_name(by: GroupBy, key: str) -> str | None:
    """The name of a district's code or of an industry group's key (``industry_group``)."""
    if by == "district":
        known = districts().get(key)
        return known.name if known else None
    found = industries().get(key[1:]) or industries().get(key)
    return found.name if found else None


def enterprise_group(enterprise: Enterprise, by: GroupBy) -> Group:
    if by == "enterprise":
        return Group(enterprise.uscc, enterprise.name, enterprise.district)
    if by == "district":
        known = districts().get(enterprise.district)
        return Group(enterprise.district, known.name if known else None)
    return industry_group(enterprise.industry)


def _number(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return math.nan


async def campaign_satisfaction(
    session: AsyncSession,
    campaign: Campaign,
    version: FormVersion,
    by: GroupBy | None,
    *,
    with_comments: bool = True,
) -> SatisfactionOut:
    """The campaign's figures overall and, with ``by``, for each group that has answers."""
    shape = poll_shape(version.schema, version.ui, version.rules, campaign.settings)
    numeric = [*shape.questions, *([shape.recommend] if shape.recommend else [])]
    # One read of the answers, decoded once (msgspec): faster than the database extracting
    # each field of each answer, on SQLite and PostgreSQL alike.
    rows = (
        await session.execute(
            select(PollResponse.enterprise_id, PollResponse.data).where(
                PollResponse.campaign_id == campaign.id
            )
        )
    ).all()
    answers: list[dict[str, Any]] = [data for _, data in rows]
    columns = {
        q.key: np.array([_number(a.get(q.key)) for a in answers], dtype=np.float64) for q in numeric
    }
    enterprise_ids, answer_enterprise = np.unique(
        np.array([e for e, _ in rows], dtype=np.int64), return_inverse=True
    )
    everyone = np.zeros(len(rows), dtype=np.int64)
    groups: list[Group] = []
    group = everyone
    if by is not None:
        found = await session.scalars(
            select(Enterprise).where(Enterprise.id.in_(enterprise_ids.tolist()))
        )
        of_enterprise = {e.id: enterprise_group(e, by) for e in found}
        groups = sorted(set(of_enterprise.values()), key=lambda g: str(g.key))
        index = {g: n for n, g in enumerate(groups)}
        enterprise_index = np.array(
            [index[of_enterprise[int(e)]] for e in enterprise_ids], dtype=np.int64
        )
        group = enterprise_index[answer_enterprise]
    overall_texts: dict[str, list[str]] = {}
    group_texts: dict[int, dict[str, list[str]]] = {}
    for key in shape.comments if with_comments else ():
        for i, answer in enumerate(answers):
            text = answer.get(key)
            if not isinstance(text, str) or not text.strip():
                continue
            overall_texts.setdefault(key, []).append(text.strip())
            if by is not None:
                target = group_texts.setdefault(int(group[i]), {})
                target.setdefault(key, []).append(text.strip())
    overall = group_scores(shape, [Group(None, None)], everyone, columns, {0: overall_texts})
    by_group = group_scores(shape, groups, group, columns, group_texts) if by else []
    if not with_comments:
        for scores in [*overall, *by_group]:
            scores.comments = None
    return describe(shape, campaign.id, version.number, by, overall[0], by_group)


def describe(
    shape: PollShape,
    campaign_id: int,
    form_version: int,
    by: GroupBy | None,
    overall: GroupScores,
    groups: list[GroupScores],
) -> SatisfactionOut:
    """The response around the figures: the poll's questions, duties, bands and thresholds."""
    numeric = [*shape.questions, *([shape.recommend] if shape.recommend else [])]
    return SatisfactionOut(
        campaign_id=campaign_id,
        form_version=form_version,
        by=by,
        thresholds=Thresholds(
            min_group=shape.min_group, min_group_comments=shape.min_group_comments
        ),
        bands=BandsOut(
            favourable=list(shape.favourable),
            neutral=list(shape.neutral) if shape.neutral else None,
            unfavourable=list(shape.unfavourable),
            promoters=list(shape.promoters),
            detractors=list(shape.detractors),
        ),
        questions=[
            QuestionInfo(key=q.key, title=q.title, dimension=q.dimension, low=q.low, high=q.high)
            for q in numeric
        ],
        dimensions=[
            DimensionInfo(key=d.key, title=d.title, items=list(d.items)) for d in shape.dimensions
        ],
        overall=overall,
        groups=groups,
    )
