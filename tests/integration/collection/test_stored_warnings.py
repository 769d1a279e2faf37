"""Warnings are kept with the revision that raised them: the enterprise reads them back
with its submission, the bureau in its list, and an upload's name the sheet row and
column; a partial upload says which rows it left out and why. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from survey_service.db.models import SubmissionRevision
from tests.conftest import Service
from tests.factories import bearer, invited, upload_salaries
from tests.samples import salary_document, salary_rows, salary_workbook, uscc


async def _read(service: Service, sid: str, token: str) -> dict[str, Any]:
    response = await service.client.get(f"/api/v1/submissions/{sid}", headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _listed(service: Service, campaign_id: int, sid: str) -> dict[str, Any]:
    response = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/submissions", headers=service.admin
    )
    assert response.status_code == 200, response.text
    [found] = [s for s in response.json()["items"] if s["id"] == sid]
    return dict(found)


async def _revision_warnings(service: Service, sid: str) -> dict[int, list[dict[str, Any]]]:
    async with service.db.read() as session:
        rows = await session.scalars(
            select(SubmissionRevision).where(SubmissionRevision.submission_id == sid)
        )
        return {r.revision: list(r.warnings) for r in rows}


async def test_a_warning_is_stored_and_read_back_by_the_enterprise_and_the_bureau(
    service: Service,
) -> None:
    campaign_id, token = await invited(service)
    document = salary_document(uscc(1))
    document["employees"][3] |= {"annual_pay": 20000, "base_pay": 20000}
    document["employees"][3] |= {"bonus": 0, "allowances": 0, "overtime_pay": 0}
    created = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/submissions",
        json={"data": document},
        headers=bearer(token),
    )
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    [warning] = created.json()["warnings"]
    assert (warning["path"], warning["code"]) == ("/employees/3/annual_pay", "minimum_wage")
    assert (await _read(service, sid, token))["warnings"] == [warning]
    assert (await _listed(service, campaign_id, sid))["warnings"] == [warning]

    # The amendment corrects the pay but its parts no longer add up: the new revision has
    # its own warning, the first keeps the old one.
    document["employees"][3] |= {"annual_pay": 60000, "base_pay": 50000}
    amended = await service.client.put(
        f"/api/v1/submissions/{sid}", json={"data": document}, headers=bearer(token)
    )
    assert amended.status_code == 200, amended.text
    [parts] = (await _read(service, sid, token))["warnings"]
    assert (parts["path"], parts["code"]) == ("/employees/3/annual_pay", "parts_sum")
    assert (await _listed(service, campaign_id, sid))["warnings"] == [parts]
    kept = await _revision_warnings(service, sid)
    assert [w["code"] for w in kept[1]] == ["minimum_wage"]
    assert [w["code"] for w in kept[2]] == ["parts_sum"]


async def test_an_uploads_warning_names_the_sheet_row_and_column(service: Service) -> None:
    campaign_id, token = await invited(service)
    rows = salary_rows(30)
    rows[6][2] = 19200  # spreadsheet row 8: 12 months at 1,600 a month
    response = await upload_salaries(service, campaign_id, token, salary_workbook(rows), "pay.xlsx")
    assert response.status_code == 201, response.text
    body = response.json()
    [warning] = body["warnings"]
    assert (warning["row"], warning["column"], warning["code"]) == (
        8,
        "年度应发工资",
        "minimum_wage",
    )
    assert "最低工资" in warning["message_zh"]
    assert (await _read(service, body["submission_id"], token))["warnings"] == [warning]
    assert (await _listed(service, campaign_id, body["submission_id"]))["warnings"] == [warning]


async def test_a_partial_upload_keeps_which_rows_it_left_out_and_why(service: Service) -> None:
    campaign_id, token = await invited(service)
    rows = salary_rows(6)
    rows[1][1] = 13  # spreadsheet row 3: months worked
    rows[4][0] = "9-99"  # spreadsheet row 6: no such occupation
    rows[5][2] = 19200  # spreadsheet row 7: under the minimum wage, stored with a warning
    response = await upload_salaries(
        service, campaign_id, token, salary_workbook(rows), "pay.xlsx", partial="true"
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["rows_accepted"], body["rows_rejected"]) == (4, 2)
    stored = (await _read(service, body["submission_id"], token))["warnings"]
    assert stored == body["warnings"]
    left_out = [w for w in stored if w.get("code") == "row_left_out"]
    assert [w["row"] for w in left_out] == [3, 6]
    assert "工作月数" in left_out[0]["message_zh"]
    assert "职业代码" in left_out[1]["message_zh"]
    # The warning of a stored row still names its own sheet row, not its place among
    # the rows that were kept.
    [low] = [w for w in stored if w.get("code") == "minimum_wage"]
    assert (low["row"], low["column"]) == (7, "年度应发工资")
