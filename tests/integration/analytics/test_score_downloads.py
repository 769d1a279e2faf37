"""Satisfaction and self-assessment figures as CSV and XLSX: the same figures as the JSON a
principal may read, under the same protection (a hidden group is a count, analysts get no
enterprise), read back with the csv module and calamine."""

from __future__ import annotations

import csv
import io
import random
from typing import Any

from python_calamine import CalamineWorkbook

from tests.conftest import Service
from tests.factories import bearer
from tests.integration.analytics.score_helpers import (
    answer_through_link,
    answers,
    poll,
    release,
)
from tests.integration.analytics.test_score_release_attacks import (
    WANGYI,
    YAOZHOU,
    YINTAI,
    _assessed,
)

HEAD = {"分组代码", "分组名称", "所属区县", "答卷数", "是否隐藏(人数不足)"}


async def _get(service: Service, path: str, headers: dict[str, str]) -> Any:
    response = await service.client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response


def _csv(content: bytes) -> list[dict[str, str]]:
    assert content.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def _sheets(content: bytes) -> dict[str, list[list[Any]]]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(content))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def _number(text: str) -> float | None:
    return float(text) if text != "" else None


async def test_satisfaction_tables_carry_what_the_json_shows(service: Service) -> None:
    districts = {1: WANGYI, 2: WANGYI, 3: WANGYI, 4: YINTAI, 5: YINTAI, 6: YINTAI, 7: YAOZHOU}
    sizes = {1: 12, 2: 12, 3: 12, 4: 5, 5: 5, 6: 5, 7: 4}
    campaign_id, _ = await poll(service, sizes, districts)
    hostile = answers(random.Random(5), 1, 0)[0] | {"comment": "=HYPERLINK(1)"}
    await answer_through_link(service, campaign_id, 1, [hostile])
    number = await release(service, campaign_id)
    analyst = bearer(await service.token("analyst", label="analyst"))
    path = f"/api/v1/campaigns/{campaign_id}/satisfaction?by=district"
    body = (await _get(service, path, analyst)).json()
    download = await _get(service, f"{path}&format=csv", analyst)
    assert download.headers["content-type"].startswith("text/csv")
    name = f"satisfaction-{campaign_id}-r{number}.csv"
    assert download.headers["content-disposition"] == f'attachment; filename="{name}"'
    rows = _csv(download.content)

    groups = {g["key"] or "": g for g in [body["overall"], *body["groups"]]}
    seen_groups = {row["分组代码"] for row in rows}
    assert seen_groups == set(groups)
    assert groups[YAOZHOU]["suppressed"] is True
    for row in rows:
        group = groups[row["分组代码"]]
        assert int(row["答卷数"]) == group["respondents"]
        if group["suppressed"]:
            # A hidden group is its count and nothing else.
            assert row["是否隐藏(人数不足)"] == "是"
            assert all(v == "" for k, v in row.items() if k not in HEAD)
            continue
        if row["项目类型"] == "推荐意愿":
            assert _number(row["净推荐值"]) == group["recommend"]["score"]
            continue
        scores = group["questions"] if row["项目类型"] == "题目" else group["dimensions"]
        score = next(s for s in scores if s["key"] == row["项目代码"])
        assert int(row["有效回答数"]) == score["n"]
        assert _number(row["平均分"]) == score["mean"]
        assert _number(row["满意比例"]) == score["favourable"]
        for point, count in score["distribution"].items():
            assert int(row[f"选{point}分人数"]) == count
    assert len([r for r in rows if r["分组代码"] == YAOZHOU]) == 1

    sheets = _sheets((await _get(service, f"{path}&format=xlsx", analyst)).content)
    assert list(sheets) == ["职工满意度", "意见建议", "说明"]
    table = sheets["职工满意度"]
    assert len(table) == len(rows) + 1
    assert table[0][0] == "分组代码"
    # The comments are the whole city's only, as in the JSON; in XLSX a text cell is never
    # a formula, so it keeps its text.
    comments = sheets["意见建议"][1:]
    assert {row[0] for row in comments} == {"全市"}
    assert sorted(row[2] for row in comments) == body["overall"]["comments"]["comment"]
    assert "=HYPERLINK(1)" in [row[2] for row in comments]
    notes = dict((row[0], row[1]) for row in sheets["说明"][1:])
    assert notes["发布版本"] == f"第{number}版"
    assert (
        await service.client.get(f"{path}&format=csv&release=live", headers=analyst)
    ).status_code == 403


async def test_assessment_tables_show_enterprises_to_admins_only(service: Service) -> None:
    districts = {1: WANGYI, 2: WANGYI, 3: WANGYI, 4: YINTAI, 5: YINTAI, 6: YINTAI, 7: YAOZHOU}
    campaign_id, _ = await _assessed(service, districts)
    path = f"/api/v1/campaigns/{campaign_id}/assessments"
    live = (await _get(service, path, service.admin)).json()
    rows = _csv((await _get(service, f"{path}?format=csv", service.admin)).content)
    enterprises = [r for r in rows if r["层级"] == "企业"]
    assert sorted(r["统一社会信用代码"] for r in enterprises) == sorted(
        e["uscc"] for e in live["enterprises"]
    )
    for row in enterprises:
        e = next(x for x in live["enterprises"] if x["uscc"] == row["统一社会信用代码"])
        assert float(row["总分(区县为平均)"]) == e["total"]
        assert row["等级"] == e["grade"]
        assert int(row["排名"]) == e["rank"]

    number = await release(service, campaign_id)
    analyst = bearer(await service.token("analyst", label="analyst"))
    frozen = (await _get(service, path, analyst)).json()
    assert frozen["enterprises"] is None
    sheets = _sheets((await _get(service, f"{path}?format=xlsx", analyst)).content)
    table = sheets["企业自评"]
    header, body = table[0], table[1:]
    levels = [row[header.index("层级")] for row in body]
    assert "企业" not in levels
    assert levels.count("全市") == 1
    assert all(row[header.index("统一社会信用代码")] == "" for row in body)
    by_district = {d["district"]: d for d in frozen["districts"]}
    for row in body:
        if row[0] != "区县":
            continue
        d = by_district[row[header.index("区县代码")]]
        assert row[header.index("企业数")] == d["enterprises"]
        mean = row[header.index("总分(区县为平均)")]
        assert (mean if mean != "" else None) == d["mean_total"]
        assert row[header.index("仅公布企业数")] == ("是" if d["counts_only"] else "否")
    assert by_district[YAOZHOU]["counts_only"] is True
    assert dict((r[0], r[1]) for r in sheets["说明"][1:])["发布版本"] == f"第{number}版"
