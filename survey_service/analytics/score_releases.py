"""Score releases: worker satisfaction and self-assessment, frozen and protected once.

``freeze_satisfaction`` / ``freeze_assessment`` make a release's content (``Frozen``) from
the live data and the campaign's earlier releases of the same kind; ``releases.py`` writes
it. ``satisfaction_of_release`` / ``assessments_of_release`` give the figures an analyst
may see of a release, in the live view's shapes, with its protection applied.

The snapshot (``data``, zlib-compressed canonical JSON) holds what the scores need and
nothing finer:

- satisfaction: per answer its values (``values``: Likert question -> scale point),
  ``recommend``, ``comments`` (question -> text) and its enterprise's ``district`` and
  ``industry`` (GB/T 4754 division), never the enterprise; answers in canonical order;
- assessment: per enterprise its scored result (``duties``, ``total``, ``score_grade``,
  ``grade``, ``vetoes``) with ``district`` and ``industry`` under an opaque ``index``
  (the position in canonical order), never the enterprise.

Both also carry ``hidden`` (group -> reason, as in ``protection``): what analysts did not
see of this release is part of what a later release must be protected against, and the
later release is given the earlier ones' snapshots only.
"""

from __future__ import annotations

import asyncio
import json
import math
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.analytics import assessments, satisfaction
from survey_service.analytics.disclosure import DisclosureRules, SettingsError
from survey_service.analytics.districts import city_districts, competition_ranks
from survey_service.analytics.frozen import Frozen, NothingToRelease, ReleaseStamp
from survey_service.analytics.linked_counts import CITY, Earlier, Thresholds, Units, protect
from survey_service.db.models import Campaign, Enterprise, FormVersion, PollResponse, Release

SATISFACTION = "satisfaction"
ASSESSMENT = "assessment"
SNAPSHOT_FORMAT = 1


def stamp(row: Release) -> ReleaseStamp:
    return ReleaseStamp(
        number=row.number,
        created_at=row.created_at,
        content_hash=row.content_hash,
        during_collection=row.during_collection,
    )


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def pack(value: Any) -> bytes:
    return zlib.compress(canonical(value).encode(), 9)


def unpack(blob: bytes) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(zlib.decompress(blob))
    return loaded


async def _campaign(session: AsyncSession, campaign_id: int) -> tuple[Campaign, FormVersion]:
    row = (
        await session.execute(
            select(Campaign, FormVersion)
            .join(FormVersion, Campaign.form_version_id == FormVersion.id)
            .where(Campaign.id == campaign_id)
        )
    ).first()
    if row is None:
        raise LookupError(f"campaign {campaign_id} not found")
    return row[0], row[1]


def disclosure_rules(campaign: Campaign) -> DisclosureRules:
    """The campaign's disclosure settings (``assessments.RulesProblem`` when unusable)."""
    try:
        return DisclosureRules.of_campaign(campaign.settings)
    except SettingsError as exc:
        raise assessments.RulesProblem(str(exc)) from None


# --- satisfaction ------------------------------------------------------------------------------


def _scale_point(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    if not float(value).is_integer() or not low <= value <= high:
        return None
    return int(value)


def _poll_units(
    shape: satisfaction.PollShape,
    answers: Sequence[Mapping[str, Any]],
    enterprise: list[int] | None,
) -> Units:
    """The answers as units: one count category per (question, scale point)."""
    questions = [*shape.questions, *([shape.recommend] if shape.recommend else [])]
    width = sum(q.high - q.low + 1 for q in questions)
    values = np.zeros((len(answers), width))
    caps = np.zeros((len(answers), width))
    for u, answer in enumerate(answers):
        k = 0
        for q in questions:
            given = (
                answer.get("recommend")
                if shape.recommend is not None and q.key == shape.recommend.key
                else (answer.get("values") or {}).get(q.key)
            )
            point = _scale_point(given, q.low, q.high)
            if point is not None:
                caps[u, k : k + q.high - q.low + 1] = 1.0
                values[u, k + point - q.low] = 1.0
            k += q.high - q.low + 1
    return Units(
        partitions={
            "district": [str(a["district"]) for a in answers],
            "industry": [str(a["industry"]) for a in answers],
        },
        identity=[canonical({k: v for k, v in a.items() if k != "index"}) for a in answers],
        values=values,
        caps=caps,
        enterprise=enterprise,
    )


def _earlier(
    blobs: Sequence[bytes],
    kind: str,
    units_of: Callable[[Sequence[Mapping[str, Any]], list[int] | None], Units],
    entries: str,
) -> list[Earlier]:
    """The earlier releases' snapshots as the protection sees them (their units and what
    they hid)."""
    found = []
    for blob in blobs:
        snapshot = unpack(blob)
        if snapshot.get("kind") != kind:
            raise ValueError(f"an earlier release is no {kind} release")
        found.append(Earlier(units_of(snapshot[entries], None), dict(snapshot["hidden"])))
    return found


async def freeze_satisfaction(
    session: AsyncSession, campaign_id: int, earlier: Sequence[bytes]
) -> Frozen:
    """The poll's answers frozen, with the groups analysts may not see."""
    campaign, version = await _campaign(session, campaign_id)
    shape = satisfaction.poll_shape(version.schema, version.ui, version.rules, campaign.settings)
    rules = disclosure_rules(campaign)
    rows = (
        await session.execute(
            select(PollResponse.enterprise_id, PollResponse.data).where(
                PollResponse.campaign_id == campaign.id
            )
        )
    ).all()
    if not rows:
        raise NothingToRelease(f"campaign {campaign_id} has no answer yet")
    ids = sorted({int(e) for e, _ in rows})
    places = {
        e.id: (e.district, satisfaction.industry_group(e.industry).key or "")
        for e in await session.scalars(select(Enterprise).where(Enterprise.id.in_(ids)))
    }
    entries: list[tuple[str, dict[str, Any], int]] = []
    for enterprise_id, data in rows:
        district, industry = places[int(enterprise_id)]
        answer: dict[str, Any] = {
            "district": district,
            "industry": industry,
            "values": {
                q.key: point
                for q in shape.questions
                if (point := _scale_point(data.get(q.key), q.low, q.high)) is not None
            },
            "recommend": (
                _scale_point(
                    data.get(shape.recommend.key), shape.recommend.low, shape.recommend.high
                )
                if shape.recommend is not None
                else None
            ),
            "comments": {
                key: text.strip()
                for key in shape.comments
                if isinstance(text := data.get(key), str) and text.strip()
            },
        }
        entries.append((canonical(answer), answer, int(enterprise_id)))
    entries.sort(key=lambda e: e[0])  # the order says nothing of arrival nor of enterprise
    answers = [a for _, a, _ in entries]
    units = _poll_units(shape, answers, [e for _, _, e in entries])
    # The audit's linear programs take a while on a large poll: off the event loop.
    hidden = await asyncio.to_thread(
        protect,
        units,
        _earlier(earlier, SATISFACTION, lambda a, e: _poll_units(shape, a, e), "answers"),
        Thresholds(shape.min_group, rules.min_enterprises, units_are_enterprises=False),
        [0.0] * units.values.shape[1],
    )
    comments = CITY not in hidden and len(answers) >= shape.min_group_comments
    snapshot = {
        "format": SNAPSHOT_FORMAT,
        "kind": SATISFACTION,
        "form_version": version.number,
        "answers": answers,
        "hidden": hidden,
    }
    return Frozen(
        data=pack(snapshot),
        protection=pack({"hidden": hidden, "city_comments": comments}),
        rules={
            "form_version": version.number,
            "min_group": shape.min_group,
            "min_group_comments": shape.min_group_comments,
            "min_enterprises": rules.min_enterprises,
        },
        summary={
            "answers": len(answers),
            "enterprises": len(ids),
            "groups": len(units.groups()),
            "hidden": len(hidden),
        },
    )


def satisfaction_of_release(
    row: Release, version: FormVersion, by: satisfaction.GroupBy | None, *, with_comments: bool
) -> satisfaction.SatisfactionOut:
    """What a release shows: the groups it hides show their count only, comments only for
    the whole city (and only when it reaches the comments threshold)."""
    if by == "enterprise":
        raise ValueError("a release holds no enterprise; by=enterprise is the live view's")
    snapshot = unpack(row.data)
    protection = unpack(row.protection)
    hidden: dict[str, str] = protection["hidden"]
    rules = row.rules
    shape = satisfaction.poll_shape(
        version.schema,
        version.ui,
        version.rules,
        {
            "anonymity": {
                "min_group": rules["min_group"],
                "min_group_comments": rules["min_group_comments"],
            }
        },
    )
    answers: list[dict[str, Any]] = snapshot["answers"]
    columns = {
        q.key: np.array(
            [float(v) if (v := a["values"].get(q.key)) is not None else math.nan for a in answers]
        )
        for q in shape.questions
    }
    if shape.recommend is not None:
        columns[shape.recommend.key] = np.array(
            [float(a["recommend"]) if a["recommend"] is not None else math.nan for a in answers]
        )
    everyone = np.zeros(len(answers), dtype=np.int64)
    texts: dict[str, list[str]] = {}
    if with_comments and protection.get("city_comments"):
        for answer in answers:
            for key, text in answer["comments"].items():
                texts.setdefault(key, []).append(text)
    [overall] = satisfaction.group_scores(
        shape, [satisfaction.Group(None, None)], everyone, columns, {0: texts}
    )
    if CITY in hidden:
        _count_only(overall)
    if not (with_comments and protection.get("city_comments")):
        overall.comments = None
    groups: list[satisfaction.GroupScores] = []
    if by is not None:
        keys = sorted({str(a[by]) for a in answers})
        names = {key: satisfaction.group_name(by, key) for key in keys}
        index = {key: i for i, key in enumerate(keys)}
        group = np.array([index[str(a[by])] for a in answers], dtype=np.int64)
        groups = satisfaction.group_scores(
            shape, [satisfaction.Group(k, names[k]) for k in keys], group, columns, {}
        )
        for scores in groups:
            scores.comments = None  # never per group from a release
            if f"{by}:{scores.key}" in hidden:
                _count_only(scores)
    out = satisfaction.describe(
        shape, row.campaign_id, snapshot["form_version"], by, overall, groups
    )
    out.release = stamp(row)
    return out


def _count_only(scores: satisfaction.GroupScores) -> None:
    scores.suppressed = True
    scores.questions = scores.dimensions = None
    scores.recommend = None
    scores.comments = None


# --- self-assessment ----------------------------------------------------------------------------


def _assessment_units(
    parsed: assessments.AssessmentRules,
    results: Sequence[Mapping[str, Any]],
    enterprise: list[int] | None,
) -> Units:
    """The enterprises as units: a count per grade, one for a veto, the total and each duty's
    points as magnitudes."""
    grades = [g.grade for g in parsed.grades]
    duties = list(parsed.duties)
    maxima = [assessments.duty_maximum(parsed.duties[d]) for d in duties]
    max_score = sum(maxima) if parsed.max_score is None else parsed.max_score
    width = len(grades) + 1 + 1 + len(duties)
    values = np.zeros((len(results), width))
    caps = np.zeros((len(results), width))
    for u, result in enumerate(results):
        values[u, grades.index(result["grade"])] = 1.0
        values[u, len(grades)] = 1.0 if result["vetoes"] else 0.0
        values[u, len(grades) + 1] = float(result["total"])
        for j, duty in enumerate(duties):
            values[u, len(grades) + 2 + j] = float(result["duties"].get(duty, 0.0))
        caps[u, : len(grades) + 1] = 1.0
        caps[u, len(grades) + 1] = max_score
        caps[u, len(grades) + 2 :] = maxima
    return Units(
        partitions={"district": [str(r["district"]) for r in results]},
        identity=[canonical({k: v for k, v in r.items() if k != "index"}) for r in results],
        values=values,
        caps=caps,
        enterprise=enterprise,
    )


def _assessment_widths(parsed: assessments.AssessmentRules, p_percent: float) -> list[float]:
    """A hidden figure's points stay uncertain over at least 2 p% of their scale (the total:
    at p = 10, 20 of 100 points); counts need only not be pinned."""
    maxima = [assessments.duty_maximum(d) for d in parsed.duties.values()]
    max_score = sum(maxima) if parsed.max_score is None else parsed.max_score
    share = 2 * p_percent / 100
    return [0.0] * (len(parsed.grades) + 1) + [share * max_score] + [share * m for m in maxima]


async def freeze_assessment(
    session: AsyncSession, campaign_id: int, earlier: Sequence[bytes]
) -> Frozen:
    """The scored self-assessments frozen, with the districts analysts may not see."""
    campaign, version = await _campaign(session, campaign_id)
    parsed = assessments.parse_rules(version.rules, version.ui)
    rules = disclosure_rules(campaign)
    counted = await assessments.counted_assessments(session, campaign, parsed)
    if not counted:
        raise NothingToRelease(f"campaign {campaign_id} has no self-assessment yet")
    entries: list[tuple[str, dict[str, Any], int]] = []
    for _, enterprise, scored in counted:
        result = {
            "district": enterprise.district,
            "industry": satisfaction.industry_group(enterprise.industry).key or "",
            "duties": scored.duties,
            "total": scored.total,
            "score_grade": scored.score_grade,
            "grade": scored.grade,
            "vetoes": scored.vetoes,
        }
        entries.append((canonical(result), result, enterprise.id))
    entries.sort(key=lambda e: e[0])
    results = [{"index": i} | r for i, (_, r, _) in enumerate(entries)]
    units = _assessment_units(parsed, results, [e for _, _, e in entries])
    hidden = protect(
        units,
        _earlier(earlier, ASSESSMENT, lambda r, e: _assessment_units(parsed, r, e), "enterprises"),
        Thresholds(rules.min_enterprises, rules.min_enterprises, units_are_enterprises=True),
        _assessment_widths(parsed, rules.p_percent),
    )
    snapshot = {
        "format": SNAPSHOT_FORMAT,
        "kind": ASSESSMENT,
        "form_version": version.number,
        "enterprises": results,
        "hidden": hidden,
    }
    return Frozen(
        data=pack(snapshot),
        protection=pack({"hidden": hidden}),
        rules={
            "form_version": version.number,
            "min_enterprises": rules.min_enterprises,
            "p_percent": rules.p_percent,
        },
        summary={
            "enterprises": len(results),
            "districts": len({r["district"] for r in results}),
            "hidden": len(hidden),
        },
    )


def assessments_of_release(row: Release, version: FormVersion) -> assessments.AssessmentsOut:
    """What a release shows: districts and the city, the hidden ones as counts only, ranks
    over the published districts only; never an enterprise."""
    snapshot = unpack(row.data)
    hidden: dict[str, str] = unpack(row.protection)["hidden"]
    parsed = assessments.parse_rules(version.rules, version.ui)
    results: list[dict[str, Any]] = snapshot["enterprises"]
    scored = [
        (
            str(r["district"]),
            assessments.Scored(
                duties={k: float(v) for k, v in r["duties"].items()},
                total=float(r["total"]),
                vetoes=list(r["vetoes"]),
                score_grade=str(r["score_grade"]),
                grade=str(r["grade"]),
            ),
        )
        for r in results
    ]
    by_district: dict[str, list[assessments.Scored]] = {}
    for district, s in scored:
        by_district.setdefault(district, []).append(s)
    codes = sorted(set(city_districts()) | set(by_district))
    summaries = [assessments.summarise(parsed, c, by_district.get(c, [])) for c in codes]
    for summary in summaries:
        if f"district:{summary.district}" in hidden:
            assessments.counts_only(summary)
    published = [s.mean_total if not s.counts_only else None for s in summaries]
    for summary, rank in zip(summaries, competition_ranks(published), strict=True):
        summary.rank = rank
    city = assessments.summarise(parsed, None, [s for _, s in scored])
    if CITY in hidden:
        assessments.counts_only(city)
    summaries.sort(key=lambda s: (s.rank is None, s.rank, s.district))
    return assessments.AssessmentsOut(
        campaign_id=row.campaign_id,
        form_version=int(snapshot["form_version"]),
        rules=assessments.rules_out(parsed),
        enterprises=None,
        districts=summaries,
        city=city,
        release=stamp(row),
    )
