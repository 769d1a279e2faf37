"""What the score tests share: workers' answers sent through poll links, self-assessment
documents and the grades they should get, score releases; all through HTTP (the campaigns,
enterprises and invitations come from tests/factories.py)."""

from __future__ import annotations

import copy
import hashlib
import json
import random
from typing import Any

from sqlalchemy import func, select

from survey_service.analytics import score_releases
from survey_service.db.models import Campaign, Form, FormVersion, Release
from tests.conftest import Service
from tests.factories import answer_poll, create_campaign, poll_link, register_enterprises
from tests.samples import enterprise, uscc

DUTIES = ("contracts", "wages", "social_insurance", "safety", "democracy", "rights")
VETOES = (
    "wage_arrears",
    "illegal_employment",
    "serious_accident",
    "child_labour",
    "unpaid_social_insurance",
)
# Every item of the shipped self-assessment at its best answer.
FULL_MARKS: dict[str, dict[str, Any]] = {
    "contracts": {"signing_rate": 100, "signed_within_month": True, "employment_filed": True},
    "wages": {
        "average_wage_growth": "8_or_more",
        "wage_negotiation": True,
        "paid_on_time": True,
        "minimum_wage_met": True,
    },
    "social_insurance": {"coverage_rate": 100, "full_contribution_base": True},
    "safety": {"safety_training": True, "protective_equipment": True, "accidents": "none"},
    "democracy": {"workers_congress": True, "open_affairs": True, "rules_consulted": True},
    "rights": {
        "overtime_paid": True,
        "annual_leave_rate": 100,
        "women_protection": "special_contract",
        "hardship_support": True,
    },
}


DIMENSIONS = {
    "contracts": ["contract_1", "contract_2"],
    "wages": ["wage_1", "wage_2"],
    "social_insurance": ["insurance_1", "insurance_2"],
    "safety": ["safety_1", "safety_2"],
    "democracy": ["democracy_1", "democracy_2"],
    "rights": ["rights_1", "rights_2"],
}
LIKERT = [q for items in DIMENSIONS.values() for q in items] + ["overall_satisfaction"]
COMMENTS = ["食堂伙食不错。", "加班太多。", "希望涨工资。", "安全培训很好。", "宿舍需要改善。"]


def answers(rng: random.Random, count: int, tag: int) -> list[dict[str, Any]]:
    """``count`` answers, every other one with a comment (``tag`` makes each distinct)."""
    out = []
    for i in range(count):
        answer: dict[str, Any] = {q: rng.randint(1, 5) for q in LIKERT}
        answer["recommend"] = rng.randint(0, 10)
        if i % 2 == 0:
            answer["comment"] = f"{rng.choice(COMMENTS)}（{tag}-{i}）"
        out.append(answer)
    return out


def assessment_document(
    n: int,
    changes: dict[str, dict[str, Any]] | None = None,
    vetoes: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Enterprise ``n``'s self-assessment: full marks except ``changes`` (duty -> item ->
    answer), with the veto items in ``vetoes`` answered yes."""
    answers = copy.deepcopy(FULL_MARKS)
    for duty, items in (changes or {}).items():
        answers[duty].update(items)
    document: dict[str, Any] = {
        "enterprise": {"uscc": uscc(n), "name": enterprise(n)["name"]},
        "contact": {"name": "王芳", "phone": "0919-1234567"},
        "assessment_year": 2023,
    }
    for duty, items in answers.items():
        document[duty] = {item: {"answer": answer} for item, answer in items.items()}
    document["vetoes"] = {key: key in vetoes for key in VETOES}
    for key in vetoes:
        document["vetoes"][f"{key}_details"] = "已整改"
    return document


def expected_assessment(
    rules: dict[str, Any], document: dict[str, Any]
) -> tuple[dict[str, float], float, str, str]:
    """Duty points, total, the grade the total reaches and the grade after the veto caps,
    worked out here in plain Python from the rules and the document."""
    duties: dict[str, float] = {}
    for duty, duty_rules in rules["duties"].items():
        earned = 0.0
        for item, item_rules in duty_rules["items"].items():
            answer = document[duty][item]["answer"]
            score = item_rules["score"]
            if score == "boolean":
                earned += item_rules["points"] if answer is True else 0
            elif score["type"] == "percent":
                share = (answer - score["zero_at"]) / (score["full_at"] - score["zero_at"])
                earned += item_rules["points"] * min(1.0, max(0.0, share))
            else:
                earned += score["points"][answer]
        duties[duty] = round(earned, 2)
    total = round(sum(duties.values()), 2)
    grades = sorted(rules["grades"], key=lambda g: g["min_score"], reverse=True)
    order = [g["grade"] for g in grades]
    reached = next(g["grade"] for g in grades if total >= g["min_score"])
    caps = [
        order.index(veto["cap_grade"])
        for key, veto in rules["vetoes"].items()
        if document["vetoes"][key] is True
    ]
    return duties, total, reached, order[max([order.index(reached), *caps])]


RELEASE_KINDS = {
    "worker-satisfaction": score_releases.SATISFACTION,
    "enterprise-self-assessment": score_releases.ASSESSMENT,
}


async def release(service: Service, campaign_id: int) -> int:
    """A new release of the campaign (during collection: the test campaigns are open), made
    by an admin through the releases route; its number."""
    response = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/releases",
        json={"during_collection": True},
        headers=service.admin,
    )
    if response.status_code in (404, 405):  # the releases routes are not merged yet
        return await _release_directly(service, campaign_id)
    assert response.status_code == 201, response.text
    return int(response.json()["number"])


async def _release_directly(service: Service, campaign_id: int) -> int:
    """What the releases route does for a score release, in one transaction: freeze against
    the earlier releases of the kind, then write the row."""
    async with service.db.transaction() as session:
        form_key = await session.scalar(
            select(Form.key)
            .join(FormVersion, FormVersion.form_id == Form.id)
            .join(Campaign, Campaign.form_version_id == FormVersion.id)
            .where(Campaign.id == campaign_id)
        )
        kind = RELEASE_KINDS[str(form_key)]
        earlier = list(
            await session.scalars(
                select(Release.data)
                .where(Release.campaign_id == campaign_id, Release.kind == kind)
                .order_by(Release.number)
            )
        )
        freeze = getattr(score_releases, f"freeze_{kind}")
        frozen = await freeze(session, campaign_id, earlier)
        number = 1 + int(
            await session.scalar(
                select(func.coalesce(func.max(Release.number), 0)).where(
                    Release.campaign_id == campaign_id
                )
            )
            or 0
        )
        rules = json.dumps(frozen.rules, sort_keys=True, separators=(",", ":"))
        session.add(
            Release(
                campaign_id=campaign_id,
                number=number,
                kind=kind,
                during_collection=True,
                content_hash=hashlib.sha256(frozen.data + rules.encode()).hexdigest(),
                rules=frozen.rules,
                summary=frozen.summary,
                data=frozen.data,
                protection=frozen.protection,
            )
        )
    return number


async def poll(
    service: Service, sizes: dict[int, int], districts: dict[int, str], **campaign_extra: Any
) -> tuple[int, dict[int, list[dict[str, Any]]]]:
    """A poll campaign where enterprise ``n`` (in ``districts[n]``; industry C3011 when
    ``n`` is odd, else F5211) got ``sizes[n]`` answers through its link; returns the
    campaign and the answers sent, by enterprise."""
    await register_enterprises(
        service,
        *(
            enterprise(n, districts[n], industry="C3011" if n % 2 else "F5211")
            for n in sorted(sizes)
        ),
    )
    campaign_id = await create_campaign(service, "worker-satisfaction", **campaign_extra)
    rng = random.Random(20230228)
    sent: dict[int, list[dict[str, Any]]] = {}
    for n, size in sizes.items():
        sent[n] = answers(rng, size, n)
        await answer_through_link(service, campaign_id, n, sent[n])
    return campaign_id, sent


async def answer_through_link(
    service: Service, campaign_id: int, n: int, sent: list[dict[str, Any]]
) -> None:
    """``sent`` answered through enterprise ``n``'s poll link (made on first use), each
    from a new device."""
    slug = (await poll_link(service, campaign_id, n))["link"]
    for answer in sent:
        response = await answer_poll(service, slug, answer)
        assert response.status_code == 201, response.text
