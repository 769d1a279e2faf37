"""Enterprises, campaigns, invitations, idempotent submissions, amendments and progress,
through HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import xlsxwriter
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select

from survey_service.db.models import AuditEntry, SubmissionRevision, WageRow
from tests.conftest import Service
from tests.factories import bearer, create_campaign, invite, invited, register_enterprises
from tests.samples import enterprise, salary_document, uscc


async def test_enterprises_are_upserted_by_uscc(service: Service) -> None:
    first = await service.client.post(
        "/api/v1/enterprises", json=[enterprise(1), enterprise(2)], headers=service.admin
    )
    assert first.status_code == 201
    assert (first.json()["created"], first.json()["updated"]) == (2, 0)
    again = await service.client.post(
        "/api/v1/enterprises", json=enterprise(1, name="改名后的公司"), headers=service.admin
    )
    assert (again.json()["created"], again.json()["updated"]) == (0, 1)
    assert again.status_code == 200  # all updates; 201 when one at least is new
    document = (await service.client.get("/schema/openapi.json")).json()
    answers = document["paths"]["/api/v1/enterprises"]["post"]["responses"]
    assert {"200", "201"} <= set(answers)
    listed = await service.client.get("/api/v1/enterprises", headers=service.admin)
    names = {e["uscc"]: e["name"] for e in listed.json()["items"]}
    assert names[uscc(1)] == "改名后的公司"
    assert len(names) == 2


async def test_enterprise_list_is_paginated_with_a_cursor(service: Service) -> None:
    await service.client.post(
        "/api/v1/enterprises", json=[enterprise(i) for i in range(5)], headers=service.admin
    )
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = (
            await service.client.get("/api/v1/enterprises", params=params, headers=service.admin)
        ).json()
        seen += [e["uscc"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(uscc(i) for i in range(5))


async def test_enterprise_with_bad_codes_is_refused_and_nothing_is_stored(service: Service) -> None:
    bad = enterprise(2, uscc="91610200MA000002XA", district="999999")
    response = await service.client.post(
        "/api/v1/enterprises", json=[enterprise(1), bad], headers=service.admin
    )
    assert response.status_code == 422
    paths = {e["path"] for e in response.json()["errors"]}
    assert {"/1/uscc", "/1/district"} <= paths
    listed = await service.client.get("/api/v1/enterprises", headers=service.admin)
    assert listed.json()["items"] == []


async def test_only_admins_manage_enterprises(service: Service) -> None:
    analyst = await service.token("analyst", label="a")
    assert (await service.client.get("/api/v1/enterprises")).status_code == 401
    response = await service.client.get("/api/v1/enterprises", headers=bearer(analyst))
    assert response.status_code == 403


async def test_campaign_is_created_on_the_current_published_version(service: Service) -> None:
    campaign_id = await create_campaign(service)
    response = await service.client.get(f"/api/v1/campaigns/{campaign_id}", headers=service.admin)
    body = response.json()
    assert (body["form_key"], body["form_version"], body["is_open"]) == ("salary-survey", 1, True)
    listed = await service.client.get("/api/v1/campaigns", headers=service.admin)
    assert [c["id"] for c in listed.json()] == [campaign_id]


async def test_campaign_closing_before_it_opens_is_refused(service: Service) -> None:
    now = datetime.now(UTC)
    response = await service.client.post(
        "/api/v1/campaigns",
        json={
            "form_key": "salary-survey",
            "title": "x",
            "year": 2023,
            "opens_at": now.isoformat(),
            "closes_at": (now - timedelta(days=1)).isoformat(),
        },
        headers=service.admin,
    )
    assert response.status_code == 422


async def test_inviting_an_unknown_enterprise_is_refused(service: Service) -> None:
    campaign_id = await create_campaign(service)
    response = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/invitations",
        json={"enterprises": [uscc(99)]},
        headers=service.admin,
    )
    assert response.status_code == 422


async def test_submission_is_stored_and_a_retry_is_idempotent(service: Service) -> None:
    campaign_id, token = await invited(service)
    body = {"id": str(uuid.uuid4()), "data": salary_document(uscc(1)), "status": "submitted"}
    url = f"/api/v1/campaigns/{campaign_id}/submissions"
    first = await service.client.post(url, json=body, headers=bearer(token))
    assert first.status_code == 201, first.text
    retry = await service.client.post(url, json=body, headers=bearer(token))
    assert retry.status_code == 200
    assert retry.json()["id"] == first.json()["id"] == body["id"]
    assert retry.json()["received_at"] == first.json()["received_at"]


async def test_retry_with_other_data_is_a_conflict(service: Service) -> None:
    campaign_id, token = await invited(service)
    document = salary_document(uscc(1))
    body = {"id": str(uuid.uuid4()), "data": document}
    url = f"/api/v1/campaigns/{campaign_id}/submissions"
    assert (await service.client.post(url, json=body, headers=bearer(token))).status_code == 201
    document["employees"][0]["annual_pay"] = 70000
    document["employees"][0]["base_pay"] = 50000
    response = await service.client.post(url, json=body, headers=bearer(token))
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_invalid_submission_is_422_with_pointers_and_not_stored(service: Service) -> None:
    campaign_id, token = await invited(service)
    document = salary_document(uscc(1))
    document["employees"][1]["months_worked"] = 13
    url = f"/api/v1/campaigns/{campaign_id}/submissions"
    response = await service.client.post(url, json={"data": document}, headers=bearer(token))
    assert response.status_code == 422
    assert {"path": "/employees/1/months_worked", "keyword": "maximum"}.items() <= (
        response.json()["errors"][0].items()
    )
    listed = await service.client.get(url, headers=service.admin)
    assert listed.json()["items"] == []


async def test_draft_skips_required_and_is_completed_by_amendment(service: Service) -> None:
    campaign_id, token = await invited(service)
    url = f"/api/v1/campaigns/{campaign_id}/submissions"
    draft = {"enterprise": {"uscc": uscc(1)}, "employees": [{"months_worked": 12}]}
    created = await service.client.post(
        url, json={"data": draft, "status": "draft"}, headers=bearer(token)
    )
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "draft"
    incomplete = await service.client.put(
        f"/api/v1/submissions/{created.json()['id']}",
        json={"data": draft, "status": "submitted"},
        headers=bearer(token),
    )
    assert incomplete.status_code == 422
    done = await service.client.put(
        f"/api/v1/submissions/{created.json()['id']}",
        json={"data": salary_document(uscc(1)), "status": "submitted"},
        headers=bearer(token),
    )
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["revision"]) == ("submitted", 2)


async def test_amendments_keep_every_revision(service: Service) -> None:
    campaign_id, token = await invited(service)
    url = f"/api/v1/campaigns/{campaign_id}/submissions"
    created = await service.client.post(
        url, json={"data": salary_document(uscc(1))}, headers=bearer(token)
    )
    sid = created.json()["id"]
    for pay in (70000, 72000):
        document = salary_document(uscc(1))
        document["employees"][3]["annual_pay"] = pay
        response = await service.client.put(
            f"/api/v1/submissions/{sid}", json={"data": document}, headers=bearer(token)
        )
        assert response.status_code == 200
    current = await service.client.get(f"/api/v1/submissions/{sid}", headers=bearer(token))
    assert current.json()["revision"] == 3
    assert current.json()["data"]["employees"][3]["annual_pay"] == 72000
    async with service.db.read() as session:
        revisions = list(
            await session.scalars(
                select(SubmissionRevision.revision)
                .where(SubmissionRevision.submission_id == sid)
                .order_by(SubmissionRevision.revision)
            )
        )
        audited = await session.scalar(
            select(func.count()).where(AuditEntry.action == "submission.amend")
        )
    assert revisions == [1, 2, 3]
    assert audited == 2


async def test_second_new_submission_of_one_enterprise_is_a_conflict(service: Service) -> None:
    campaign_id, token = await invited(service)
    url = f"/api/v1/campaigns/{campaign_id}/submissions"
    data = {"data": salary_document(uscc(1))}
    assert (await service.client.post(url, json=data, headers=bearer(token))).status_code == 201
    assert (await service.client.post(url, json=data, headers=bearer(token))).status_code == 409


async def test_other_enterprises_submission_is_not_found(service: Service) -> None:
    campaign_id, token_a = await invited(service, 1)
    minimal = {k: enterprise(2)[k] for k in ("uscc", "name", "district", "industry")}
    await register_enterprises(service, minimal)
    token_b = (await invite(service, campaign_id, 2))[2]
    created = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/submissions",
        json={"data": salary_document(uscc(1))},
        headers=bearer(token_a),
    )
    sid = created.json()["id"]
    seen_by_b = await service.client.get(f"/api/v1/submissions/{sid}", headers=bearer(token_b))
    assert seen_by_b.status_code == 404
    amended_by_b = await service.client.put(
        f"/api/v1/submissions/{sid}",
        json={"data": salary_document(uscc(2))},
        headers=bearer(token_b),
    )
    assert amended_by_b.status_code == 404
    admin_view = await service.client.get(f"/api/v1/submissions/{sid}", headers=service.admin)
    assert admin_view.json()["enterprise"] == uscc(1)


async def test_token_of_one_campaign_does_not_open_another(service: Service) -> None:
    _, token = await invited(service)
    other = await create_campaign(service)
    response = await service.client.post(
        f"/api/v1/campaigns/{other}/submissions",
        json={"data": salary_document(uscc(1))},
        headers=bearer(token),
    )
    assert response.status_code == 404


async def test_closed_campaign_refuses_answers(service: Service) -> None:
    campaign_id, token = await invited(service, window="closed")
    response = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/submissions",
        json={"data": salary_document(uscc(1))},
        headers=bearer(token),
    )
    # The invitation expires when the campaign closes, so the token itself is refused.
    assert response.status_code == 401


async def test_revoked_or_replaced_invitation_is_refused(service: Service) -> None:
    campaign_id, token = await invited(service)
    new_token = (await invite(service, campaign_id, 1, reissue=True))[1]
    url = f"/api/v1/campaigns/{campaign_id}/submissions"
    data = {"data": salary_document(uscc(1))}
    assert (await service.client.post(url, json=data, headers=bearer(token))).status_code == 401
    revoke = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/invitations/{uscc(1)}/revoke", headers=service.admin
    )
    assert revoke.status_code == 204
    assert (await service.client.post(url, json=data, headers=bearer(new_token))).status_code == 401


async def test_progress_counts_invited_and_submitted_by_district(service: Service) -> None:
    await register_enterprises(
        service, enterprise(1, "610202"), enterprise(2, "610202"), enterprise(3, "610204")
    )
    campaign_id = await create_campaign(service)
    tokens = await invite(service, campaign_id, 1, 2, 3)
    await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/submissions",
        json={"data": salary_document(uscc(1))},
        headers=bearer(tokens[1]),
    )
    analyst = await service.token("analyst", label="a")
    response = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/progress", headers=bearer(analyst)
    )
    body = response.json()
    assert body["overall"] | {"district": None} == {
        "district": None,
        "invited": 3,
        "drafts": 0,
        "submitted": 1,
        "returned": 0,
        "response_rate": round(1 / 3, 4),
    }
    by_district = {r["district"]: (r["invited"], r["submitted"]) for r in body["by_district"]}
    assert by_district == {"610202": (2, 1), "610204": (1, 0)}


async def test_a_returned_survey_counts_apart_until_it_is_amended(service: Service) -> None:
    """Issue 12 (12c): a returned survey still counted as submitted (5/5, 100%)."""
    campaign_id, token = await invited(service)
    url = f"/api/v1/campaigns/{campaign_id}/progress"
    created = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/submissions",
        json={"data": salary_document(uscc(1))},
        headers=bearer(token),
    )
    sid = created.json()["id"]
    returned = await service.client.post(
        f"/api/v1/submissions/{sid}/review",
        json={"state": "returned", "reason": "工资总额有误"},
        headers=service.admin,
    )
    assert returned.status_code in (200, 201), returned.text
    overall = (await service.client.get(url, headers=service.admin)).json()["overall"]
    assert (overall["submitted"], overall["returned"], overall["response_rate"]) == (0, 1, 0.0)
    await service.client.put(
        f"/api/v1/submissions/{sid}",
        json={"data": salary_document(uscc(1))},
        headers=bearer(token),
    )
    overall = (await service.client.get(url, headers=service.admin)).json()["overall"]
    assert (overall["submitted"], overall["returned"], overall["response_rate"]) == (1, 0, 1.0)


async def _wage_rows(service: Service, sid: str) -> list[tuple[int, str, float, str]]:
    async with service.db.read() as session:
        rows = await session.execute(
            select(WageRow.row_index, WageRow.occupation, WageRow.annual_pay, WageRow.district)
            .where(WageRow.submission_id == sid)
            .order_by(WageRow.row_index)
        )
        return [(i, o, p, d) for i, o, p, d in rows]


async def test_submitted_survey_fills_the_wage_table_and_amendment_replaces_it(
    service: Service,
) -> None:
    campaign_id, token = await invited(service)
    document = salary_document(uscc(1))
    created = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/submissions",
        json={"data": document},
        headers=bearer(token),
    )
    sid = created.json()["id"]
    rows = await _wage_rows(service, sid)
    assert [(i, o, p) for i, o, p, _ in rows] == [
        (i, e["occupation"], e["annual_pay"]) for i, e in enumerate(document["employees"])
    ]
    # The district comes from the registry (the invitation's enterprise), not the document.
    assert {d for *_, d in rows} == {"610202"}
    document["employees"] = document["employees"][:2]
    amended = await service.client.put(
        f"/api/v1/submissions/{sid}", json={"data": document}, headers=bearer(token)
    )
    assert amended.status_code == 200
    assert len(await _wage_rows(service, sid)) == 2


async def test_draft_writes_no_wage_rows(service: Service) -> None:
    campaign_id, token = await invited(service)
    created = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/submissions",
        json={"data": salary_document(uscc(1)), "status": "draft"},
        headers=bearer(token),
    )
    assert await _wage_rows(service, created.json()["id"]) == []


async def test_pay_under_the_minimum_wage_is_a_warning_not_a_refusal(service: Service) -> None:
    campaign_id, token = await invited(service)
    document = salary_document(uscc(1))
    document["employees"][3] |= {"annual_pay": 20000, "base_pay": 20000}
    created = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/submissions",
        json={"data": document},
        headers=bearer(token),
    )
    assert created.status_code == 201
    assert {"path": "/employees/3/annual_pay", "code": "minimum_wage"}.items() <= (
        created.json()["warnings"][0].items()
    )


async def test_survey_naming_another_enterprise_is_refused(service: Service) -> None:
    campaign_id, token = await invited(service)
    response = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/submissions",
        json={"data": salary_document(uscc(2))},
        headers=bearer(token),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "/enterprise/uscc"


async def test_returned_survey_shows_the_reason_and_amendment_reopens_review(
    service: Service,
) -> None:
    campaign_id, token = await invited(service)
    created = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/submissions",
        json={"data": salary_document(uscc(1))},
        headers=bearer(token),
    )
    sid = created.json()["id"]
    no_reason = await service.client.post(
        f"/api/v1/submissions/{sid}/review", json={"state": "returned"}, headers=service.admin
    )
    assert no_reason.status_code == 422
    returned = await service.client.post(
        f"/api/v1/submissions/{sid}/review",
        json={"state": "returned", "reason": "职业代码 1-06 与岗位不符"},
        headers=service.admin,
    )
    assert returned.status_code == 200
    seen = await service.client.get(f"/api/v1/submissions/{sid}/reviews", headers=bearer(token))
    assert [(r["state"], r["reason"]) for r in seen.json()] == [
        ("returned", "职业代码 1-06 与岗位不符")
    ]
    amended = await service.client.put(
        f"/api/v1/submissions/{sid}",
        json={"data": salary_document(uscc(1))},
        headers=bearer(token),
    )
    assert amended.json()["review_state"] == "pending"
    accepted = await service.client.post(
        f"/api/v1/submissions/{sid}/review", json={"state": "accepted"}, headers=service.admin
    )
    assert accepted.json()["revision"] == 2
    history = await service.client.get(f"/api/v1/submissions/{sid}/reviews", headers=service.admin)
    assert [r["state"] for r in history.json()] == ["returned", "accepted"]


async def test_enterprise_cannot_review_its_own_survey(service: Service) -> None:
    campaign_id, token = await invited(service)
    created = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/submissions",
        json={"data": salary_document(uscc(1))},
        headers=bearer(token),
    )
    response = await service.client.post(
        f"/api/v1/submissions/{created.json()['id']}/review",
        json={"state": "accepted"},
        headers=bearer(token),
    )
    assert response.status_code == 403


async def _import_csv(service: Service, lines: list[str], encoding: str) -> Any:
    return await service.client.post(
        "/api/v1/enterprises/import",
        files={"file": ("企业名录.csv", "\n".join(lines).encode(encoding))},
        headers=service.admin,
    )


async def test_enterprises_import_from_a_chinese_csv(service: Service) -> None:
    lines = [
        "统一社会信用代码,企业名称,所在区县代码,行业代码,企业规模,职工人数,是否建立工会",
        f"{uscc(1)},铜川一号有限公司,610202,C30,中型,230,是",
        f"{uscc(2)},铜川二号有限公司,610204,F52,小型,45,否",
    ]
    response = await _import_csv(service, lines, "gbk")
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 2
    listed = await service.client.get("/api/v1/enterprises", headers=service.admin)
    by_code = {e["uscc"]: e for e in listed.json()["items"]}
    assert (by_code[uscc(1)]["size_class"], by_code[uscc(1)]["has_union"]) == ("medium", True)
    assert by_code[uscc(2)]["staff_count"] == 45


async def test_an_update_changes_only_the_fields_it_names(service: Service) -> None:
    """Issue 12 (3): a re-import or a JSON update with fewer fields left the rest wiped
    (size, ownership, union, collective contract), and the city's contract rate fell."""
    full = enterprise(1, size_class="large", ownership="159", staff_count=900, has_union=True,
                      above_designated_size=True, has_collective_contract=True,
                      group_key="集团")  # fmt: skip
    created = await service.client.post("/api/v1/enterprises", json=full, headers=service.admin)
    assert created.status_code == 201, created.text
    lines = [
        "统一社会信用代码,企业名称,所在区县代码,行业代码,职工人数",
        f"{uscc(1)},铜川一号有限公司,610202,C30,950",
    ]
    response = await _import_csv(service, lines, "utf-8")
    assert response.status_code == 200, response.text
    short = {k: full[k] for k in ("uscc", "district", "industry")} | {"name": "铜川一号有限公司"}
    response = await service.client.post(
        "/api/v1/enterprises", json=short | {"group_key": None}, headers=service.admin
    )
    assert response.status_code == 200, response.text
    listed = await service.client.get("/api/v1/enterprises", headers=service.admin)
    (row,) = listed.json()["items"]
    assert row["name"] == "铜川一号有限公司"
    assert row["staff_count"] == 950
    assert row["group_key"] is None  # an explicit null clears
    for key in ("size_class", "ownership", "has_union", "above_designated_size",
                "has_collective_contract"):  # fmt: skip
        assert row[key] == full[key], key
    # A new enterprise without them holds null / false.
    minimal = {k: enterprise(2)[k] for k in ("uscc", "name", "district", "industry")}
    await service.client.post("/api/v1/enterprises", json=minimal, headers=service.admin)
    listed = await service.client.get("/api/v1/enterprises", headers=service.admin)
    second = next(e for e in listed.json()["items"] if e["uscc"] == uscc(2))
    assert (second["size_class"], second["has_union"], second["group_key"]) == (None, False, None)


async def test_enterprise_import_with_a_bad_code_names_the_cell_and_stores_nothing(
    service: Service,
) -> None:
    lines = [
        "uscc,name,district,industry",
        f"{uscc(1)},A,610202,C30",
        f"{uscc(2)[:-1]}0,B,610202,C30",
    ]
    response = await service.client.post(
        "/api/v1/enterprises/import",
        files={"file": ("list.csv", "\n".join(lines).encode())},
        headers=service.admin,
    )
    assert response.status_code == 422
    assert [(e["row"], e["column"]) for e in response.json()["errors"]] == [(3, "uscc")]
    listed = await service.client.get("/api/v1/enterprises", headers=service.admin)
    assert listed.json()["items"] == []


async def test_enterprise_import_names_every_bad_cell_in_chinese_and_takes_district_names(
    service: Service,
) -> None:
    """Issue 12 (7): the errors were raw English (``Expected str of length >= 6``), only
    the first per row, and 耀州区 was refused where its code was wanted."""
    lines = [
        "统一社会信用代码,企业名称,所在区县代码,行业代码,职工人数",
        f"{uscc(1)},铜川一号有限公司,耀州区,C30,230",
        f"{uscc(2)},铜川二号有限公司,不存在区,C99,-5",
    ]
    response = await _import_csv(service, lines, "utf-8")
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [
        (3, "所在区县代码"),
        (3, "职工人数"),
        (3, "行业代码"),
    ]
    assert errors[0]["message_zh"].startswith("“不存在区”不是有效的行政区划代码，应如 610202")
    assert errors[1]["message_zh"] == "不能小于 0"
    assert (await service.client.get("/api/v1/enterprises", headers=service.admin)).json()[
        "items"
    ] == []
    response = await _import_csv(service, lines[:2], "utf-8")
    assert response.status_code == 200, response.text
    assert response.json()["enterprises"][0]["district"] == "610204"


async def test_the_enterprise_import_template_uploads_back_filled_in(service: Service) -> None:
    response = await service.client.get("/api/v1/enterprises/template.xlsx", headers=service.admin)
    assert response.status_code == 200
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    header = book.get_sheet_by_index(0).to_python()[0]
    assert header[:4] == ["统一社会信用代码", "企业名称", "所在区县代码", "行业代码"]
    assert "说明" in book.sheet_names
    out = io.BytesIO()
    filled = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = filled.add_worksheet("企业名录")
    row = {"统一社会信用代码": uscc(3), "企业名称": "铜川三号有限公司",
           "所在区县代码": "610202", "行业代码": "C3011", "企业规模": "小型", "职工人数": 40,
           "是否建立工会": "是"}  # fmt: skip
    for c, label in enumerate(header):
        sheet.write(0, c, label)
        if label in row:
            sheet.write(1, c, row[label])
    filled.close()
    imported = await service.client.post(
        "/api/v1/enterprises/import",
        files={"file": ("名录.xlsx", out.getvalue())},
        headers=service.admin,
    )
    assert imported.status_code == 200, imported.text
    [made] = imported.json()["enterprises"]
    assert (made["size_class"], made["staff_count"], made["has_union"]) == ("small", 40, True)


async def test_a_probe_row_against_a_single_competitor_gets_no_number(
    service: Service,
) -> None:
    """Without a release there is no published median: a row far from the one other
    enterprise's pay is not flagged, and no warning quotes a figure of that enterprise."""
    campaign_id, token_a = await invited(service, 1)
    document = salary_document(uscc(1))
    document["employees"] = [
        {"occupation": "6-01-02-03", "months_worked": 12, "annual_pay": 60000 + i}
        for i in range(12)
    ]
    url = f"/api/v1/campaigns/{campaign_id}/submissions"
    assert (
        await service.client.post(url, json={"data": document}, headers=bearer(token_a))
    ).status_code == 201
    minimal = {k: enterprise(2)[k] for k in ("uscc", "name", "district", "industry")}
    await register_enterprises(service, minimal)
    token_b = (await invite(service, campaign_id, 2))[2]
    probe = salary_document(uscc(2))
    probe["employees"] = [
        {"occupation": "6-01-02-03", "months_worked": 12, "annual_pay": 900000},
    ]
    response = await service.client.post(url, json={"data": probe}, headers=bearer(token_b))
    assert response.status_code == 201
    warnings = response.json()["warnings"]
    assert [w["code"] for w in warnings if w["code"] == "outlier"] == []
    competitor = {f"{60000 / 12 + i / 12:.0f}" for i in range(12)}
    assert not [w for w in warnings for n in competitor if n in w["message"] + w["message_zh"]]


async def test_inviting_again_keeps_the_code_sent_unless_reissue_is_asked(
    service: Service,
) -> None:
    """Issue 12 (4): posting the invitations again silently revoked the codes sent."""
    campaign_id, first = await invited(service)
    url = f"/api/v1/campaigns/{campaign_id}/invitations"
    await service.client.post("/api/v1/enterprises", json=enterprise(2), headers=service.admin)
    again = await service.client.post(
        url, json={"enterprises": [uscc(1), uscc(2)]}, headers=service.admin
    )
    assert again.status_code == 201, again.text  # a code for the new one
    kept, new = again.json()
    assert (kept["state"], kept["token"]) == ("already_invited", None)
    assert "仍然有效" in kept["message_zh"]
    assert kept["invited_at"]
    assert (new["state"], bool(new["token"])) == ("issued", True)
    me = await service.client.get(f"/api/v1/campaigns/{campaign_id}", headers=bearer(first))
    assert me.status_code == 200  # the code sent first still works
    # Nothing new to issue: 200.
    same = await service.client.post(url, json={"enterprises": [uscc(1)]}, headers=service.admin)
    assert (same.status_code, same.json()[0]["state"]) == (200, "already_invited")
    # Asked for explicitly: a new code, a warning, and the old one stops working.
    replaced = await service.client.post(
        url, json={"enterprises": [uscc(1)], "reissue": True}, headers=service.admin
    )
    assert replaced.status_code == 201
    [out] = replaced.json()
    assert out["state"] == "reissued"
    assert "已失效" in out["message_zh"]
    old = await service.client.get(f"/api/v1/campaigns/{campaign_id}", headers=bearer(first))
    assert old.status_code == 401
    fresh = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}", headers=bearer(out["token"])
    )
    assert fresh.status_code == 200
