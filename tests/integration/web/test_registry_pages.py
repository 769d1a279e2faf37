"""The bureau's enterprise registry pages through HTTP on SQLite and PostgreSQL: search by
name, code, district and industry; add and edit; import a workbook (a bad cell named by row
and column, nothing stored); export what a search found, read back, a formula-looking name
as a string, and the export importing back as it is."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from python_calamine import CalamineWorkbook

from tests.conftest import Service
from tests.factories import register_enterprises
from tests.integration.web.helpers import assert_well_formed, csrf_of, page_csrf, sign_in
from tests.samples import enterprise, sheet, uscc

FORMULA_NAME = '=HYPERLINK("http://x.test","点我")'


async def _admin_session(service: Service) -> None:
    response = await sign_in(service, service.admin_token, admin=True)
    assert response.status_code == 303, response.text


async def _register(service: Service, *items: dict[str, Any]) -> None:
    response = await service.client.post(
        "/api/v1/enterprises", json=list(items), headers=service.admin
    )
    assert response.status_code == 201, response.text


async def _registry(service: Service) -> dict[str, dict[str, Any]]:
    listed = await service.client.get("/api/v1/enterprises", headers=service.admin)
    return {e["uscc"]: e for e in listed.json()["items"]}


def _shown(html: str) -> set[str]:
    """The credit codes listed in the registry table."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return set(re.findall(r"<small>([0-9A-Z]{18})</small>", body))


def _workbook(rows: list[list[Any]]) -> bytes:
    return sheet(rows, "企业名录")


async def test_the_registry_is_searched_by_name_code_district_and_industry(
    service: Service,
) -> None:
    await _register(
        service,
        enterprise(1, name="铜川水泥有限公司", industry="C30"),
        enterprise(2, district="610204", name="耀州陶瓷厂", industry="C3071"),
        enterprise(3, district="610204", name="耀州物流公司", industry="G54"),
    )
    await _admin_session(service)
    everything = await service.client.get("/admin/enterprises")
    assert everything.status_code == 200
    assert_well_formed(everything.text)
    assert _shown(everything.text) == {uscc(1), uscc(2), uscc(3)}
    assert "共 3 家企业" in everything.text
    for params, expected in (
        ({"q": "耀州"}, {uscc(2), uscc(3)}),
        ({"q": "水泥"}, {uscc(1)}),
        ({"q": uscc(3)[:14]}, {uscc(1), uscc(2), uscc(3)}),  # the start of a code
        ({"q": uscc(3).lower()}, {uscc(3)}),
        ({"district": "610204"}, {uscc(2), uscc(3)}),
        ({"industry": "c30"}, {uscc(1), uscc(2)}),  # a division takes its classes
        ({"district": "610204", "industry": "C"}, {uscc(2)}),
        ({"q": "100%_"}, set()),  # LIKE's wildcards are text here
    ):
        found = await service.client.get("/admin/enterprises", params=params)
        assert found.status_code == 200
        assert _shown(found.text) == expected, params
    english = await service.client.get("/admin/enterprises", params={"lang": "en"})
    assert "3 enterprises" in english.text


async def test_an_enterprise_is_added_and_edited_from_the_page(service: Service) -> None:
    await _admin_session(service)
    form = await service.client.get("/admin/enterprises/new")
    assert form.status_code == 200
    assert_well_formed(form.text)
    fields = {
        "_csrf": csrf_of(form.text),
        "uscc": uscc(7).lower(),
        "name": "新登记的企业",
        "district": "610203",
        "industry": "c30",
        "size_class": "small",
        "staff_count": "42",
        "has_union": "true",
        "contact_name": "王会计",
        "contact_phone": "0919-3185123",
        "contact_email": "hr@example.cn",
    }
    added = await service.client.post("/admin/enterprises/new", data=fields)
    assert added.status_code == 303, added.text
    stored = (await _registry(service))[uscc(7)]
    assert stored | {"updated_at": None} == {
        "uscc": uscc(7), "name": "新登记的企业", "district": "610203", "industry": "C30",
        "size_class": "small", "ownership": None, "staff_count": 42, "has_union": True,
        "above_designated_size": False, "has_collective_contract": False, "group_key": None,
        "contact_name": "王会计", "contact_phone": "0919-3185123",
        "contact_email": "hr@example.cn", "updated_at": None,
    }  # fmt: skip
    listed = await service.client.get(added.headers["location"])
    assert "已保存企业" in listed.text
    assert "王会计" in listed.text

    # The same code again is not a silent update.
    again = await service.client.post("/admin/enterprises/new", data=fields | {"name": "别的"})
    assert again.status_code == 409
    assert "该统一社会信用代码已登记" in again.text
    assert (await _registry(service))[uscc(7)]["name"] == "新登记的企业"

    edit = await service.client.get(f"/admin/enterprises/{uscc(7)}")
    assert edit.status_code == 200
    assert_well_formed(edit.text)
    assert 'value="王会计"' in edit.text
    changed = {k: v for k, v in fields.items() if k not in ("uscc", "has_union", "contact_email")}
    saved = await service.client.post(
        f"/admin/enterprises/{uscc(7)}", data=changed | {"name": "改名后的企业"}
    )
    assert saved.status_code == 303, saved.text
    stored = (await _registry(service))[uscc(7)]
    assert stored["name"] == "改名后的企业"
    assert stored["has_union"] is False  # the box left unticked
    assert stored["contact_email"] is None  # the field left empty

    # A bad code and a bad telephone are named on the form; nothing changes.
    bad = await service.client.post(
        f"/admin/enterprises/{uscc(7)}", data=changed | {"industry": "Z99", "name": "不该保存"}
    )
    assert bad.status_code == 422
    assert_well_formed(bad.text)
    assert "行业代码不正确" in bad.text
    phone = await service.client.post(
        "/admin/enterprises/new", data=fields | {"uscc": uscc(8), "contact_phone": "call me"}
    )
    assert phone.status_code == 422
    assert "联系电话" in phone.text
    registry = await _registry(service)
    assert registry[uscc(7)]["name"] == "改名后的企业"
    assert uscc(8) not in registry

    # The registry kept what it said before: two periods, the second from the edit on;
    # a change of contact details alone is not a period of its own.
    history = await service.client.get(
        f"/api/v1/enterprises/{uscc(7)}/history", headers=service.admin
    )
    assert history.status_code == 200, history.text
    periods = history.json()
    assert [(p["name"], p["has_union"]) for p in periods] == [
        ("改名后的企业", False),
        ("新登记的企业", True),
    ]
    assert periods[1]["valid_to"] == periods[0]["valid_from"]
    assert periods[0]["valid_to"] is None
    await register_enterprises(service, enterprise(7, "610203", contact_name="李四"))
    after = (
        await service.client.get(f"/api/v1/enterprises/{uscc(7)}/history", headers=service.admin)
    ).json()
    assert len(after) == 3  # enterprise() also sets size, staff and union: facts that count
    await register_enterprises(service, enterprise(7, "610203", contact_name="王五"))
    assert (
        len(
            (
                await service.client.get(
                    f"/api/v1/enterprises/{uscc(7)}/history", headers=service.admin
                )
            ).json()
        )
        == 3
    )  # only the contact changed
    page = await service.client.get(f"/admin/enterprises/{uscc(7)}")
    assert_well_formed(page.text)
    assert "登记变更记录" in page.text
    assert page.text.count("新登记的企业") == 1  # the first period's name, in the table
    missing = await service.client.get(
        f"/api/v1/enterprises/{uscc(9)}/history", headers=service.admin
    )
    assert missing.status_code == 404


async def test_the_pages_refuse_a_post_without_the_session_token(service: Service) -> None:
    await _admin_session(service)
    forged = await service.client.post(
        "/admin/enterprises/new",
        data={"_csrf": "forged", **{k: str(v) for k, v in enterprise(5).items()}},
    )
    assert forged.status_code == 403
    assert uscc(5) not in await _registry(service)
    unknown = await service.client.get(f"/admin/enterprises/{uscc(99)}")
    assert unknown.status_code == 404


async def test_a_workbook_is_imported_and_a_bad_cell_is_named_by_row_and_column(
    service: Service,
) -> None:
    await _admin_session(service)
    header = ["统一社会信用代码", "企业名称", "所在区县代码", "行业代码", "职工人数", "联系人"]
    bad = _workbook(
        [
            header,
            [uscc(1), "甲公司", "耀州区", "C30", 120, "张三"],
            [uscc(2), "乙公司", "610202", "Z99", 80, "李四"],
        ]
    )
    csrf = await page_csrf(service, "/admin/enterprises/import")
    refused = await service.client.post(
        "/admin/enterprises/import",
        data={"_csrf": csrf},
        files={"file": ("企业名录.xlsx", bad)},
    )
    assert refused.status_code == 422
    assert_well_formed(refused.text)
    table = refused.text.split('id="import-errors"', 1)[1]
    row = table.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    assert '<td class="num">3</td>' in row
    assert "<td>行业代码</td>" in row
    assert "未保存任何数据" in refused.text
    assert await _registry(service) == {}

    good = _workbook([header, [uscc(1), "甲公司", "耀州区", "C30", 120, "张三"]])
    imported = await service.client.post(
        "/admin/enterprises/import", data={"_csrf": csrf}, files={"file": ("名录.xlsx", good)}
    )
    assert imported.status_code == 200, imported.text
    assert "新登记 1 家，更新 0 家" in imported.text
    stored = (await _registry(service))[uscc(1)]
    assert (stored["district"], stored["contact_name"]) == ("610204", "张三")

    nothing = await service.client.post("/admin/enterprises/import", data={"_csrf": csrf})
    assert nothing.status_code == 422
    assert "请选择要导入的文件" in nothing.text


async def test_the_export_reads_back_and_holds_no_formula(service: Service) -> None:
    await _register(
        service,
        enterprise(1, name=FORMULA_NAME, contact_name="@SUM(1+1)"),
        enterprise(2, district="610204", size_class="small", has_union=False),
        enterprise(3, district="610204", name="另一家", contact_phone="13800000000"),
    )
    await _admin_session(service)
    response = await service.client.get(
        "/admin/enterprises/export.xlsx", params={"district": "610202"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert re.search(rb"<f[ >/]", archive.read(name)) is None
    rows = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0)
    header, *data = rows.to_python()
    assert header[:4] == ["统一社会信用代码", "企业名称", "所在区县代码", "行业代码"]
    assert len(data) == 1  # the search's district only
    record = dict(zip(header, data[0], strict=True))
    assert record["企业名称"] == FORMULA_NAME  # a string, as typed
    assert record["联系人"] == "@SUM(1+1)"
    assert record["所在区县代码"] == "王益区"
    assert record["是否建立工会"] == "是"

    # The whole registry, exported, imports back as it is.
    everything = await service.client.get("/admin/enterprises/export.xlsx")
    before = await _registry(service)
    csrf = await page_csrf(service, "/admin/enterprises/import")
    again = await service.client.post(
        "/admin/enterprises/import",
        data={"_csrf": csrf},
        files={"file": ("企业名录.xlsx", everything.content)},
    )
    assert again.status_code == 200, again.text
    assert "新登记 0 家，更新 3 家" in again.text
    after = await _registry(service)
    strip = {"updated_at": None}
    assert {k: v | strip for k, v in after.items()} == {k: v | strip for k, v in before.items()}
