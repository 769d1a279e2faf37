"""The satisfaction and self-assessment figures as tables to download (CSV, XLSX).

Each table is drawn from the very answer the JSON route gives (``SatisfactionOut``,
``AssessmentsOut``), after the release's protection: a download can carry no figure the
JSON did not, and a hidden group stays a count.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec

from survey_service.analytics.assessments import AssessmentsOut, DistrictAssessment
from survey_service.analytics.exports import release_notes
from survey_service.analytics.frozen import ReleaseStamp
from survey_service.analytics.satisfaction import GroupScores, SatisfactionOut
from survey_service.tabular import Column, Sheet

YES_NO = ("是", "否")
GROUPINGS_ZH = {None: "全市", "enterprise": "企业", "district": "区县", "industry": "行业"}


def _yes(value: bool) -> str:
    return YES_NO[0] if value else YES_NO[1]


def _release(stamp: ReleaseStamp | None) -> list[tuple[str, str]]:
    return release_notes(None if stamp is None else msgspec.to_builtins(stamp))


def file_name(kind: str, campaign_id: int, stamp: ReleaseStamp | None) -> str:
    """``{kind}-{campaign}-r{number}``, or ``-live`` for the live figures."""
    return f"{kind}-{campaign_id}-" + ("live" if stamp is None else f"r{stamp.number}")


# --- worker satisfaction ---------------------------------------------------------------------


def _points(out: SatisfactionOut) -> list[int]:
    """Every scale point any question uses, in order (one distribution column each)."""
    return sorted({p for q in out.questions for p in range(q.low, q.high + 1)})


def satisfaction_sheet(out: SatisfactionOut) -> Sheet:
    """One row per group and item (question, duty dimension, would-recommend); a group under
    the anonymity threshold is one row with its count only."""
    points = _points(out)
    columns = [
        Column("分组代码"),
        Column("分组名称"),
        Column("所属区县"),
        Column("答卷数", "count"),
        Column("是否隐藏(人数不足)"),
        Column("项目类型"),
        Column("项目代码"),
        Column("项目名称"),
        Column("有效回答数", "count"),
        Column("平均分", "decimal"),
        Column("满意比例", "share"),
        Column("一般比例", "share"),
        Column("不满意比例", "share"),
        *(Column(f"选{p}分人数", "count") for p in points),
        Column("推荐者比例", "share"),
        Column("中立者比例", "share"),
        Column("贬损者比例", "share"),
        Column("净推荐值", "decimal"),
    ]
    titles = {q.key: q.title.get("zh", q.key) for q in out.questions}
    titles |= {d.key: d.title.get("zh", d.key) for d in out.dimensions}
    return Sheet("职工满意度", columns, _satisfaction_rows(out, titles, points, len(columns)))


def _satisfaction_rows(
    out: SatisfactionOut, titles: dict[str, str], points: list[int], width: int
) -> Iterator[list[Any]]:
    for group in [out.overall, *out.groups]:
        head = _group_head(group)
        if group.suppressed:
            yield head + [None] * (width - len(head))
            continue
        for kind, scores in (("题目", group.questions), ("维度", group.dimensions)):
            for score in scores or ():
                counts = [score.distribution.get(str(p)) for p in points]
                yield [
                    *head,
                    kind,
                    score.key,
                    titles.get(score.key, score.key),
                    score.n,
                    score.mean,
                    score.favourable,
                    score.neutral,
                    score.unfavourable,
                    *counts,
                    None,
                    None,
                    None,
                    None,
                ]
        if (r := group.recommend) is not None:
            yield [
                *head,
                "推荐意愿",
                "recommend",
                "推荐意愿",
                r.n,
                *[None] * (4 + len(points)),
                r.promoters,
                r.passives,
                r.detractors,
                r.score,
            ]


def _group_head(group: GroupScores) -> list[Any]:
    return [
        group.key if group.key is not None else "",
        group.name or ("全市" if group.key is None else group.key),
        group.district,
        group.respondents,
        _yes(group.suppressed),
    ]


def satisfaction_comments(out: SatisfactionOut) -> Sheet:
    """The written comments a principal may read (a release: the whole city's only)."""
    rows = [
        [g.name or ("全市" if g.key is None else g.key), question, text]
        for g in [out.overall, *out.groups]
        for question, texts in (g.comments or {}).items()
        for text in texts
    ]
    return Sheet("意见建议", [Column("分组"), Column("题目"), Column("意见")], rows)


def satisfaction_notes(out: SatisfactionOut, title: str) -> list[tuple[str, str]]:
    t, b = out.thresholds, out.bands
    return [
        ("调查活动", title),
        ("分组", GROUPINGS_ZH.get(out.by, out.by or "全市")),
        ("表单版本", str(out.form_version)),
        (
            "匿名保护",
            f"答卷少于{t.min_group}份的分组只给出答卷数；意见建议需至少{t.min_group_comments}份。",
        ),
        (
            "比例口径",
            f"满意：{_band(b.favourable)}分；一般：{_band(b.neutral)}分；"
            f"不满意：{_band(b.unfavourable)}分；比例为占有效回答数之比。",
        ),
        (
            "净推荐值",
            f"推荐者（{_band(b.promoters)}分）比例减贬损者（{_band(b.detractors)}分）比例，×100。",
        ),
        *_release(out.release),
    ]


def _band(band: list[int] | None) -> str:
    return "无" if not band else f"{band[0]}–{band[1]}"


# --- enterprise self-assessments ----------------------------------------------------------------


def assessment_sheet(out: AssessmentsOut) -> Sheet:
    """Enterprises (when the principal may see them), then districts, then the city: one
    row each, a duty's points (an enterprise) or mean points (a district) per column."""
    duties = out.rules.duties
    grades = [g.grade for g in out.rules.grades]
    columns = [
        Column("层级"),
        Column("统一社会信用代码"),
        Column("企业名称"),
        Column("区县代码"),
        Column("区县名称"),
        Column("行业代码"),
        Column("审核状态"),
        Column("企业数", "count"),
        Column("总分(区县为平均)", "decimal"),
        *(Column(f"{d.zh or d.key}(满分{d.max:g})", "decimal") for d in duties),
        Column("一票否决项"),
        Column("按分数等级"),
        Column("等级"),
        *(Column(f"{g}级企业数", "count") for g in grades),
        Column("被否决企业数", "count"),
        Column("排名", "count"),
        Column("仅公布企业数"),
    ]
    vetoes = {v.key: v.zh or v.key for v in out.rules.vetoes}

    def rows() -> Iterator[list[Any]]:
        for e in out.enterprises or ():
            points = {d.key: d.score for d in e.duties}
            yield [
                "企业",
                e.uscc,
                e.name,
                e.district,
                e.district_name,
                e.industry,
                e.review_state,
                1,
                e.total,
                *(points.get(d.key) for d in duties),
                "；".join(vetoes.get(v, v) for v in e.vetoes),
                e.score_grade,
                e.grade,
                *(None for _ in grades),
                None,
                e.rank,
                None,
            ]
        for d in out.districts or ():
            yield _area_row("区县", d, duties_keys=[x.key for x in duties], grades=grades)
        if out.city is not None:
            yield _area_row("全市", out.city, duties_keys=[x.key for x in duties], grades=grades)

    return Sheet("企业自评", columns, rows())


def _area_row(
    level: str, d: DistrictAssessment, *, duties_keys: list[str], grades: list[str]
) -> list[Any]:
    return [
        level,
        None,
        None,
        d.district,
        d.name or ("全市" if d.district is None else d.district),
        None,
        None,
        d.enterprises,
        d.mean_total,
        *(d.duty_means.get(k) for k in duties_keys),
        None,
        None,
        None,
        *(d.grades.get(g) for g in grades),
        d.vetoed,
        d.rank,
        _yes(d.counts_only),
    ]


def assessment_notes(out: AssessmentsOut, title: str) -> list[tuple[str, str]]:
    rules = out.rules
    return [
        ("调查活动", title),
        ("表单版本", str(out.form_version)),
        ("满分", f"{rules.max_score:g}"),
        ("等级", "；".join(f"{g.grade}（{g.zh}）：{g.min_score:g}分及以上" for g in rules.grades)),
        (
            "一票否决",
            "；".join(f"{v.zh or v.key}：等级最高为{v.cap_grade}" for v in rules.vetoes) or "无",
        ),
        (
            "公布规则",
            "区县的平均分和等级分布在企业数不足或可由已公布数字及以往发布推算时不公布，"
            "只给出企业数；分析人员看不到单个企业。",
        ),
        *_release(out.release),
    ]
