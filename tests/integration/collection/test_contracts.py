"""Collective-contract records through HTTP on SQLite and PostgreSQL: recorded, corrected
and withdrawn without losing what was recorded before; the expiry from the term; the checks
one field cannot make; the contracts expiring soon; the enterprises whose own statements
disagree with the records; a district's staff keep to their district, others are refused."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.conftest import Service
from tests.factories import (
    bearer,
    create_campaign,
    invite,
    record_contract,
    register_enterprises,
    submit,
)
from tests.integration.analytics.score_helpers import assessment_document
from tests.samples import enterprise, salary_document, uscc

URL = "/api/v1/collective-contracts"


def _days(n: int) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


async def _get(service: Service, path: str, headers: dict[str, str] | None = None) -> Any:
    response = await service.client.get(URL + path, headers=headers or service.admin)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_record_is_corrected_and_withdrawn_and_every_version_is_kept(
    service: Service,
) -> None:
    await register_enterprises(service, enterprise(1, staff_count=150))
    first = await record_contract(
        service, 1, signed_on="2024-03-15", coverage_workers=140, wage_growth_pct=5.5,
        wage_clauses="基本工资年增长不低于5.5%",
    )  # fmt: skip
    # 36 months from 15 March 2024: through 14 March 2027.
    assert (first["expires_on"], first["in_force"], first["name"]) == (
        "2027-03-14", True, enterprise(1)["name"]
    )  # fmt: skip
    corrected = await record_contract(service, 1, signed_on="2024-03-01", expires_on="2026-02-28")
    assert corrected["id"] != first["id"]
    assert corrected["in_force"] is False  # it has expired
    listed = await _get(service, "/")
    assert [c["id"] for c in listed["contracts"]] == [corrected["id"]]
    history = (await _get(service, f"/{uscc(1)}"))["contracts"]
    assert [c["id"] for c in history] == [corrected["id"], first["id"]]
    assert history[0]["superseded_at"] is None
    assert history[1]["superseded_at"] is not None
    assert history[1]["wage_growth_pct"] == 5.5  # as it was recorded

    gone = await service.client.delete(f"{URL}/{uscc(1)}", headers=service.admin)
    assert gone.status_code == 204
    assert (await _get(service, "/"))["contracts"] == []
    assert len((await _get(service, f"/{uscc(1)}"))["contracts"]) == 2
    again = await service.client.delete(f"{URL}/{uscc(1)}", headers=service.admin)
    assert again.status_code == 404


async def test_what_does_not_hold_together_is_refused_by_field(service: Service) -> None:
    await register_enterprises(service, enterprise(1, staff_count=50))
    cases = [
        ({"signed_on": _days(3)}, "/signed_on"),
        ({"signed_on": "2024-01-01", "expires_on": "2023-12-31"}, "/expires_on"),
        ({"signed_on": "2024-01-01", "coverage_workers": 51}, "/coverage_workers"),
        ({"signed_on": None, "term_months": 12}, "/signed_on"),
    ]
    for fields, path in cases:
        body = {"uscc": uscc(1), "has_mechanism": True} | fields
        response = await service.client.post(URL, json=body, headers=service.admin)
        assert response.status_code == 422, (fields, response.text)
        problem = response.json()
        assert path in [e["path"] for e in problem["errors"]], problem
        assert all(e.get("message_zh") for e in problem["errors"])
    unknown = {"uscc": uscc(9), "has_mechanism": True}
    response = await service.client.post(URL, json=unknown, headers=service.admin)
    assert response.status_code == 404
    bad = {"uscc": uscc(1), "has_mechanism": "yes"}
    response = await service.client.post(URL, json=bad, headers=service.admin)
    assert response.status_code in (400, 422)
    assert (await _get(service, f"/{uscc(1)}"))["contracts"] == []  # nothing stored


async def test_contracts_expiring_within_a_window_soonest_first(service: Service) -> None:
    await register_enterprises(service, *(enterprise(n) for n in (1, 2, 3, 4)))
    await record_contract(service, 1, signed_on=_days(-300), expires_on=_days(60))
    await record_contract(service, 2, signed_on=_days(-300), expires_on=_days(10))
    await record_contract(service, 3, signed_on=_days(-300), expires_on=_days(200))
    await record_contract(service, 4, signed_on=_days(-300), expires_on=_days(-1))  # expired
    soon = await _get(service, "/expiring")
    assert [c["uscc"] for c in soon["contracts"]] == [uscc(2), uscc(1)]
    year = await _get(service, "/expiring?within=365")
    assert [c["uscc"] for c in year["contracts"]] == [uscc(2), uscc(1), uscc(3)]
    response = await service.client.get(f"{URL}/expiring?within=0", headers=service.admin)
    assert response.status_code == 422


async def test_statements_that_disagree_with_the_records_are_listed(service: Service) -> None:
    """1 says in its 2023 survey that it had a contract; the records have none then (its
    contract was signed a year ago) but one now, which the registry's flag does not say.
    2 and 3 hold no record: 2's self-assessment says it negotiated and signed (a
    mismatch), 3's survey says it did not (no mismatch). 4 agrees everywhere."""
    await register_enterprises(
        service,
        enterprise(1, has_collective_contract=False),
        *(enterprise(n) for n in (2, 3)),
        enterprise(4, has_collective_contract=True),
    )
    await record_contract(service, 1)
    await record_contract(service, 4, signed_on="2022-06-01", term_months=60)
    salary = await create_campaign(service, "salary-survey", year=2023)
    tokens = await invite(service, salary, 1, 3, 4)
    for n, says in ((1, True), (3, False), (4, True)):
        document = salary_document(uscc(n))
        document["enterprise"]["has_collective_contract"] = says
        await submit(service, salary, tokens[n], document)
    assessment = await create_campaign(service, "enterprise-self-assessment", year=2023)
    tokens = await invite(service, assessment, 2)
    await submit(service, assessment, tokens[2], assessment_document(2))

    found = (await _get(service, "/mismatches?year=2023"))["mismatches"]
    by_code = {m["uscc"]: m["statements"] for m in found}
    assert set(by_code) == {uscc(1), uscc(2)}
    assert by_code[uscc(1)] == [
        {"source": "salary-survey", "campaign_id": salary, "year": 2023, "says": True,
         "record": False},
        {"source": "registry", "campaign_id": None, "year": None, "says": False,
         "record": True},
    ]  # fmt: skip
    assert by_code[uscc(2)] == [
        {"source": "self-assessment", "campaign_id": assessment, "year": 2023, "says": True,
         "record": False},
    ]  # fmt: skip
    assert (await _get(service, "/mismatches?year=2022"))["mismatches"] == [
        {"uscc": uscc(1), "name": enterprise(1)["name"], "district": "610202",
         "statements": by_code[uscc(1)][1:]},
    ]  # fmt: skip


async def test_district_staff_keep_to_their_district_and_others_are_refused(
    service: Service,
) -> None:
    await register_enterprises(service, enterprise(1, "610202"), enterprise(2, "610203"))
    await record_contract(service, 1)
    await record_contract(service, 2)
    district = bearer(await service.token("district", district="610202"))
    mine = await _get(service, "/", district)
    assert [c["uscc"] for c in mine["contracts"]] == [uscc(1)]
    assert [c["uscc"] for c in (await _get(service, "/expiring?within=3650", district))[
        "contracts"]] == [uscc(1)]  # fmt: skip
    body: dict[str, Any] = {"uscc": uscc(2), "has_mechanism": False}
    response = await service.client.post(URL, json=body, headers=district)
    assert response.status_code == 404  # another district's: as if unknown
    response = await service.client.delete(f"{URL}/{uscc(2)}", headers=district)
    assert response.status_code == 404
    response = await service.client.get(f"{URL}/{uscc(2)}", headers=district)
    assert response.status_code == 404
    response = await service.client.post(URL, json=body | {"uscc": uscc(1)}, headers=district)
    assert response.status_code == 201, response.text
    assert response.json()["recorded_by"].startswith("district")
    analyst = bearer(await service.token("analyst", label="analyst"))
    assert (await service.client.get(URL, headers=analyst)).status_code == 403
    assert (await service.client.get(URL)).status_code == 401
    # The admin still sees 2's record as it was.
    assert [c["has_mechanism"] for c in (await _get(service, "/"))["contracts"]] == [False, True]
