"""The bureau's wage-guideline page through HTTP on SQLite and PostgreSQL: an admin records
one from the form (lines out of order refused, the form kept), loads a workbook (a bad cell
named by row and column, nothing stored), removes one; a district's staff only reads."""

from __future__ import annotations

from typing import Any

from tests.conftest import Service
from tests.integration.web.helpers import assert_well_formed, page_csrf, sign_in
from tests.samples import sheet


async def _guidelines(service: Service) -> list[dict[str, Any]]:
    listed = await service.client.get("/api/v1/wage-guidelines", headers=service.admin)
    found: list[dict[str, Any]] = listed.json()["guidelines"]
    return found


def _workbook(rows: list[list[Any]]) -> bytes:
    return sheet(rows, "指导线")


async def test_an_admin_records_loads_and_removes_guidelines(service: Service) -> None:
    assert (await sign_in(service, service.admin_token, admin=True)).status_code == 303
    shown = await service.client.get("/admin/guidelines")
    assert shown.status_code == 200
    assert_well_formed(shown.text)
    assert "尚未录入工资指导线" in shown.text
    csrf = await page_csrf(service, "/admin/guidelines")
    form = {"_csrf": csrf, "year": "2024", "region": "610200", "base_pct": "6",
            "upper_pct": "5", "lower_pct": "3", "source": "铜川市人社局"}  # fmt: skip
    refused = await service.client.post("/admin/guidelines", data=form)
    assert refused.status_code == 422
    assert_well_formed(refused.text)
    assert "下线 ≤ 基准线 ≤ 上线" in refused.text
    assert 'value="铜川市人社局"' in refused.text  # what was typed is kept
    assert await _guidelines(service) == []

    saved = await service.client.post(
        "/admin/guidelines", data=form | {"upper_pct": "9", "example": "true"}
    )
    assert saved.status_code == 303, saved.text
    (stored,) = await _guidelines(service)
    assert (stored["upper_pct"], stored["example"], stored["region_name"]) == (9.0, True, "铜川市")
    listed = await service.client.get(saved.headers["location"])
    assert "已保存 2024-610200" in listed.text
    assert "示例" in listed.text

    header = ["年度", "地区代码", "基准线(%)", "上线(%)", "下线(%)", "来源"]
    bad = _workbook([header, [2023, "610000", 5.5, 8, 3, "陕西省"], [2023, "610201", 5, 8, 3, "x"]])
    refused_sheet = await service.client.post(
        "/admin/guidelines/import", data={"_csrf": csrf}, files={"file": ("指导线.xlsx", bad)}
    )
    assert refused_sheet.status_code == 422
    errors = refused_sheet.text.split('id="import-errors"', 1)[1]
    assert '<td class="num">3</td><td>地区代码</td>' in errors
    assert len(await _guidelines(service)) == 1
    good = _workbook([header, [2023, "610000", 5.5, 8, 3, "陕西省人社厅"]])
    loaded = await service.client.post(
        "/admin/guidelines/import", data={"_csrf": csrf}, files={"file": ("指导线.xlsx", good)}
    )
    assert loaded.status_code == 200, loaded.text
    assert "新增 1 条，替换 0 条" in loaded.text
    assert [(g["year"], g["region"]) for g in await _guidelines(service)] == [
        (2024, "610200"), (2023, "610000"),
    ]  # fmt: skip

    removed = await service.client.post(
        "/admin/guidelines/2023/610000/delete", data={"_csrf": csrf}
    )
    assert removed.status_code == 303
    assert [g["year"] for g in await _guidelines(service)] == [2024]
    forged = await service.client.post("/admin/guidelines/2024/610200/delete", data={"_csrf": "x"})
    assert forged.status_code == 403
    assert len(await _guidelines(service)) == 1


async def test_a_districts_staff_reads_the_guidelines_but_cannot_change_them(
    service: Service,
) -> None:
    await service.client.post(
        "/api/v1/wage-guidelines",
        json={"year": 2024, "region": "610000", "base_pct": 6, "upper_pct": 9, "lower_pct": 3,
              "source": "陕西省人社厅"},
        headers=service.admin,
    )  # fmt: skip
    token = await service.token("district", district="610202")
    assert (await sign_in(service, token, admin=True)).status_code == 303
    shown = await service.client.get("/admin/guidelines")
    assert shown.status_code == 200
    assert "陕西省人社厅" in shown.text
    assert 'action="/admin/guidelines"' not in shown.text  # no form to record one
    csrf = await page_csrf(service, "/admin/guidelines")
    attempt = await service.client.post(
        "/admin/guidelines/2024/610000/delete", data={"_csrf": csrf}
    )
    assert attempt.status_code == 303
    assert attempt.headers["location"].startswith("/admin/signin")
    assert len(await _guidelines(service)) == 1
