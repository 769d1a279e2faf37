"""Self-assessment scores through HTTP on SQLite and PostgreSQL: points and grades against a
computation in the test, veto caps, rules read from the campaign's form version, district
ranking, and who sees what."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Service
from tests.factories import bearer, create_campaign, invite, register_enterprises, submit
from tests.integration.analytics.score_helpers import (
    DUTIES,
    assessment_document,
    expected_assessment,
    release,
)
from tests.paths import PROJECT_ROOT
from tests.samples import enterprise, uscc

RULES: dict[str, Any] = json.loads(
    (PROJECT_ROOT / "form_schemas" / "enterprise-self-assessment.json").read_text()
)["rules"]

PARTIAL = {
    "contracts": {"signing_rate": 85, "employment_filed": False},
    "wages": {"average_wage_growth": "0_to_5", "wage_negotiation": False},
    "social_insurance": {"coverage_rate": 72.5},
    "safety": {"accidents": "minor_injuries"},
    "democracy": {"workers_congress": False},
    "rights": {"annual_leave_rate": 50, "women_protection": "measures_only"},
}


async def _assessed(
    service: Service, documents: dict[int, dict[str, Any]], **campaign_extra: Any
) -> tuple[int, dict[int, str], dict[int, str]]:
    """A self-assessment campaign where each enterprise ``n`` submitted ``documents[n]``;
    returns the campaign, the invitation tokens and the submission ids."""
    campaign_id = await create_campaign(service, "enterprise-self-assessment", **campaign_extra)
    tokens = await invite(service, campaign_id, *sorted(documents))
    ids = {
        n: await submit(service, campaign_id, tokens[n], document)
        for n, document in documents.items()
    }
    return campaign_id, tokens, ids


async def _get(service: Service, campaign_id: int, headers: dict[str, str]) -> dict[str, Any]:
    response = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/assessments", headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_scores_grades_and_district_ranking_follow_the_rules(service: Service) -> None:
    district = {1: "610202", 2: "610202", 3: "610203", 4: "610204"}
    await register_enterprises(service, *(enterprise(n, code) for n, code in district.items()))
    documents = {
        1: assessment_document(1),
        2: assessment_document(2, PARTIAL),
        3: assessment_document(3, {"contracts": {"signing_rate": 95}}),
        4: assessment_document(4, {"safety": {"accidents": "general_accident"}}),
    }
    campaign_id, _, ids = await _assessed(service, documents)
    body = await _get(service, campaign_id, service.admin)

    expected = {n: expected_assessment(RULES, d) for n, d in documents.items()}
    rows = {row["uscc"]: row for row in body["enterprises"]}
    assert set(rows) == {uscc(n) for n in documents}
    for n, (duties, total, grade, _) in expected.items():
        row = rows[uscc(n)]
        assert {d["key"]: d["score"] for d in row["duties"]} == duties
        assert row["total"] == total
        assert (row["score_grade"], row["grade"], row["capped"]) == (grade, grade, False)
        assert row["vetoes"] == []
        assert row["submission_id"] == ids[n]
    assert [d["key"] for d in rows[uscc(1)]["duties"]] == list(DUTIES)
    assert {d["key"]: d["max"] for d in rows[uscc(1)]["duties"]} == {
        duty: RULES["duties"][duty]["weight"] for duty in DUTIES
    }
    totals = sorted((t for _, t, _, _ in expected.values()), reverse=True)
    assert [row["total"] for row in body["enterprises"]] == totals
    assert [row["rank"] for row in body["enterprises"]] == [totals.index(t) + 1 for t in totals]

    by_district: dict[str, list[float]] = {}
    for n, (_, total, _, _) in expected.items():
        by_district.setdefault(district[n], []).append(total)
    means = {d: round(sum(t) / len(t), 2) for d, t in by_district.items()}
    districts = {d["district"]: d for d in body["districts"]}
    for code, mean in means.items():
        assert districts[code]["mean_total"] == mean
        assert districts[code]["enterprises"] == len(by_district[code])
    ranked = sorted(means, key=lambda c: -means[c])
    assert [d["district"] for d in body["districts"]][: len(ranked)] == ranked
    assert [districts[c]["rank"] for c in ranked] == [1, 2, 3]
    # Districts without an assessment are listed, unranked, after the others.
    assert districts["610222"]["enterprises"] == 0
    assert districts["610222"]["rank"] is None
    grade_counts = {g["grade"]: 0 for g in RULES["grades"]}
    for _, _, _, final in expected.values():
        grade_counts[final] += 1
    assert body["city"]["grades"] == grade_counts
    assert body["city"]["enterprises"] == 4
    assert body["city"]["mean_total"] == round(sum(totals) / 4, 2)


async def test_a_veto_caps_the_grade_whatever_the_score(service: Service) -> None:
    await register_enterprises(service, enterprise(1), enterprise(2))
    documents = {
        1: assessment_document(1, vetoes=frozenset({"wage_arrears"})),
        2: assessment_document(2, vetoes=frozenset({"child_labour", "serious_accident"})),
    }
    campaign_id, _, _ = await _assessed(service, documents)
    body = await _get(service, campaign_id, service.admin)
    rows = {row["uscc"]: row for row in body["enterprises"]}
    worst = min(RULES["grades"], key=lambda g: g["min_score"])["grade"]
    best = max(RULES["grades"], key=lambda g: g["min_score"])["grade"]
    assert rows[uscc(1)]["total"] == RULES["max_score"]
    assert (rows[uscc(1)]["score_grade"], rows[uscc(1)]["grade"]) == (best, worst)
    assert rows[uscc(1)]["capped"] is True
    assert rows[uscc(1)]["vetoes"] == ["wage_arrears"]
    assert sorted(rows[uscc(2)]["vetoes"]) == ["child_labour", "serious_accident"]
    assert rows[uscc(2)]["grade"] == worst
    assert body["city"]["vetoed"] == 2


async def test_new_rules_in_a_new_form_version_change_the_grade(service: Service) -> None:
    await register_enterprises(service, enterprise(1))
    form = (
        await service.client.get("/api/v1/forms/enterprise-self-assessment", headers=service.admin)
    ).json()
    rules = json.loads(json.dumps(form["rules"]))
    # Next year: a wage arrear caps at C instead of D, and A needs 96 points.
    rules["vetoes"]["wage_arrears"]["cap_grade"] = "C"
    for grade in rules["grades"]:
        if grade["grade"] == "A":
            grade["min_score"] = 96
    rules["duties"]["contracts"]["items"]["signing_rate"]["score"]["zero_at"] = 80
    created = await service.client.post(
        "/api/v1/forms/enterprise-self-assessment/versions",
        json={"schema": form["schema"], "ui": form["ui"], "rules": rules},
        headers=service.admin,
    )
    assert created.status_code == 201, created.text
    published = await service.client.post(
        "/api/v1/forms/enterprise-self-assessment/versions/2/publish", headers=service.admin
    )
    assert published.status_code == 200, published.text

    vetoed = assessment_document(1, vetoes=frozenset({"wage_arrears"}))
    middling = assessment_document(1, {"contracts": {"signing_rate": 85}})
    outcomes = []
    for version in (1, 2):
        for document in (vetoed, middling):
            campaign_id, _, _ = await _assessed(service, {1: document}, form_version=version)
            [row] = (await _get(service, campaign_id, service.admin))["enterprises"]
            outcomes.append((version, row["total"], row["score_grade"], row["grade"]))
    assert outcomes == [
        (1, 100.0, "A", "D"),
        (1, expected_assessment(RULES, middling)[1], "A", "A"),
        (2, 100.0, "A", "C"),
        (2, expected_assessment(rules, middling)[1], "B", "B"),
    ]
    assert expected_assessment(rules, middling)[1] < expected_assessment(RULES, middling)[1]


async def test_only_submitted_and_when_reviewed_only_accepted_assessments_count(
    service: Service,
) -> None:
    await register_enterprises(service, enterprise(1), enterprise(2), enterprise(3))
    campaign_id = await create_campaign(service, "enterprise-self-assessment", requires_review=True)
    tokens = await invite(service, campaign_id, 1, 2, 3)
    accepted = await submit(service, campaign_id, tokens[1], assessment_document(1))
    await submit(service, campaign_id, tokens[2], assessment_document(2))  # pending review
    await submit(service, campaign_id, tokens[3], assessment_document(3), status="draft")
    review = await service.client.post(
        f"/api/v1/submissions/{accepted}/review", json={"state": "accepted"}, headers=service.admin
    )
    assert review.status_code == 200, review.text
    body = await _get(service, campaign_id, service.admin)
    assert [(r["uscc"], r["review_state"]) for r in body["enterprises"]] == [(uscc(1), "accepted")]
    assert body["city"]["enterprises"] == 1


async def test_analysts_see_districts_and_an_enterprise_only_its_own_row(
    service: Service,
) -> None:
    await register_enterprises(service, enterprise(1, "610202"), enterprise(2, "610203"))
    campaign_id, tokens, _ = await _assessed(
        service, {1: assessment_document(1), 2: assessment_document(2, PARTIAL)}
    )
    analyst = bearer(await service.token("analyst", label="analyst"))
    await release(service, campaign_id)
    seen = await _get(service, campaign_id, analyst)
    assert seen["enterprises"] is None
    assert {d["district"] for d in seen["districts"] if d["enterprises"]} == {"610202", "610203"}
    own = await _get(service, campaign_id, bearer(tokens[2]))
    assert [row["uscc"] for row in own["enterprises"]] == [uscc(2)]
    assert (
        own["enterprises"][0]["total"]
        == expected_assessment(RULES, assessment_document(2, PARTIAL))[1]
    )
    assert (own["districts"], own["city"]) == (None, None)
    other = await create_campaign(service, "enterprise-self-assessment")
    response = await service.client.get(
        f"/api/v1/campaigns/{other}/assessments", headers=bearer(tokens[2])
    )
    assert response.status_code == 404
    anonymous = await service.client.get(f"/api/v1/campaigns/{campaign_id}/assessments")
    assert anonymous.status_code == 401


async def test_assessments_of_a_campaign_that_is_no_self_assessment_are_refused(
    service: Service,
) -> None:
    salary = await create_campaign(service, "salary-survey")
    response = await service.client.get(
        f"/api/v1/campaigns/{salary}/assessments", headers=service.admin
    )
    assert response.status_code == 422
    assert "self-assessment" in response.json()["detail"]
    missing = await service.client.get("/api/v1/campaigns/999/assessments", headers=service.admin)
    assert missing.status_code == 404


async def test_analysts_never_see_a_small_districts_figures_nor_the_one_beside_it(
    service: Service,
) -> None:
    # Three enterprises in Wangyi, one alone in Yintai: its figures would be its own, and
    # Wangyi's beside the city's would give them back, so Wangyi shows its count only too.
    await register_enterprises(
        service,
        enterprise(1, "610202"),
        enterprise(2, "610202"),
        enterprise(3, "610202"),
        enterprise(4, "610203"),
    )
    documents = {n: assessment_document(n) for n in (1, 2, 3)} | {
        4: assessment_document(4, PARTIAL)
    }
    campaign_id, _, _ = await _assessed(service, documents)
    analyst = bearer(await service.token("analyst", label="analyst"))
    await release(service, campaign_id)
    seen = await _get(service, campaign_id, analyst)
    by_code = {d["district"]: d for d in seen["districts"]}
    for code, count in (("610203", 1), ("610202", 3)):
        hidden = by_code[code]
        assert hidden["enterprises"] == count
        assert hidden["counts_only"] is True
        assert (hidden["mean_total"], hidden["grades"], hidden["duty_means"]) == (None, {}, {})
        assert hidden["rank"] is None
    # The admin sees everything.
    full = await _get(service, campaign_id, service.admin)
    assert full["release"] is None
    assert {d["district"]: d["mean_total"] for d in full["districts"]}["610203"] == (
        expected_assessment(RULES, assessment_document(4, PARTIAL))[1]
    )
    assert full["city"]["mean_total"] is not None
