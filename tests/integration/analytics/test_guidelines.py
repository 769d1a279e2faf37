"""The wage guidelines (工资指导线) as data: recorded by the bureau through the API or a
sheet, read by every signed-in role, refused when their lines are out of order, on SQLite
and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import Service
from tests.factories import bearer
from tests.integration.reports.report_helpers import (
    ask,
    pdf_of,
    release_table,
    released_campaign,
    text_of,
    wait_for,
)

SHAANXI, TONGCHUAN = "610000", "610200"


def guideline(year: int = 2024, region: str = SHAANXI, **changes: Any) -> dict[str, Any]:
    return {
        "year": year, "region": region, "base_pct": 6.0, "upper_pct": 9.0, "lower_pct": 3.0,
        "source": "示例数值，非正式发布的工资指导线", "example": True,
    } | changes  # fmt: skip


async def test_a_guideline_is_recorded_replaced_and_read_by_every_role(service: Service) -> None:
    made = await service.client.post(
        "/api/v1/wage-guidelines", json=guideline(), headers=service.admin
    )
    assert made.status_code == 201, made.text
    assert made.json()["guidelines"][0]["region_name"] == "陕西省"
    replaced = await service.client.post(
        "/api/v1/wage-guidelines",
        json=[guideline(base_pct=6.5, warning_pct=11.0), guideline(2023, base_pct=5.5)],
        headers=service.admin,
    )
    assert replaced.status_code == 201, replaced.text  # 2023 is new
    assert (replaced.json()["created"], replaced.json()["updated"]) == (1, 1)
    again = await service.client.post(
        "/api/v1/wage-guidelines", json=guideline(base_pct=6.5, warning_pct=11.0),
        headers=service.admin,
    )  # fmt: skip
    assert again.status_code == 200  # all replacements
    for role in ("analyst", "enterprise", "district"):
        kwargs: dict[str, Any] = {"district": "610202"} if role == "district" else {}
        token = await service.token(role, **kwargs) if role != "enterprise" else None
        if token is None:
            continue
        listed = await service.client.get(
            "/api/v1/wage-guidelines", params={"year": "2024"}, headers=bearer(token)
        )
        assert listed.status_code == 200, listed.text
        (only,) = listed.json()["guidelines"]
        assert (only["base_pct"], only["warning_pct"], only["example"]) == (6.5, 11.0, True)
    everything = await service.client.get("/api/v1/wage-guidelines", headers=service.admin)
    assert [g["year"] for g in everything.json()["guidelines"]] == [2024, 2023]
    unsigned = await service.client.get("/api/v1/wage-guidelines")
    assert unsigned.status_code == 401


async def test_only_an_admin_records_or_removes_one(service: Service) -> None:
    analyst = bearer(await service.token("analyst"))
    refused = await service.client.post(
        "/api/v1/wage-guidelines", json=guideline(), headers=analyst
    )
    assert refused.status_code == 403
    await service.client.post("/api/v1/wage-guidelines", json=guideline(), headers=service.admin)
    assert (
        await service.client.delete(f"/api/v1/wage-guidelines/2024/{SHAANXI}", headers=analyst)
    ).status_code == 403
    removed = await service.client.delete(
        f"/api/v1/wage-guidelines/2024/{SHAANXI}", headers=service.admin
    )
    assert removed.status_code == 204, removed.text
    gone = await service.client.delete(
        f"/api/v1/wage-guidelines/2024/{SHAANXI}", headers=service.admin
    )
    assert gone.status_code == 404
    listed = await service.client.get("/api/v1/wage-guidelines", headers=service.admin)
    assert listed.json()["guidelines"] == []


async def test_lines_out_of_order_are_refused_and_nothing_is_stored(service: Service) -> None:
    response = await service.client.post(
        "/api/v1/wage-guidelines",
        json=[guideline(2023), guideline(lower_pct=7.0), guideline(2022, warning_pct=5.0)],
        headers=service.admin,
    )
    assert response.status_code == 422, response.text
    assert [e["path"] for e in response.json()["errors"]] == [
        "/1/base_pct", "/2/warning_pct",
    ]  # fmt: skip
    twice = await service.client.post(
        "/api/v1/wage-guidelines", json=[guideline(), guideline()], headers=service.admin
    )
    assert [e["path"] for e in twice.json()["errors"]] == ["/1/region"]
    bad_region = await service.client.post(
        "/api/v1/wage-guidelines", json=guideline(region="610202"), headers=service.admin
    )  # a district: guidelines are a province's or a city's
    assert bad_region.status_code == 422
    listed = await service.client.get("/api/v1/wage-guidelines", headers=service.admin)
    assert listed.json()["guidelines"] == []


async def test_guidelines_load_from_a_chinese_sheet_with_errors_by_row_and_column(
    service: Service,
) -> None:
    header = "年度,地区代码,基准线(%),上线(%),下线(%),预警线(%),来源,示例数据"
    good = [header, f"2024,{SHAANXI},6.5,9.5,3.5,,陕西省人社厅（示例）,是",
            f"2024,{TONGCHUAN},6,9,3,11,铜川市人社局（示例）,是"]  # fmt: skip
    bad = [header, f"2024,{SHAANXI},6.5,9.5,3.5,,来源,是", f"2024,{TONGCHUAN},6,5,3,,来源,是",
           "20x4,610200,6,9,3,,来源,是"]  # fmt: skip
    refused = await service.client.post(
        "/api/v1/wage-guidelines/import",
        files={"file": ("指导线.csv", "\n".join(bad).encode("gbk"))},
        headers=service.admin,
    )
    assert refused.status_code == 422, refused.text
    assert [(e["row"], e["column"]) for e in refused.json()["errors"]] == [
        (3, "基准线(%)"), (4, "年度"),
    ]  # fmt: skip
    assert (await service.client.get("/api/v1/wage-guidelines", headers=service.admin)).json()[
        "guidelines"
    ] == []
    loaded = await service.client.post(
        "/api/v1/wage-guidelines/import",
        files={"file": ("指导线.csv", "\n".join(good).encode("gbk"))},
        headers=service.admin,
    )
    assert loaded.status_code == 200, loaded.text
    by_region = {g["region"]: g for g in loaded.json()["guidelines"]}
    assert by_region[TONGCHUAN]["warning_pct"] == 11.0
    assert by_region[SHAANXI]["warning_pct"] is None
    assert by_region[SHAANXI]["source"] == "陕西省人社厅（示例）"


async def test_the_wage_guide_prints_the_provinces_guideline_applied_to_the_median(
    service: Service,
) -> None:
    """The city has no guideline of its own that year: the province's applies, marked as
    example figures, with its lines applied to the released city median."""
    campaign_id, _, made = await released_campaign(service)
    campaign = (
        await service.client.get(f"/api/v1/campaigns/{campaign_id}", headers=service.admin)
    ).json()
    year = campaign["campaign_year"]
    await service.client.post(
        "/api/v1/wage-guidelines",
        json=[guideline(year, base_pct=6.5, upper_pct=9.5, lower_pct=3.5, warning_pct=12.0),
              guideline(year - 1, region=TONGCHUAN, base_pct=1.0, upper_pct=2.0, lower_pct=0.0)],
        headers=service.admin,
    )  # fmt: skip
    _, text = await _guide(service, campaign_id)
    flat = re.sub(r"\s+", "", text)
    assert f"{year}年工资指导线" in flat
    assert "陕西省发布的工资指导线" in flat
    assert "以下为示例数值，并非正式发布的工资指导线" in flat
    for line in ("基准线6.5%", "上线9.5%", "下线3.5%", "预警线12.0%"):
        assert line in flat
    rows = await release_table(service, campaign_id, made["number"], by="occupation,district")
    (total,) = [r for r in rows if r["occupation"] == "*" and r["district"] == "*"]
    median = total["p50"]
    assert f"全市职工年度工资中位数{median:,.0f}元" in flat
    for name, pct in (("下线", 3.5), ("基准线", 6.5), ("上线", 9.5), ("预警线", 12.0)):
        assert f"按{name}（{pct:+.1f}%）增长为{round(median * (1 + pct / 100)):,.0f}元" in flat


async def test_a_guide_without_a_guideline_says_so(service: Service) -> None:
    campaign_id, _, _ = await released_campaign(service)
    _, text = await _guide(service, campaign_id)
    assert re.search(r"尚未录入\s*\d{4}\s*年的工资指导线", text)


async def _guide(service: Service, campaign_id: int) -> tuple[str, str]:
    status, asked = await ask(
        service, service.admin, type="wage-benchmark", campaign_id=campaign_id
    )
    assert status == 202, asked
    done = await wait_for(service, service.admin, asked["id"])
    assert done["status"] == "done", done
    return asked["id"], text_of(await pdf_of(service, service.admin, asked["id"]))
