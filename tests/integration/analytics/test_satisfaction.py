"""Worker satisfaction through HTTP on SQLite and PostgreSQL: the figures against a count in
the test over the answers it sent, the anonymity thresholds (a count only under 5 answers,
comments only from 10), the campaign's own threshold, and who may ask for what."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.conftest import Service
from tests.factories import bearer, create_campaign, invite
from tests.integration.analytics.score_helpers import DIMENSIONS, LIKERT, poll, release
from tests.samples import enterprise, uscc


def expected_score(values: list[int]) -> dict[str, Any]:
    n = len(values)
    counts = Counter(values)
    return {
        "n": n,
        "mean": round(sum(values) / n, 3),
        "favourable": round((counts[4] + counts[5]) / n, 4),
        "neutral": round(counts[3] / n, 4),
        "unfavourable": round((counts[1] + counts[2]) / n, 4),
        "distribution": {str(v): counts[v] for v in range(1, 6)},
    }


def expected_group(sent: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(sent)
    promoters = sum(1 for a in sent if a["recommend"] >= 9)
    detractors = sum(1 for a in sent if a["recommend"] <= 6)
    return {
        "respondents": n,
        "questions": {q: expected_score([a[q] for a in sent]) for q in LIKERT},
        "dimensions": {
            d: expected_score([a[q] for a in sent for q in items])
            for d, items in DIMENSIONS.items()
        },
        "recommend": {
            "n": n,
            "promoters": round(promoters / n, 4),
            "passives": round((n - promoters - detractors) / n, 4),
            "detractors": round(detractors / n, 4),
            "score": round(100 * (promoters - detractors) / n, 1),
        },
        "comments": sorted(a["comment"] for a in sent if "comment" in a),
    }


def assert_figures(group: dict[str, Any], sent: list[dict[str, Any]]) -> None:
    expected = expected_group(sent)
    assert group["respondents"] == expected["respondents"]
    assert group["suppressed"] is False
    questions = {q.pop("key"): q for q in group["questions"]}
    assert questions == expected["questions"]
    dimensions = {d.pop("key"): d for d in group["dimensions"]}
    assert list(dimensions) == list(DIMENSIONS)
    assert dimensions == expected["dimensions"]
    assert group["recommend"] == expected["recommend"]


def assert_suppressed(group: dict[str, Any], respondents: int) -> None:
    assert group["respondents"] == respondents
    assert group["suppressed"] is True
    for hidden in ("questions", "dimensions", "recommend", "comments"):
        assert group[hidden] is None


async def _get(service: Service, path: str, headers: dict[str, str] | None = None) -> Any:
    response = await service.client.get(path, headers=headers or service.admin)
    assert response.status_code == 200, response.text
    return response.json()


async def test_figures_overall_and_by_district_match_a_count_of_the_answers(
    service: Service,
) -> None:
    districts = {1: "610202", 2: "610202", 3: "610203", 4: "610204"}
    campaign_id, sent = await poll(service, {1: 9, 2: 3, 3: 6, 4: 2}, districts)
    body = await _get(service, f"/api/v1/campaigns/{campaign_id}/satisfaction?by=district")
    everyone = [a for n in sorted(sent) for a in sent[n]]
    assert_figures(body["overall"], everyone)
    assert body["overall"]["comments"] == {"comment": expected_group(everyone)["comments"]}
    assert [d["key"] for d in body["dimensions"]] == list(DIMENSIONS)
    assert {d["key"]: d["items"] for d in body["dimensions"]} == DIMENSIONS
    assert body["thresholds"] == {"min_group": 5, "min_group_comments": 10}

    groups = {g["key"]: g for g in body["groups"]}
    assert list(groups) == ["610202", "610203", "610204"]
    assert groups["610202"]["name"] == "王益区"
    wangyi = sent[1] + sent[2]
    assert_figures(groups["610202"], wangyi)  # 12 answers: figures and comments
    assert groups["610202"]["comments"] == {"comment": expected_group(wangyi)["comments"]}
    assert_figures(groups["610203"], sent[3])  # 6 answers: figures, no comments
    assert groups["610203"]["comments"] is None
    assert_suppressed(groups["610204"], 2)  # 2 answers: a count only


async def test_small_enterprises_show_only_their_count_and_comments_need_ten(
    service: Service,
) -> None:
    districts = dict.fromkeys(range(1, 5), "610202")
    campaign_id, sent = await poll(service, {1: 11, 2: 4, 3: 5, 4: 10}, districts)
    body = await _get(service, f"/api/v1/campaigns/{campaign_id}/satisfaction?by=enterprise")
    groups = {g["key"]: g for g in body["groups"]}
    assert groups[uscc(1)]["name"] == enterprise(1)["name"]
    assert groups[uscc(1)]["district"] == "610202"
    assert_suppressed(groups[uscc(2)], 4)
    assert_figures(groups[uscc(3)], sent[3])
    assert groups[uscc(3)]["comments"] is None
    for n in (1, 4):
        assert_figures(groups[uscc(n)], sent[n])
        comments = groups[uscc(n)]["comments"]["comment"]
        # Sorted by text, so the order says nothing of who answered when.
        assert comments == sorted(a["comment"] for a in sent[n] if "comment" in a)
        assert comments != [a["comment"] for a in sent[n] if "comment" in a]
    hidden = [a["comment"] for a in sent[2] + sent[3] if "comment" in a]
    shown = [c for g in body["groups"] if g["comments"] for c in g["comments"]["comment"]]
    assert not set(hidden) & set(shown)


async def test_the_campaign_can_raise_the_anonymity_threshold(service: Service) -> None:
    districts = {1: "610202", 2: "610203"}
    campaign_id, sent = await poll(
        service,
        {1: 7, 2: 12},
        districts,
        settings={"anonymity": {"min_group": 8, "min_group_comments": 12}},
    )
    body = await _get(service, f"/api/v1/campaigns/{campaign_id}/satisfaction?by=district")
    assert body["thresholds"] == {"min_group": 8, "min_group_comments": 12}
    groups = {g["key"]: g for g in body["groups"]}
    assert_suppressed(groups["610202"], 7)
    assert_figures(groups["610203"], sent[2])
    assert groups["610203"]["comments"] is not None


async def test_groups_by_industry_division(service: Service) -> None:
    districts = dict.fromkeys(range(1, 4), "610202")
    campaign_id, sent = await poll(service, {1: 5, 2: 6, 3: 5}, districts)
    body = await _get(service, f"/api/v1/campaigns/{campaign_id}/satisfaction?by=industry")
    groups = {g["key"]: g for g in body["groups"]}
    assert list(groups) == ["C30", "F52"]
    assert_figures(groups["C30"], sent[1] + sent[3])
    assert_figures(groups["F52"], sent[2])
    assert groups["F52"]["name"] == "零售业"


async def test_comments_can_be_left_out(service: Service) -> None:
    campaign_id, _ = await poll(service, {1: 10}, {1: "610202"})
    body = await _get(service, f"/api/v1/campaigns/{campaign_id}/satisfaction?comments=false")
    assert body["overall"]["comments"] is None
    assert body["overall"]["questions"]


async def test_a_campaign_without_answers_shows_zero_respondents(service: Service) -> None:
    campaign_id = await create_campaign(service, "worker-satisfaction")
    body = await _get(service, f"/api/v1/campaigns/{campaign_id}/satisfaction?by=district")
    assert_suppressed(body["overall"], 0)
    assert body["groups"] == []


@pytest.mark.parametrize("by", [None, "district", "industry"])
async def test_analysts_read_the_release_by_group_but_never_by_enterprise(
    service: Service, by: str | None
) -> None:
    campaign_id, sent = await poll(service, {1: 6, 2: 5, 3: 5}, dict.fromkeys((1, 2, 3), "610202"))
    analyst = bearer(await service.token("analyst", label="analyst"))
    query = f"?by={by}" if by else ""
    path = f"/api/v1/campaigns/{campaign_id}/satisfaction{query}"
    before = await service.client.get(path, headers=analyst)
    assert before.status_code == 409
    assert f"campaign {campaign_id} has no release yet" in before.json()["detail"]
    number = await release(service, campaign_id)
    body = await _get(service, path, analyst)
    assert body["release"]["number"] == number
    assert_figures(body["overall"], [a for n in (1, 2, 3) for a in sent[n]])
    refused = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/satisfaction?by=enterprise", headers=analyst
    )
    assert refused.status_code == 403
    live = await service.client.get(f"{path}{'&' if by else '?'}release=live", headers=analyst)
    assert live.status_code == 403


async def test_enterprise_tokens_and_strangers_are_refused(service: Service) -> None:
    campaign_id, _ = await poll(service, {1: 5}, {1: "610202"})
    salary = await create_campaign(service, "salary-survey")
    token = (await invite(service, salary, 1))[1]
    path = f"/api/v1/campaigns/{campaign_id}/satisfaction"
    assert (await service.client.get(path, headers=bearer(token))).status_code == 403
    assert (await service.client.get(path)).status_code == 401
    wrong_kind = await service.client.get(
        f"/api/v1/campaigns/{salary}/satisfaction", headers=service.admin
    )
    assert wrong_kind.status_code == 422
    bad_group = await service.client.get(f"{path}?by=occupation", headers=service.admin)
    assert bad_group.status_code in (400, 422)
