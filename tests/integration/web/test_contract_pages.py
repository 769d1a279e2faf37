"""The collective-contract page through HTTP on SQLite and PostgreSQL: the bureau records a
contract from the form (a bad date refused with the form kept), sees it expiring and where
the enterprise's own statements disagree, withdraws it; a district's staff records for their
district only."""

from __future__ import annotations

from datetime import date, timedelta

from tests.conftest import Service
from tests.factories import create_campaign, invite, register_enterprises, submit
from tests.integration.web.helpers import assert_well_formed, page_csrf, sign_in
from tests.samples import enterprise, salary_document, uscc


def _days(n: int) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


async def test_the_bureau_records_sees_and_withdraws_a_contract(service: Service) -> None:
    await register_enterprises(service, enterprise(1, staff_count=150))
    salary = await create_campaign(service, "salary-survey", year=date.today().year)
    token = (await invite(service, salary, 1))[1]
    document = salary_document(uscc(1))
    document["enterprise"]["has_collective_contract"] = False
    document["enterprise"]["survey_year"] = date.today().year
    await submit(service, salary, token, document)
    assert (await sign_in(service, service.admin_token, admin=True)).status_code == 303
    shown = await service.client.get("/admin/contracts")
    assert shown.status_code == 200
    assert_well_formed(shown.text)
    assert "尚无记录" in shown.text
    csrf = await page_csrf(service, "/admin/contracts")
    form = {"_csrf": csrf, "uscc": uscc(1).lower(), "has_mechanism": "true",
            "signed_on": _days(5), "term_months": "12", "coverage_workers": "140",
            "wage_growth_pct": "6.5", "wage_clauses": "年增长不低于6.5%"}  # fmt: skip
    refused = await service.client.post("/admin/contracts", data=form)
    assert refused.status_code == 422
    assert_well_formed(refused.text)
    assert "签订日期晚于今天" in refused.text
    assert 'value="年增长不低于6.5%"' in refused.text  # what was typed is kept
    listed = await service.client.get("/api/v1/collective-contracts", headers=service.admin)
    assert listed.json()["contracts"] == []

    saved = await service.client.post("/admin/contracts", data=form | {"signed_on": _days(-300)})
    assert saved.status_code == 303, saved.text
    page = await service.client.get(saved.headers["location"])
    assert f"已保存 {uscc(1)}" in page.text
    (stored,) = (
        await service.client.get("/api/v1/collective-contracts", headers=service.admin)
    ).json()["contracts"]
    signed = date.today() - timedelta(days=300)
    a_year_on = signed.replace(year=signed.year + 1, day=min(signed.day, 28))
    if signed.day > 28:  # the same day a year on, where it exists
        a_year_on = a_year_on + timedelta(days=signed.day - 28)
    expected = (a_year_on - timedelta(days=1)).isoformat()
    assert (stored["expires_on"], stored["coverage_workers"], stored["in_force"]) == (
        expected, 140, True
    )  # fmt: skip
    expiring = page.text.split('id="expiring"', 1)[1].split("</table>", 1)[0]
    assert stored["expires_on"] in expiring  # 12 months from 300 days ago: within 90 days
    mismatch = page.text.split('id="mismatches"', 1)[1].split("</table>", 1)[0]
    assert uscc(1) in mismatch
    assert "薪酬调查" in mismatch  # it said it had none

    withdrawn = await service.client.post(
        f"/admin/contracts/{uscc(1)}/withdraw", data={"_csrf": csrf}
    )
    assert withdrawn.status_code == 303
    listed = await service.client.get("/api/v1/collective-contracts", headers=service.admin)
    assert listed.json()["contracts"] == []


async def test_district_staff_record_only_in_their_district(service: Service) -> None:
    await register_enterprises(service, enterprise(1, "610202"), enterprise(2, "610203"))
    token = await service.token("district", district="610202")
    assert (await sign_in(service, token, admin=True)).status_code == 303
    csrf = await page_csrf(service, "/admin/contracts")
    other = await service.client.post(
        "/admin/contracts", data={"_csrf": csrf, "uscc": uscc(2), "has_mechanism": "true"}
    )
    assert other.status_code == 404
    assert_well_formed(other.text)
    own = await service.client.post(
        "/admin/contracts", data={"_csrf": csrf, "uscc": uscc(1), "has_mechanism": "true"}
    )
    assert own.status_code == 303, own.text
    listed = await service.client.get("/api/v1/collective-contracts", headers=service.admin)
    assert [c["uscc"] for c in listed.json()["contracts"]] == [uscc(1)]
    forged = await service.client.post(
        "/admin/contracts", data={"_csrf": "forged", "uscc": uscc(1), "has_mechanism": "true"}
    )
    assert forged.status_code == 403
