"""Downloads of a wage table: CSV and XLSX (survey_service/tabular.py), Chinese headers,
the XLSX with a notes sheet stating the rules, the percentile definition and the data's
date."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from survey_service.analytics.wage_dimensions import DIMENSIONS, code_name, enum_labels
from survey_service.analytics.wages import WageTable
from survey_service.tabular import Column, Kind, Sheet, csv_chunks, write_xlsx

FIGURES: tuple[tuple[str, str], ...] = (
    ("n_enterprises", "企业数"),
    ("n_workers", "职工人数"),
    ("p10", "低位数(P10)"),
    ("p25", "P25"),
    ("p50", "中位数(P50)"),
    ("p75", "P75"),
    ("p90", "高位数(P90)"),
    ("mean", "平均数"),
    ("suppressed", "是否保密"),
    ("suppression_reason", "保密原因"),
    ("p50_change", "中位数同比增减"),
    ("p50_change_pct", "中位数同比增减(%)"),
    ("mean_change", "平均数同比增减"),
    ("mean_change_pct", "平均数同比增减(%)"),
)
MONEY = {"p10", "p25", "p50", "p75", "p90", "mean", "p50_change", "mean_change"}
PERCENT = {"p50_change_pct", "mean_change_pct"}
REASONS_ZH = {
    "min_enterprises": "企业数不足",
    "min_workers": "职工人数不足",
    "p_percent": "p%规则：个别企业占比过高",
    "dominance": "(n,k)支配规则：少数企业占比过高",
    "complementary": "连带保密：防止由合计推算",
    "confidential": "保密",
}


def campaign_label(title: str, year: int) -> str:
    """「title（year年）」, as a download's notes name its campaign."""
    return f"{title}（{year}年）"


def headers(table: WageTable) -> list[str]:
    out: list[str] = []
    for d in table.dimensions:
        label = DIMENSIONS[d].label_zh
        out += [f"{label}代码", f"{label}名称"]
    return out + [zh for _, zh in FIGURES]


def cells(table: WageTable, row: dict[str, Any], labels: dict[str, dict[str, str]]) -> list[Any]:
    """One row's cells: text as text, numbers as numbers, nothing as an empty cell;
    ``labels``: ``enum_labels`` of the table's form (read once per table)."""
    out: list[Any] = []
    for d in table.dimensions:
        code = row[d]
        out += [code if code is not None else "", code_name(d, code, labels)]
    for key, _ in FIGURES:
        value = row.get(key)
        if key == "suppressed":
            value = "是" if value else "否"
        elif key == "suppression_reason" and value is not None:
            value = REASONS_ZH.get(value, value)
        out.append("" if value is None else value)
    return out


def _kind(key: str) -> Kind:
    if key in MONEY:
        return "money"
    if key in PERCENT:
        return "percent"
    return "text" if key in ("suppressed", "suppression_reason") else "count"


def sheet(table: WageTable) -> Sheet:
    """The table as one sheet: two text columns (code, name) per dimension, then the figures."""
    labels = enum_labels(table.campaign.schema)
    titles = headers(table)
    dims = 2 * len(table.dimensions)
    columns = [Column(t) for t in titles[:dims]]
    columns += [Column(zh, _kind(key)) for key, zh in FIGURES]
    return Sheet("工资价位", columns, (cells(table, row, labels) for row in table.rows))


def wage_csv_chunks(table: WageTable) -> Iterator[bytes]:
    """The table as CSV, a few hundred rows per chunk."""
    return csv_chunks(sheet(table))


def population_zh(rules: dict[str, Any]) -> str:
    """Who the table counts and what it measures, in the words of the notes sheet."""
    if rules["measure"] == "annual":
        return f"全年在岗（工作满{rules['annual_min_months']}个月）的职工；年度应发工资"
    return "全部职工；年度应发工资除以工作月数（月均工资）"


def notes(table: WageTable) -> list[tuple[str, str]]:
    rules, meta = table.rules, table.meta
    dominance = rules.get("dominance")
    weights = rules.get("weights")
    previous = meta.get("previous_campaign")
    filters = "；".join(f"{DIMENSIONS[d].label_zh}={v}" for d, v in meta["filters"].items())
    return [
        ("调查活动", campaign_label(table.campaign.title, table.campaign.year)),
        ("分组", "、".join(DIMENSIONS[d].label_zh for d in meta["by"]) or "总计"),
        ("筛选条件", filters or "无"),
        ("统计口径", population_zh(rules)),
        ("计量单位", "元"),
        (
            "百分位数定义",
            "逆累积分布（inverted CDF）：第P百分位数为按工资升序排列后，累计人数"
            "（有权重时为累计权重）占比首次达到P%的那个工资值；无权重时即第 max(⌈P%×n⌉,1) 位的值。"
            "不做插值，每个分位数都是某位职工的实际工资。",
        ),
        (
            "保密规则",
            f"企业数少于{rules['min_enterprises']}家（同一集团计为一家）或职工人数少于"
            f"{rules['min_workers']}人的格子不公布；p%规则（p={rules['p_percent']:g}）：合计减去"
            "最大两家企业后小于最大一家的p%时不公布"
            + (
                f"；(n,k)支配规则：最大{dominance['n']}家企业合计超过{dominance['k']:g}%时不公布"
                if dominance
                else ""
            )
            + ("" if rules["suppression"] else "。本表未做保密处理，仅供内部使用"),
        ),
        (
            "连带保密",
            "每条合计线（合计及其分项）上保密格子为0个或至少2个，且任何保密格子"
            "都不能由公布的数字推算得出。",
        ),
        (
            "防差分",
            "筛选条件视为表的维度：带筛选的查询返回整张表的一个切片，与整张表一并做保密处理。",
        ),
        ("权重", "按企业抽样权重加权" if weights else "不加权"),
        (
            "同比",
            f"与{previous['year']}年调查比较，仅在两年均公布时给出" if previous else "无上年数据",
        ),
        ("数据截至", meta.get("data_as_of") or "无数据"),
        *release_notes(meta.get("release")),
        ("生成时间", meta["generated_at"]),
    ]


def release_notes(release: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The release a table comes from: number, date, hash, made during collection or not."""
    if release is None:
        return [("发布版本", "实时数据（未发布，仅供内部使用）")]
    return [
        ("发布版本", f"第{release['number']}版"),
        ("发布时间", release["created_at"]),
        ("内容校验值(SHA-256)", release["content_hash"]),
        (
            "采集期间发布",
            "是（调查尚未结束，数据可能变化）" if release["during_collection"] else "否",
        ),
    ]


def write_wage_xlsx(path: Path, table: WageTable) -> None:
    """The table and its notes as an XLSX file at ``path``."""
    write_xlsx(path, [sheet(table)], notes(table))
