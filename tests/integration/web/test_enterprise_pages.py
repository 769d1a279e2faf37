"""The enterprise's pages through HTTP on SQLite and PostgreSQL: signing in with the
invitation code, CSRF, filling and uploading the salary survey, what it sees of its own and
of others' submissions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from survey_service.db.models import Submission
from tests.conftest import Service
from tests.factories import bearer, invite, invited, register_enterprises
from tests.integration.web.helpers import (
    assert_well_formed,
    csrf_of,
    english_words,
    page_csrf,
    sign_in,
)
from tests.samples import enterprise, salary_document, salary_rows, salary_workbook, uscc


def _fields(n: int = 1, **extra: str) -> dict[str, str]:
    """The salary survey as the page posts it: the enterprise and one worker's row."""
    sample = enterprise(n)
    return {
        "enterprise.uscc": sample["uscc"],
        "enterprise.name": sample["name"],
        "enterprise.district": sample["district"],
        "enterprise.industry": sample["industry"],
        "enterprise.staff_count": str(sample["staff_count"]),
        "enterprise.has_union": "true",
        "employees.0.occupation": "6-01-02-03",
        "employees.0.months_worked": "12",
        "employees.0.annual_pay": "68000",
        **extra,
    }


async def _submissions(service: Service) -> list[Submission]:
    async with service.db.read() as session:
        return list(await session.scalars(select(Submission)))


async def _signed_in(service: Service, n: int = 1, **campaign: Any) -> tuple[int, str]:
    campaign_id, token = await invited(service, n, **campaign)
    response = await sign_in(service, token)
    assert response.status_code == 303, response.text
    return campaign_id, token


async def test_sign_in_exchanges_the_code_for_a_session_cookie(service: Service) -> None:
    _, token = await invited(service)
    form = await service.client.get("/e/signin")
    assert form.status_code == 200
    assert_well_formed(form.text)
    assert 'type="password"' in form.text
    response = await sign_in(service, token)
    assert response.status_code == 303
    assert response.headers["location"] == "/e"
    [cookie] = [c for c in response.headers.get_list("set-cookie") if c.startswith("survey_")]
    flags = {part.split("=")[0].lower() for part in cookie.split("; ")[1:]}
    assert {"httponly", "path", "samesite"} <= flags
    assert "samesite=lax" in cookie.lower()
    assert token not in cookie
    assert token not in response.headers["location"]
    home = await service.client.get("/e")
    assert home.status_code == 200
    assert_well_formed(home.text)
    assert "2023年企业薪酬调查" in home.text
    assert "尚未填报" in home.text


async def test_sign_in_with_a_revoked_code_is_refused(service: Service) -> None:
    campaign_id, token = await invited(service)
    await invite(service, campaign_id, 1, reissue=True)  # which revokes the first code
    response = await sign_in(service, token)
    assert response.status_code == 401
    assert "邀请码无效、已过期或已被收回" in response.text
    assert (await service.client.get("/e")).headers["location"] == "/e/signin"


async def test_revoking_the_code_ends_the_session(service: Service) -> None:
    campaign_id, _ = await _signed_in(service)
    assert (await service.client.get("/e")).status_code == 200
    revoked = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/invitations/{uscc(1)}/revoke", headers=service.admin
    )
    assert revoked.status_code == 204
    home = await service.client.get("/e")
    assert (home.status_code, home.headers["location"]) == (303, "/e/signin")


async def test_posts_without_the_session_csrf_token_are_refused(service: Service) -> None:
    _, token = await invited(service)
    unsigned = await service.client.post("/e/signin", data={"token": token})
    assert unsigned.status_code == 403
    assert (await service.client.get("/e")).status_code == 303  # not signed in
    await sign_in(service, token)
    csrf = await page_csrf(service, "/e/form")
    for data in (_fields(), _fields(_csrf="forged")):
        refused = await service.client.post("/e/form", data=data)
        assert refused.status_code == 403
    cross_site = await service.client.post(
        "/e/form", data=_fields(_csrf=csrf), headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert cross_site.status_code == 403
    assert await _submissions(service) == []
    accepted = await service.client.post("/e/form", data=_fields(_csrf=csrf))
    assert accepted.status_code == 303, accepted.text
    assert [s.status for s in await _submissions(service)] == ["submitted"]


async def test_draft_then_errors_then_submission_from_the_form(service: Service) -> None:
    await _signed_in(service)
    form = await service.client.get("/e/form")
    assert form.status_code == 200
    assert_well_formed(form.text)
    csrf = csrf_of(form.text)
    assert f'name="enterprise.uscc" type="text" value="{uscc(1)}"' in form.text  # registry
    assert 'name="employees.0.annual_pay"' in form.text
    assert '<template data-row-template="employees">' in form.text
    draft = {k: v for k, v in _fields(_csrf=csrf).items() if not k.startswith("employees")}
    saved = await service.client.post("/e/form", data=draft | {"_action": "draft"})
    assert (saved.status_code, saved.headers["location"]) == (303, "/e?done=draft")
    [row] = await _submissions(service)
    assert (row.status, "employees" in row.data) == ("draft", False)
    home = await service.client.get("/e?done=draft")
    assert "草稿已保存" in home.text
    bad = _fields(_csrf=csrf) | {"employees.0.months_worked": "13", "employees.1.annual_pay": "5"}
    refused = await service.client.post("/e/form", data=bad)
    assert refused.status_code == 422
    assert_well_formed(refused.text)
    assert 'role="alert"' in refused.text
    assert 'name="employees.0.months_worked" type="number" value="13"' in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert "此题必答" in refused.text  # the second row has no occupation
    [row] = await _submissions(service)
    assert row.status == "draft"
    done = await service.client.post("/e/form", data=_fields(_csrf=csrf))
    assert done.status_code == 303
    [row] = await _submissions(service)
    assert (row.status, row.revision) == ("submitted", 2)
    assert row.data["employees"] == [
        {"occupation": "6-01-02-03", "months_worked": 12, "annual_pay": 68000}
    ]
    seen = await service.client.get("/e/submission")
    assert seen.status_code == 200
    assert_well_formed(seen.text)
    assert "6-01-02-03" in seen.text
    assert "68000" in seen.text


async def test_table_rows_are_added_and_removed_without_javascript(service: Service) -> None:
    await _signed_in(service)
    csrf = await page_csrf(service, "/e/form")
    two_rows = _fields(_csrf=csrf) | {
        "employees.1.occupation": "2-02-01-00",
        "employees.1.months_worked": "6",
        "employees.1.annual_pay": "30000",
    }
    added = await service.client.post("/e/form", data=two_rows | {"_action": "add_row:employees"})
    assert added.status_code == 200
    assert 'name="employees.2.occupation"' in added.text  # a blank third row
    removed = await service.client.post(
        "/e/form", data=two_rows | {"_action": "remove_row:employees.0"}
    )
    assert removed.status_code == 200
    assert 'name="employees.0.occupation" type="text" value="2-02-01-00"' in removed.text
    assert await _submissions(service) == []  # a row action stores nothing


async def test_upload_errors_are_shown_by_row_and_column_then_the_fix_is_stored(
    service: Service,
) -> None:
    await _signed_in(service)
    home = await service.client.get("/e")
    assert "/api/v1/forms/salary-survey/template.xlsx" in home.text
    csrf = csrf_of(home.text)
    rows = salary_rows(4)
    rows[1][1] = 13  # months worked, spreadsheet row 3
    rows[2][0] = "9-99"  # no such occupation, spreadsheet row 4
    refused = await service.client.post(
        "/e/upload", data={"_csrf": csrf}, files={"file": ("工资.xlsx", salary_workbook(rows))}
    )
    assert refused.status_code == 422
    assert_well_formed(refused.text)
    table = refused.text.split('id="upload-errors"', 1)[1].split("</table>", 1)[0]
    assert '<td class="num">3</td><td>工作月数</td>' in table
    assert '<td class="num">4</td><td>职业代码</td>' in table
    assert await _submissions(service) == []
    stored = await service.client.post(
        "/e/upload",
        data={"_csrf": csrf},
        files={"file": ("工资.xlsx", salary_workbook(salary_rows(4)))},
    )
    assert (stored.status_code, stored.headers["location"]) == (303, "/e?done=uploaded&rows=4")
    [row] = await _submissions(service)
    assert (row.status, len(row.data["employees"])) == ("submitted", 4)
    assert "已提交" in (await service.client.get("/e")).text


async def test_an_enterprise_never_sees_another_enterprises_submission(service: Service) -> None:
    campaign_id, first = await invited(service, 1)
    await register_enterprises(service, 2)
    second = (await invite(service, campaign_id, 2))[2]
    created = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/submissions",
        json={"data": _page_document(1), "status": "draft"},
        headers=bearer(first),
    )
    assert created.status_code == 201, created.text
    their_id = created.json()["id"]
    await sign_in(service, second)
    home = await service.client.get("/e")
    assert "尚未填报" in home.text
    assert uscc(1) not in home.text
    assert "铜川示例企业1" not in home.text
    assert (await service.client.get("/e/submission")).headers["location"] == "/e"
    form = await service.client.get("/e/form")
    assert uscc(2) in form.text
    assert uscc(1) not in form.text
    # The session opens the API as the enterprise's token would: another's survey is 404.
    assert (await service.client.get(f"/api/v1/submissions/{their_id}")).status_code == 404
    csrf = csrf_of(form.text)
    # Amending from the page only ever touches the enterprise's own submission.
    await service.client.post("/e/form", data=_fields(2, _csrf=csrf))
    theirs, ours = sorted(await _submissions(service), key=lambda s: s.id != their_id)
    assert (theirs.status, theirs.revision) == ("draft", 1)
    assert ours.data["enterprise"]["uscc"] == uscc(2)


def _page_document(n: int) -> dict[str, Any]:
    sample = enterprise(n)
    return {
        "enterprise": {
            k: sample[k] for k in ("uscc", "name", "district", "industry", "staff_count")
        }
    }


async def test_a_returned_survey_shows_the_reason(service: Service) -> None:
    await _signed_in(service)
    csrf = await page_csrf(service, "/e/form")
    assert (await service.client.post("/e/form", data=_fields(_csrf=csrf))).status_code == 303
    [row] = await _submissions(service)
    returned = await service.client.post(
        f"/api/v1/submissions/{row.id}/review",
        json={"state": "returned", "reason": "<b>第1行</b>工资低于最低工资标准，请核实"},
        headers=service.admin,
    )
    assert returned.status_code == 200, returned.text
    home = await service.client.get("/e")
    assert "退回原因" in home.text
    assert "&lt;b&gt;第1行&lt;/b&gt;工资低于最低工资标准，请核实" in home.text
    seen = await service.client.get("/e/submission")
    assert "工资低于最低工资标准" in seen.text


async def test_campaign_and_form_text_stay_text(service: Service) -> None:
    await _signed_in(
        service,
        title="<script>alert(1)</script>调查",
        campaign_year=None,
        window={"opens_at": "2020-01-01T00:00:00Z", "closes_at": "2099-01-01T00:00:00Z"},
    )
    for path in ("/e", "/e/form"):
        html = (await service.client.get(path)).text
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;调查" in html


async def test_english_on_request_and_remembered(service: Service) -> None:
    await _signed_in(service)
    english = await service.client.get("/e/form?lang=en")
    assert '<html lang="en">' in english.text
    assert "Unified social credit code" in english.text
    assert any(c.startswith("lang=en") for c in english.headers.get_list("set-cookie"))
    again = await service.client.get("/e")
    assert '<html lang="en">' in again.text


async def test_the_chinese_pages_show_no_english_and_no_review_without_one(
    service: Service,
) -> None:
    """Issue 12 (11): "submitted" in a Chinese page, and 审核：待审核 where the campaign
    needs no review."""
    campaign_id, token = await _signed_in(service)
    created = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/submissions",
        json={"data": salary_document(uscc(1))},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 201
    for path in ("/e", "/e/submission", "/e/form"):
        page = await service.client.get(path)
        assert page.status_code == 200, path
        assert english_words(page.text) == [], path
    home = (await service.client.get("/e")).text
    assert "已提交" in home
    assert "审核" not in home  # the campaign needs no review
