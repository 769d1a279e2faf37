"""Salary spreadsheets through HTTP: errors by row and column, all or nothing unless
partial, the template workbook, and hostile files, on SQLite and PostgreSQL."""

from __future__ import annotations

import io

import xlsxwriter
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select

from survey_service.db.models import Submission, WageRow
from tests.conftest import Service
from tests.factories import bearer, invited, upload_salaries
from tests.samples import SALARY_HEADER, salary_rows, salary_workbook


async def _wage_count(service: Service) -> int:
    async with service.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(WageRow)) or 0)


async def test_workbook_with_chinese_headers_becomes_the_salary_survey(service: Service) -> None:
    campaign_id, token = await invited(service)
    response = await upload_salaries(
        service, campaign_id, token, salary_workbook(salary_rows(50)), "工资表.xlsx"
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["rows_accepted"], body["rows_rejected"], body["errors"]) == (50, 0, [])
    assert await _wage_count(service) == 50
    stored = await service.client.get(
        f"/api/v1/submissions/{body['submission_id']}", headers=bearer(token)
    )
    employees = stored.json()["data"]["employees"]
    assert employees[0] == {
        "occupation": "6-01-02-03",
        "months_worked": 12,
        "annual_pay": 60000,
        "education": "bachelor",
    }


async def test_rejected_rows_are_named_by_row_and_column_and_nothing_is_stored(
    service: Service,
) -> None:
    campaign_id, token = await invited(service)
    rows = salary_rows(5)
    rows[1][1] = 13  # months worked, spreadsheet row 3
    rows[3][0] = "9-99"  # no such occupation, spreadsheet row 5
    response = await upload_salaries(service, campaign_id, token, salary_workbook(rows), "pay.xlsx")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert (body["status"], body["title"]) == (422, "Rows refused")
    assert {(e["row"], e["column"]) for e in body["errors"]} == {(3, "工作月数"), (5, "职业代码")}
    # The value as written, what it should be and an example (issue 12, item 7).
    [code] = [e for e in body["errors"] if e["column"] == "职业代码"]
    assert code["message_zh"] == "“9-99”不是有效的职业代码（《职业分类大典》2022），应如 6-01-02-03"
    assert (body["rows_accepted"], body["rows_rejected"]) == (0, 2)
    assert await _wage_count(service) == 0


async def test_partial_upload_stores_the_good_rows(service: Service) -> None:
    campaign_id, token = await invited(service)
    rows = salary_rows(5)
    rows[1][1] = 13
    response = await upload_salaries(
        service, campaign_id, token, salary_workbook(rows), "pay.xlsx", partial="true"
    )
    assert response.status_code == 201, response.text
    assert (response.json()["rows_accepted"], response.json()["rows_rejected"]) == (4, 1)
    assert await _wage_count(service) == 4


async def test_second_upload_amends_and_keeps_the_first_as_a_revision(service: Service) -> None:
    campaign_id, token = await invited(service)
    first = await upload_salaries(
        service, campaign_id, token, salary_workbook(salary_rows(3)), "a.xlsx"
    )
    second = await upload_salaries(
        service, campaign_id, token, salary_workbook(salary_rows(7)), "b.xlsx"
    )
    assert first.json()["submission_id"] == second.json()["submission_id"]
    async with service.db.read() as session:
        revision = await session.scalar(select(Submission.revision))
    assert revision == 2
    assert await _wage_count(service) == 7


async def test_csv_in_gbk_is_read(service: Service) -> None:
    campaign_id, token = await invited(service)
    text = '职业代码,工作月数,年度应发工资\n6-01-02-03,12,58000\n2-02,12,"96,000"\n'
    response = await upload_salaries(service, campaign_id, token, text.encode("gbk"), "pay.csv")
    assert response.status_code == 201, response.text
    assert response.json()["rows_accepted"] == 2


async def test_a_file_that_is_not_a_spreadsheet_is_refused(service: Service) -> None:
    campaign_id, token = await invited(service)
    response = await upload_salaries(
        service, campaign_id, token, b"%PDF-1.7 not a workbook", "pay.xlsx"
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await _wage_count(service) == 0


async def test_a_formula_is_refused_with_its_cell(service: Service) -> None:
    campaign_id, token = await invited(service)
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet()
    for c, value in enumerate(SALARY_HEADER[:3]):
        sheet.write(0, c, value)
    sheet.write_row(1, 0, ["6-01-02-03", 12])
    sheet.write_formula(1, 2, "=1+1")
    book.close()
    response = await upload_salaries(service, campaign_id, token, out.getvalue(), "pay.xlsx")
    assert response.status_code == 422
    assert response.json()["errors"][0]["row"] == 2


async def test_another_campaigns_upload_is_not_found(service: Service) -> None:
    campaign_id, token = await invited(service)
    response = await upload_salaries(
        service, campaign_id + 1, token, salary_workbook(salary_rows(1)), "a.xlsx"
    )
    assert response.status_code == 404


async def test_template_lists_the_columns_with_chinese_labels(service: Service) -> None:
    response = await service.client.get("/api/v1/forms/salary-survey/template.xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    header = book.get_sheet_by_index(0).to_python()[0]
    assert {"职业代码", "工作月数", "年度应发工资"} <= set(header)
    # A list of the occupation codes to look a code up in (issue 12, item 8).
    codes = book.get_sheet_by_name("职业代码").to_python()
    assert ["6-01", "农副产品加工人员", "中类"] in [row[:3] for row in codes]
    # The filled-in template still uploads: the reader takes the data sheet.
    campaign_id, token = await invited(service)
    out = io.BytesIO()
    filled = xlsxwriter.Workbook(out, {"in_memory": True})
    data = filled.add_worksheet(book.sheet_names[0])
    for c, label in enumerate(header):
        data.write(0, c, label)
    for c, value in enumerate(["6-01-02-03", 12, 60000]):
        data.write(1, header.index(["职业代码", "工作月数", "年度应发工资"][c]), value)
    filled.add_worksheet("职业代码").write(0, 0, "代码")
    filled.close()
    response = await upload_salaries(service, campaign_id, token, out.getvalue(), "filled.xlsx")
    assert response.status_code == 201, response.text


async def test_a_poll_has_no_template(service: Service) -> None:
    response = await service.client.get("/api/v1/forms/worker-satisfaction/template.xlsx")
    assert response.status_code == 404
