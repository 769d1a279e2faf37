"""The national salary-survey layout export: the records in the official field order, codes
and units, read back and compared with the submissions the API gives; the official edit
checks refusing a hand-made bad record; a district's staff seeing their district only."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

from python_calamine import CalamineWorkbook
from sqlalchemy import update

from survey_service.db.models import Campaign, Submission
from survey_service.reference.salary_layout import salary_layout
from tests.conftest import Service
from tests.factories import bearer, create_campaign, invite, register_enterprises, submit
from tests.integration.analytics.release_helpers import release
from tests.samples import salary_document, uscc

ENTERPRISE_HEADER = [
    "统一社会信用代码", "单位详细名称", "法定代表人", "填报联系人", "联系电话",
    "企业所在地行政区划代码", "行业代码", "企业规模", "登记注册类型", "从业人员平均人数（人）",
    "劳务派遣人员数（人）", "全年实际生产经营月数（月）", "从业人员工资总额（元）",
]  # fmt: skip
EMPLOYEE_HEADER = [
    "统一社会信用代码", "性别", "出生年份（年）", "学历", "参加工作年份（年）", "职业代码",
    "技能等级或职称", "用工形式", "劳动合同类型", "周平均工作小时（小时）", "是否工会会员",
    "工作月数（月）", "年度应发工资（元）", "基本工资（元）", "奖金和绩效工资（元）",
    "津贴和补贴（元）", "加班加点工资（元）",
]  # fmt: skip
URL = "/api/v1/campaigns/{}/national-layout"


def expected_rows(documents: list[dict[str, Any]]) -> tuple[list[list[Any]], list[list[Any]]]:
    """The enterprise and employee records the layout makes of ``documents``: each field's
    source value, a code translated by its code list."""
    layout = salary_layout()

    def value(spec: Any, holder: dict[str, Any]) -> Any:
        raw = holder.get(spec.key)
        if raw is None or spec.codes is None:
            return raw
        return layout.codes[spec.codes][str(raw).lower() if isinstance(raw, bool) else raw]

    enterprises, employees = [], []
    for doc in documents:
        firm = doc["enterprise"]
        enterprises.append([value(spec, firm) for spec in layout.enterprise])
        for worker in doc["employees"]:
            employees.append(
                [value(spec, firm if spec.of_enterprise else worker) for spec in layout.employee]
            )
    return enterprises, employees


def same(found: Any, expected: Any) -> bool:
    """A cell read back (CSV text, or calamine's value) is the expected value."""
    if expected is None:
        return found == ""
    if isinstance(expected, int | float):
        return float(found) == float(expected)
    return bool(found == expected)


def assert_rows(found: list[list[Any]], expected: list[list[Any]]) -> None:
    assert len(found) == len(expected)
    for got, want in zip(found, expected, strict=True):
        assert len(got) == len(want)
        assert all(same(g, w) for g, w in zip(got, want, strict=True)), (got, want)


def csv_tables(content: bytes) -> dict[str, list[list[str]]]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert sorted(archive.namelist()) == ["employee.csv", "enterprise.csv"]
        raw = {name: archive.read(name) for name in archive.namelist()}
    assert all(text.startswith("\ufeff".encode()) for text in raw.values())
    return {n: list(csv.reader(io.StringIO(t.decode("utf-8-sig")))) for n, t in raw.items()}


async def test_a_checked_campaign_exports_the_official_layout_field_by_field(
    service: Service,
) -> None:
    await register_enterprises(service, 1)
    await register_enterprises(service, 2, district="610203")
    campaign = await create_campaign(service)
    tokens = await invite(service, campaign, 1, 2)
    second = salary_document(uscc(2))
    second["enterprise"]["name"] = "=HYPERLINK(1)"  # a name a spreadsheet would run
    ids = [
        await submit(service, campaign, tokens[1], salary_document(uscc(1))),
        await submit(service, campaign, tokens[2], second),
    ]
    documents = []
    for submission_id in ids:  # as the API gives them back
        got = await service.client.get(
            f"/api/v1/submissions/{submission_id}", headers=service.admin
        )
        documents.append(got.json()["data"])
    enterprises, employees = expected_rows(documents)

    checked = await service.client.get(
        URL.format(campaign), params={"check_only": "true"}, headers=service.admin
    )
    assert checked.status_code == 200, checked.text
    assert checked.json() | {"failures": None} == {
        "campaign_id": campaign, "year": 2023, "enterprises": 2, "employees": 8,
        "passed": True, "failure_count": 0, "failures": None,
    }  # fmt: skip

    response = await service.client.get(URL.format(campaign), headers=service.admin)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    tables = csv_tables(response.content)
    assert tables["enterprise.csv"][0] == ENTERPRISE_HEADER
    assert tables["employee.csv"][0] == EMPLOYEE_HEADER
    assert tables["enterprise.csv"][2][1] == "'=HYPERLINK(1)"  # formula-safe
    assert tables["employee.csv"][1] == [
        uscc(1), "1", "1985", "5", "2004", "6-15-01-01", "13", "1", "2", "44", "1", "12",
        "68000.00", "48000.00", "12000.00", "6000.00", "2000.00",
    ]  # fmt: skip
    tables["enterprise.csv"][2][1] = tables["enterprise.csv"][2][1].removeprefix("'")
    assert_rows(tables["enterprise.csv"][1:], enterprises)
    assert_rows(tables["employee.csv"][1:], employees)

    response = await service.client.get(
        URL.format(campaign), params={"format": "xlsx"}, headers=service.admin
    )
    assert response.status_code == 200, response.text
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    assert book.sheet_names == ["企业基本情况", "职工工资情况"]
    firms, workers = (book.get_sheet_by_index(i).to_python() for i in (0, 1))
    assert (firms[0], workers[0]) == (ENTERPRISE_HEADER, EMPLOYEE_HEADER)
    assert_rows(firms[1:], enterprises)
    assert_rows(workers[1:], employees)

    # A district's staff (Yintai, 610203, where enterprise 2 is registered): theirs only.
    staff = bearer(await service.token("district", district="610203"))
    response = await service.client.get(URL.format(campaign), headers=staff)
    assert response.status_code == 200, response.text
    tables = csv_tables(response.content)
    assert [row[0] for row in tables["enterprise.csv"][1:]] == [uscc(2)]
    assert {row[0] for row in tables["employee.csv"][1:]} == {uscc(2)}
    analyst = bearer(await service.token("analyst", label="a"))
    assert (await service.client.get(URL.format(campaign), headers=analyst)).status_code == 403


async def test_a_record_failing_the_edit_checks_refuses_the_export(service: Service) -> None:
    await register_enterprises(service, 1, 2)
    campaign = await create_campaign(service)
    tokens = await invite(service, campaign, 1, 2)
    await submit(service, campaign, tokens[1], salary_document(uscc(1)))
    bad = salary_document(uscc(2))
    # The form takes a low pay (a warning); the layout's edit checks do not.
    bad["employees"][1] |= {"annual_pay": 3000, "base_pay": 2000, "bonus": 500,
                            "allowances": 500, "overtime_pay": 0}  # fmt: skip
    bad_id = await submit(service, campaign, tokens[2], bad)
    # 13 months the form refuses: stored by hand, as a looser or older form might have.
    bad["employees"][2]["months_worked"] = 13
    async with service.db.transaction() as session:
        await session.execute(update(Submission).where(Submission.id == bad_id).values(data=bad))
    expected = [
        (uscc(2), 2, "/employees/1/annual_pay", "annual_pay", "min_core_pay", 3000),
        (uscc(2), 3, "/employees/2/months_worked", "months_worked", "range", 13),
    ]

    def listed(failures: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        keys = ("uscc", "row", "path", "field", "rule", "value")
        return [tuple(f[k] for k in keys) for f in failures]

    for fmt in ("csv", "xlsx"):
        response = await service.client.get(
            URL.format(campaign), params={"format": fmt}, headers=service.admin
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["type"] == "/problems/edit-checks-failed"
        assert problem["failure_count"] == 2
        assert listed(problem["errors"]) == expected
    checked = await service.client.get(
        URL.format(campaign), params={"check_only": "true"}, headers=service.admin
    )
    assert checked.status_code == 200
    assert (checked.json()["passed"], checked.json()["enterprises"]) == (False, 2)
    assert listed(checked.json()["failures"]) == expected
    assert "4560" in checked.json()["failures"][0]["message"]


async def test_a_release_exports_the_records_its_snapshot_held(service: Service) -> None:
    await register_enterprises(service, 1, 2)
    campaign = await create_campaign(service)
    tokens = await invite(service, campaign, 1, 2)
    ids = [await submit(service, campaign, tokens[n], salary_document(uscc(n))) for n in (1, 2)]
    documents = [
        (await service.client.get(f"/api/v1/submissions/{sid}", headers=service.admin)).json()[
            "data"
        ]
        for sid in ids
    ]
    made = await release(service, campaign)
    # After the release enterprise 2 amends with a pay the edit checks refuse.
    bad = salary_document(uscc(2))
    bad["employees"][1] |= {"annual_pay": 3000, "base_pay": 2000, "bonus": 500,
                            "allowances": 500, "overtime_pay": 0}  # fmt: skip
    amended = await service.client.put(
        f"/api/v1/submissions/{ids[1]}", json={"data": bad}, headers=bearer(tokens[2])
    )
    assert amended.status_code == 200, amended.text

    live = await service.client.get(URL.format(campaign), headers=service.admin)
    assert live.status_code == 422, live.text
    # The campaign requires review from now on: what counted in the release still does.
    async with service.db.transaction() as session:
        await session.execute(
            update(Campaign).where(Campaign.id == campaign).values(requires_review=True)
        )
    params = {"release": str(made["number"])}
    checked = await service.client.get(
        URL.format(campaign), params=params | {"check_only": "true"}, headers=service.admin
    )
    assert (checked.json()["passed"], checked.json()["enterprises"]) == (True, 2)
    response = await service.client.get(URL.format(campaign), params=params, headers=service.admin)
    assert response.status_code == 200, response.text
    assert f"release-{made['number']}" in response.headers["content-disposition"]
    enterprises, employees = expected_rows(documents)
    tables = csv_tables(response.content)
    assert_rows(tables["enterprise.csv"][1:], enterprises)
    assert_rows(tables["employee.csv"][1:], employees)
    missing = await service.client.get(
        URL.format(campaign), params={"release": "9"}, headers=service.admin
    )
    assert missing.status_code == 404, missing.text
