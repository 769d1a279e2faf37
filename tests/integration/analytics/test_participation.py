"""Participation through HTTP on SQLite and PostgreSQL: counts and rates by district and for
the city against a count in the test, targets beside them (and from another file), the
missing list for admins only, and the roles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from survey_service.app import create_app
from survey_service.settings import Settings
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
from tests.paths import PROJECT_ROOT
from tests.samples import enterprise, salary_document, uscc

# n: (district, above designated size, union, staff, a contract in force by the records)
REGISTRY = {
    1: ("610202", True, True, 150, True),
    2: ("610202", True, False, 60, False),
    3: ("610202", False, True, 120, False),
    4: ("610203", True, True, 300, True),
    5: ("610203", False, False, 10, False),
    6: ("610204", False, True, 100, True),
    7: ("610204", True, True, 99, False),
}
TOOK_PART_2023 = {1, 3, 6, 7}


def _enterprise(n: int) -> dict[str, Any]:
    district, ads, union, staff, contract = REGISTRY[n]
    return enterprise(
        n,
        district,
        above_designated_size=ads,
        has_union=union,
        staff_count=staff,
        # The registry's flag says the opposite: the rate comes from the records.
        has_collective_contract=not contract,
    )


async def _contracts(service: Service) -> None:
    """Records that hold for 1, 4 and 6; 3's expired in 2021, 7 has a mechanism and no
    contract, 2's was recorded and then withdrawn."""
    for n in (1, 4, 6):
        await record_contract(service, n)
    await record_contract(service, 3, signed_on="2019-01-01")
    await record_contract(service, 7, signed_on=None)
    await record_contract(service, 2)
    response = await service.client.delete(
        f"/api/v1/collective-contracts/{uscc(2)}", headers=service.admin
    )
    assert response.status_code == 204, response.text


async def _year_of_campaigns(service: Service) -> None:
    """2023: 1 and 7 submit salary surveys, 3 and 6 self-assessments, 2 leaves a draft,
    5's workers answer the poll; 4 took part in 2022 only."""
    await register_enterprises(service, *(_enterprise(n) for n in REGISTRY))
    await _contracts(service)
    salary = await create_campaign(service, "salary-survey", year=2023)
    tokens = await invite(service, salary, 1, 2, 7)
    await submit(service, salary, tokens[1], salary_document(uscc(1)))
    await submit(service, salary, tokens[7], salary_document(uscc(7)))
    await submit(service, salary, tokens[2], salary_document(uscc(2)), status="draft")
    assessment = await create_campaign(service, "enterprise-self-assessment", year=2023)
    tokens = await invite(service, assessment, 3, 6, 7)
    for n in (3, 6, 7):
        await submit(service, assessment, tokens[n], assessment_document(n))
    earlier = await create_campaign(service, "enterprise-self-assessment", year=2022)
    await submit(service, earlier, (await invite(service, earlier, 4))[4], assessment_document(4))
    poll = await create_campaign(service, "worker-satisfaction", year=2023)
    link = await service.client.post(
        f"/api/v1/campaigns/{poll}/poll-links", json={"enterprise": uscc(5)}, headers=service.admin
    )
    answer = {
        q: 4
        for q in json.loads(
            (PROJECT_ROOT / "form_schemas" / "worker-satisfaction.json").read_text()
        )["schema"]["required"]
    }
    answered = await service.client.post(
        f"/api/v1/polls/{link.json()['link']}/responses", json={"data": answer}
    )
    assert answered.status_code == 201, answered.text


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _expected_row(numbers: list[int], min_staff: int = 100) -> dict[str, Any]:
    def count(*conditions: Any) -> int:
        return sum(1 for n in numbers if all(c(n) for c in conditions))

    def took_part(n: int) -> bool:
        return n in TOOK_PART_2023

    def ads(n: int) -> bool:
        return REGISTRY[n][1]

    def union(n: int) -> bool:
        return REGISTRY[n][2]

    def large_union(n: int) -> bool:
        return REGISTRY[n][2] and REGISTRY[n][3] >= min_staff

    def signed(n: int) -> bool:
        return REGISTRY[n][4]

    row = {
        "enterprises": len(numbers),
        "participating": count(took_part),
        "above_designated_size": count(ads),
        "above_designated_size_participating": count(ads, took_part),
        "unionized": count(union),
        "unionized_participating": count(union, took_part),
        "unionized_large": count(large_union),
        "collective_contracts": count(large_union, signed),
    }
    row["participation_rate"] = _rate(row["participating"], row["enterprises"])
    row["above_designated_size_rate"] = _rate(
        row["above_designated_size_participating"], row["above_designated_size"]
    )
    row["unionized_rate"] = _rate(row["unionized_participating"], row["unionized"])
    row["collective_contract_rate"] = _rate(row["collective_contracts"], row["unionized_large"])
    return row


async def _get(service: Service, query: str, headers: dict[str, str]) -> dict[str, Any]:
    response = await service.client.get(f"/api/v1/participation?{query}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_counts_and_rates_by_district_beside_the_targets(service: Service) -> None:
    await _year_of_campaigns(service)
    body = await _get(service, "year=2023", service.admin)
    assert body["year"] == 2023
    assert [c["form_key"] for c in body["campaigns"]] == [
        "salary-survey",
        "enterprise-self-assessment",
        "worker-satisfaction",
    ]
    city = body["city"]
    assert {k: city[k] for k in _expected_row([])} == _expected_row(list(REGISTRY))
    assert (city["district"], city["rank"]) == (None, None)
    assert city["above_designated_size_target"] == 1.0
    assert city["unionized_target"] == 1.0
    assert city["collective_contract_target"] == 0.8
    assert city["participation_target"] is None

    rows = {row["district"]: row for row in body["districts"]}
    assert set(rows) == {"610202", "610203", "610204", "610222", "610271"}
    for code in ("610202", "610203", "610204"):
        numbers = [n for n, spec in REGISTRY.items() if spec[0] == code]
        assert {k: rows[code][k] for k in _expected_row([])} == _expected_row(numbers)
        assert rows[code]["collective_contract_target"] == 0.8
    assert rows["610202"]["name"] == "王益区"
    assert rows["610222"]["enterprises"] == 0
    assert rows["610222"]["participation_rate"] is None
    # Ranked by participation rate: 610204 (2/2), 610202 (2/3), 610203 (0/2); none last.
    assert [r["district"] for r in body["districts"]][:3] == ["610204", "610202", "610203"]
    assert [r["rank"] for r in body["districts"]] == [1, 2, 3, None, None]
    assert body["targets"]["collective_contract_min_staff"] == 100
    assert "2023" in body["targets"]["source"]


async def test_admins_see_who_is_missing_and_analysts_only_counts(service: Service) -> None:
    await _year_of_campaigns(service)
    admin = await _get(service, "year=2023", service.admin)
    missing = sorted(set(REGISTRY) - TOOK_PART_2023)
    assert [(m["uscc"], m["name"], m["district"]) for m in admin["missing"]] == sorted(
        ((uscc(n), enterprise(n)["name"], REGISTRY[n][0]) for n in missing),
        key=lambda m: (m[2], m[0]),
    )
    assert admin["missing"][0]["district_name"] == "王益区"
    unsigned = [n for n, s in REGISTRY.items() if s[2] and s[3] >= 100 and not s[4]]
    assert [m["uscc"] for m in admin["without_collective_contract"]] == [uscc(n) for n in unsigned]

    analyst = await _get(
        service, "year=2023", bearer(await service.token("analyst", label="analyst"))
    )
    assert analyst["missing"] is None
    assert analyst["without_collective_contract"] is None
    assert analyst["city"] == admin["city"]
    assert analyst["districts"] == admin["districts"]


async def test_an_earlier_year_counts_its_own_campaigns_and_has_no_targets(
    service: Service,
) -> None:
    await _year_of_campaigns(service)
    body = await _get(service, "year=2022", service.admin)
    assert body["city"]["participating"] == 1
    by_district = sorted((REGISTRY[n][0], uscc(n)) for n in REGISTRY if n != 4)
    assert [m["uscc"] for m in body["missing"]] == [code for _, code in by_district]
    assert body["targets"]["from_year"] is None
    assert body["city"]["unionized_target"] is None
    empty = await _get(service, "year=2030", service.admin)
    assert (empty["campaigns"], empty["city"]["participating"]) == ([], 0)
    assert empty["targets"]["from_year"] == 2023


async def test_targets_come_from_the_file_the_settings_name(
    service: Service, tmp_path: Path
) -> None:
    await _year_of_campaigns(service)
    targets = tmp_path / "targets.json"
    targets.write_text(
        json.dumps(
            {
                "source": "a district's own plan",
                "collective_contract_min_staff": 50,
                "targets": [
                    {"from_year": 2020, "participation": 0.5, "unionized_participation": 0.9},
                    {"from_year": 2023, "participation": 0.7, "collective_contract_signing": 0.9},
                ],
            }
        )
    )
    settings = Settings(
        database_url=service.settings.database_url,
        var_dir=service.settings.var_dir,
        form_schemas_dir=service.settings.form_schemas_dir,
        participation_targets=targets,
    )
    app = create_app(settings, database=service.db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        response = await client.get("/api/v1/participation?year=2023", headers=service.admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["targets"]["source"] == "a district's own plan"
    assert (body["targets"]["from_year"], body["city"]["participation_target"]) == (2023, 0.7)
    assert body["city"]["collective_contract_target"] == 0.9
    assert body["city"]["unionized_target"] is None
    expected = _expected_row(list(REGISTRY), min_staff=50)
    assert body["city"]["unionized_large"] == expected["unionized_large"]
    assert body["city"]["collective_contract_rate"] == expected["collective_contract_rate"]


async def test_participation_is_refused_to_enterprises_and_strangers(service: Service) -> None:
    await register_enterprises(service, _enterprise(1))
    salary = await create_campaign(service, "salary-survey")
    token = (await invite(service, salary, 1))[1]
    refused = await service.client.get("/api/v1/participation?year=2023", headers=bearer(token))
    assert refused.status_code == 403
    assert (await service.client.get("/api/v1/participation?year=2023")).status_code == 401
    no_year = await service.client.get("/api/v1/participation", headers=service.admin)
    assert no_year.status_code == 400
