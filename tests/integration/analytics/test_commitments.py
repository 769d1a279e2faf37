"""The workers' six commitments poll (职工"六要"), shipped beside the six duties: answered
anonymously through a poll link like the satisfaction poll, scored per commitment with the
same anonymity threshold, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from tests.conftest import Service
from tests.factories import create_campaign, register_enterprises
from tests.integration.analytics.score_helpers import answer_through_link
from tests.samples import enterprise

COMMITMENTS = {
    "dedication": "工作要敬业", "devotion": "岗位要奉献", "skills": "技能要提升",
    "discipline": "纪律要遵守", "ideas": "发展要献策", "rights": "维权要理性",
}  # fmt: skip


def answers(rng: random.Random, count: int) -> list[dict[str, Any]]:
    return [{f"{c}_{n}": rng.randint(1, 5) for c in COMMITMENTS for n in (1, 2)}
            for _ in range(count)]  # fmt: skip


def mean_and_favourable(values: list[int]) -> tuple[float, float]:
    counts = Counter(values)
    return round(sum(values) / len(values), 3), round((counts[4] + counts[5]) / len(values), 4)


async def test_the_six_commitments_are_scored_from_anonymous_answers(service: Service) -> None:
    await register_enterprises(service, enterprise(1), enterprise(2, "610204"))
    campaign_id = await create_campaign(service, "worker-commitments", title="2023年职工六要")
    rng = random.Random(6)
    sent = {1: answers(rng, 7), 2: answers(rng, 2)}
    for n, given in sent.items():
        await answer_through_link(service, campaign_id, n, given)
    response = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/satisfaction?by=district", headers=service.admin
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(d["key"], d["title"]["zh"]) for d in body["dimensions"]] == list(COMMITMENTS.items())
    everyone = sent[1] + sent[2]
    assert body["overall"]["respondents"] == 9
    for dimension in body["overall"]["dimensions"]:
        values = [a[f"{dimension['key']}_{n}"] for a in everyone for n in (1, 2)]
        assert (dimension["mean"], dimension["favourable"]) == mean_and_favourable(values)
    groups = {g["key"]: g for g in body["groups"]}
    assert groups["610202"]["suppressed"] is False  # 7 answers
    assert groups["610204"]["suppressed"] is True  # 2 answers: a count only
    assert groups["610204"]["dimensions"] is None
