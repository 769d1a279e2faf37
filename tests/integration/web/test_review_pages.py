"""The bureau's review pages through HTTP on SQLite and PostgreSQL: the queue with the
stored warnings and its filters, one survey with its rows and what changed between its
revisions, a return with a reason that the enterprise then reads, the amendment that puts
it back in the queue, an acceptance, and the acceptance of many at once, which passes over
every survey with a warning or amended since the queue was shown."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from survey_service.auth import Principal
from survey_service.collection import reviews
from survey_service.collection.reviews import QueueFilter
from survey_service.db.models import AccessToken, AuditEntry, Review
from survey_service.errors import ServiceError
from tests.conftest import Service
from tests.factories import window
from tests.integration.security.world import bearer, client_at
from tests.integration.web.helpers import assert_well_formed, csrf_of, page_csrf, sign_in
from tests.samples import enterprise, salary_document, uscc

QUEUE = "/admin/review"
REASON = "<b>第4行</b>年度工资低于最低工资标准，请核实后重新提交"


async def _campaign(service: Service) -> int:
    response = await service.client.post(
        "/api/v1/campaigns",
        json={"form_key": "salary-survey", "title": "2023年企业薪酬调查", "year": 2023,
              "requires_review": True} | window(),
        headers=service.admin,
    )  # fmt: skip
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _invited(service: Service, campaign_id: int, *numbers: int) -> dict[int, str]:
    """Enterprises ``numbers`` registered (the odd ones in Wangyi, the even in Yaozhou)
    and invited: their codes."""
    registered = await service.client.post(
        "/api/v1/enterprises",
        json=[enterprise(n, district="610202" if n % 2 else "610204") for n in numbers],
        headers=service.admin,
    )
    assert registered.status_code in (200, 201), registered.text
    invited = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/invitations",
        json={"enterprises": [uscc(n) for n in numbers]},
        headers=service.admin,
    )
    assert invited.status_code == 201, invited.text
    return {n: i["token"] for n, i in zip(numbers, invited.json(), strict=True)}


def _document(n: int, *, low_pay: bool = False, first_pay: int = 68000) -> dict[str, Any]:
    """Enterprise n's salary survey; ``low_pay``: its 4th worker under the minimum wage
    (the one warning)."""
    document = salary_document(uscc(n))
    document["employees"][0] |= {"annual_pay": first_pay, "base_pay": first_pay - 20000}
    if low_pay:
        document["employees"][3] |= {"annual_pay": 20000, "base_pay": 20000, "bonus": 0,
                                     "allowances": 0, "overtime_pay": 0}  # fmt: skip
    return document


async def _submit(
    service: Service, campaign_id: int, token: str, document: dict[str, Any], status: str = ""
) -> dict[str, Any]:
    response = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/submissions",
        json={"data": document} | ({"status": status} if status else {}),
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _amend(service: Service, sid: str, token: str, document: dict[str, Any]) -> None:
    response = await service.client.put(
        f"/api/v1/submissions/{sid}", json={"data": document}, headers=bearer(token)
    )
    assert response.status_code == 200, response.text


async def _admin_session(service: Service) -> None:
    response = await sign_in(service, service.admin_token, admin=True)
    assert response.status_code == 303, response.text


def _queue_rows(html: str) -> dict[str, str]:
    """The queue's rows by submission id."""
    if 'id="queue"' not in html:
        return {}
    body = html.split('id="queue"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = {}
    for row in body.split('<tr data-submission="')[1:]:
        sid, _, rest = row.partition('"')
        rows[sid] = rest
    return rows


async def _state(service: Service, sid: str) -> str:
    response = await service.client.get(f"/api/v1/submissions/{sid}", headers=service.admin)
    assert response.status_code == 200, response.text
    return str(response.json()["review_state"])


async def _actions(service: Service, action: str) -> list[AuditEntry]:
    async with service.db.read() as session:
        return list(await session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


async def test_the_queue_lists_submitted_surveys_with_their_warnings(service: Service) -> None:
    campaign_id = await _campaign(service)
    tokens = await _invited(service, campaign_id, 1, 2, 3)
    warned = await _submit(service, campaign_id, tokens[1], _document(1, low_pay=True))
    clean = await _submit(service, campaign_id, tokens[2], _document(2))
    draft = await _submit(service, campaign_id, tokens[3], _document(3), status="draft")
    assert len(warned["warnings"]) == 1
    await _admin_session(service)

    page = await service.client.get(QUEUE, params={"campaign": campaign_id})
    assert page.status_code == 200
    assert_well_formed(page.text)
    rows = _queue_rows(page.text)
    assert set(rows) == {warned["id"], clean["id"]}  # the draft is not submitted
    assert draft["id"] not in page.text
    assert '<span class="status returned">1</span>' in rows[warned["id"]]  # one warning
    assert "铜川示例企业1有限公司" in rows[warned["id"]]
    # Only a survey without warnings can be accepted with the others.
    assert 'name="accept"' not in rows[warned["id"]]
    assert f'value="{clean["id"]}:1" checked' in rows[clean["id"]]
    assert "共 2 份" in page.text

    with_warnings = await service.client.get(QUEUE, params={"warnings": "with"})
    assert set(_queue_rows(with_warnings.text)) == {warned["id"]}
    without = await service.client.get(QUEUE, params={"warnings": "without"})
    assert set(_queue_rows(without.text)) == {clean["id"]}
    yaozhou = await service.client.get(QUEUE, params={"district": "610204"})
    assert set(_queue_rows(yaozhou.text)) == {clean["id"]}  # enterprise 2 is in Yaozhou
    accepted = await service.client.get(QUEUE, params={"state": "accepted"})
    assert _queue_rows(accepted.text) == {}
    english = await service.client.get(QUEUE, params={"lang": "en"})
    assert "2 in all" in english.text


async def test_opening_a_survey_shows_its_rows_warnings_and_what_changed(
    service: Service,
) -> None:
    campaign_id = await _campaign(service)
    tokens = await _invited(service, campaign_id, 1)
    sid = (await _submit(service, campaign_id, tokens[1], _document(1, low_pay=True)))["id"]
    await _amend(service, sid, tokens[1], _document(1, low_pay=True, first_pay=70000))
    await _admin_session(service)

    page = await service.client.get(f"{QUEUE}/submissions/{sid}")
    assert page.status_code == 200, page.text
    html = page.text
    assert_well_formed(html)
    assert "铜川示例企业1有限公司" in html
    # Its rows: the salary table with the form's headers and the current figures.
    assert "年度应发工资" in html
    assert "6-15-01-01" in html
    assert "<td>70000 元</td>" in html or "<td>70000</td>" in html
    # Its warning, placed on the worker's line.
    warnings = html.split('id="submission-warnings"', 1)[1].split("</table>", 1)[0]
    assert "职工第 4 行" in warnings
    # Its revisions, and what changed from the first to the second.
    revisions = html.split('id="revisions"', 1)[1].split("</table>", 1)[0]
    assert revisions.count("<tr>") == 3  # the header and two revisions
    changes = html.split('id="changes"', 1)[1].split("</table>", 1)[0]
    assert "第 1 版与第 2 版的差异" in changes
    assert "职工工资明细 › 第 1 行 › 年度应发工资" in changes
    assert "<td>68000</td><td>70000</td>" in changes
    assert "基本工资" in changes  # base pay moved with it
    # The verdict form names the revision the reviewer reads.
    assert 'name="revision" value="2"' in html

    same = await service.client.get(f"{QUEUE}/submissions/{sid}", params={"before": 2, "after": 2})
    assert "差异：0 处" in same.text
    for unknown in ("not-a-uuid", "00000000-0000-4000-8000-000000000000"):
        missing = await service.client.get(f"{QUEUE}/submissions/{unknown}")
        assert missing.status_code == 404
        assert "找不到这份问卷" in missing.text
    english = await service.client.get(f"{QUEUE}/submissions/{sid}", params={"lang": "en"})
    assert "Employees › line 1 › Annual gross pay" in english.text


async def test_a_return_reaches_the_enterprise_and_an_amendment_puts_it_back_in_the_queue(
    service: Service,
) -> None:
    campaign_id = await _campaign(service)
    tokens = await _invited(service, campaign_id, 1)
    sid = (await _submit(service, campaign_id, tokens[1], _document(1, low_pay=True)))["id"]
    await _admin_session(service)
    csrf = await page_csrf(service, f"{QUEUE}/submissions/{sid}")

    no_reason = await service.client.post(
        f"{QUEUE}/submissions/{sid}",
        data={"_csrf": csrf, "state": "returned", "reason": "  ", "revision": "1"},
    )
    assert no_reason.status_code == 422
    assert "退回须填写原因" in no_reason.text
    assert await _state(service, sid) == "pending"

    returned = await service.client.post(
        f"{QUEUE}/submissions/{sid}",
        data={"_csrf": csrf, "state": "returned", "reason": REASON, "revision": "1"},
    )
    assert returned.status_code == 303, returned.text
    assert returned.headers["location"].startswith(f"{QUEUE}?")
    assert "reviewed=returned" in returned.headers["location"]
    assert await _state(service, sid) == "returned"
    [audited] = await _actions(service, "submission.returned")
    assert audited.target == f"submission:{sid}"
    shown = await service.client.get(f"{QUEUE}/submissions/{sid}")
    assert "&lt;b&gt;第4行&lt;/b&gt;年度工资低于最低工资标准" in shown.text

    # The enterprise, in its own browser, reads why.
    async with client_at(service, "10.0.0.9") as company:
        form = await company.get("/e/signin")
        signed = await company.post(
            "/e/signin", data={"token": tokens[1], "_csrf": csrf_of(form.text)}
        )
        assert signed.status_code == 303
        home = await company.get("/e")
        assert "退回原因" in home.text
        assert "&lt;b&gt;第4行&lt;/b&gt;年度工资低于最低工资标准，请核实后重新提交" in home.text
        submitted = await company.get("/e/submission")
        assert "年度工资低于最低工资标准" in submitted.text

    pending = await service.client.get(QUEUE)
    assert sid not in _queue_rows(pending.text)
    await _amend(service, sid, tokens[1], _document(1))
    again = await service.client.get(QUEUE)
    assert sid in _queue_rows(again.text)
    assert f'value="{sid}:2" checked' in _queue_rows(again.text)[sid]  # no warning now

    accepted = await service.client.post(
        f"{QUEUE}/submissions/{sid}",
        data={"_csrf": csrf, "state": "accepted", "reason": "", "revision": "2"},
    )
    assert accepted.status_code == 303
    assert await _state(service, sid) == "accepted"
    async with service.db.read() as session:
        verdicts = [(r.revision, r.state, r.reason) for r in await session.scalars(
            select(Review).where(Review.submission_id == sid).order_by(Review.id))]  # fmt: skip
    assert verdicts == [(1, "returned", REASON), (2, "accepted", None)]
    assert sid not in _queue_rows((await service.client.get(QUEUE)).text)
    done = await service.client.get(QUEUE, params={"state": "accepted"})
    assert sid in _queue_rows(done.text)


async def test_a_verdict_on_a_revision_amended_since_is_refused(service: Service) -> None:
    campaign_id = await _campaign(service)
    tokens = await _invited(service, campaign_id, 1)
    sid = (await _submit(service, campaign_id, tokens[1], _document(1)))["id"]
    await _admin_session(service)
    csrf = await page_csrf(service, f"{QUEUE}/submissions/{sid}")
    await _amend(service, sid, tokens[1], _document(1, low_pay=True))
    refused = await service.client.post(
        f"{QUEUE}/submissions/{sid}",
        data={"_csrf": csrf, "state": "accepted", "revision": "1"},
    )
    assert refused.status_code == 409
    assert "又修改了问卷（现为第 2 版）" in refused.text
    assert await _state(service, sid) == "pending"
    forged = await service.client.post(
        f"{QUEUE}/submissions/{sid}", data={"_csrf": "forged", "state": "accepted"}
    )
    assert forged.status_code == 403
    assert await _state(service, sid) == "pending"


async def test_bulk_acceptance_passes_over_warnings_and_later_amendments(
    service: Service,
) -> None:
    campaign_id = await _campaign(service)
    tokens = await _invited(service, campaign_id, 1, 2, 3, 4)
    warned = (await _submit(service, campaign_id, tokens[1], _document(1, low_pay=True)))["id"]
    clean = (await _submit(service, campaign_id, tokens[2], _document(2)))["id"]
    amended = (await _submit(service, campaign_id, tokens[3], _document(3)))["id"]
    other = (await _submit(service, campaign_id, tokens[4], _document(4)))["id"]
    await _admin_session(service)
    page = await service.client.get(QUEUE, params={"campaign": campaign_id})
    csrf = csrf_of(page.text)
    boxes = [v for v in page.text.split('name="accept" value="')[1:]]
    assert sorted(b.split('"', 1)[0] for b in boxes) == sorted(
        [f"{clean}:1", f"{amended}:1", f"{other}:1"]
    )
    await _amend(service, amended, tokens[3], _document(3, first_pay=69000))

    forged = await service.client.post(
        f"{QUEUE}/accept", data={"_csrf": "forged", "accept": [f"{clean}:1"]}
    )
    assert forged.status_code == 403
    assert await _state(service, clean) == "pending"

    # The warned survey is posted too (a form edited by hand): it is passed over.
    response = await service.client.post(
        f"{QUEUE}/accept",
        data={
            "_csrf": csrf,
            "campaign": str(campaign_id),
            "state": "pending",
            "accept": [f"{warned}:1", f"{clean}:1", f"{amended}:1", "junk", "x:y"],
        },
    )
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert f"campaign={campaign_id}" in location
    assert "accepted=1" in location
    assert "skipped=2" in location
    assert [await _state(service, s) for s in (warned, clean, amended, other)] == [
        "pending", "accepted", "pending", "pending",
    ]  # fmt: skip
    audited = await _actions(service, "submission.accepted")
    assert [(a.target, a.detail) for a in audited] == [(f"submission:{clean}", {"bulk": True})]
    shown = await service.client.get(location)
    assert "已通过 1 份。另有 2 份未通过" in shown.text
    assert set(_queue_rows(shown.text)) == {warned, amended, other}


async def test_a_reviewer_held_to_a_district_finds_no_survey_elsewhere(service: Service) -> None:
    """The service functions the pages call, with a district's scope (the district staff's
    role to come): a Wangyi survey is unknown from Yaozhou, and stays pending."""
    campaign_id = await _campaign(service)
    tokens = await _invited(service, campaign_id, 1, 2)  # 1 in Wangyi, 2 in Yaozhou
    wangyi = (await _submit(service, campaign_id, tokens[1], _document(1)))["id"]
    yaozhou = (await _submit(service, campaign_id, tokens[2], _document(2)))["id"]
    async with service.db.transaction() as session:
        admin_id = await session.scalar(select(AccessToken.id).where(AccessToken.role == "admin"))
        assert admin_id is not None
        staff = Principal(token_id=admin_id, role="admin")
        queue = await reviews.review_queue(session, QueueFilter(), district="610204")
        assert [item.submission_id for item in queue.items] == [yaozhou]
        with pytest.raises(ServiceError) as hidden:
            await reviews.submission_detail(session, wangyi, district="610204")
        assert hidden.value.status_code == 404
        with pytest.raises(ServiceError):
            await reviews.review(session, staff, wangyi, "accepted", None, district="610204")
        result = await reviews.accept_without_warnings(
            session, staff, [(wangyi, 1), (yaozhou, 1)], district="610204"
        )
    assert (result.accepted, result.skipped) == ([yaozhou], [(wangyi, "unknown")])
    assert await _state(service, wangyi) == "pending"
