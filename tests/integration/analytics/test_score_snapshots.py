"""What a score release stores: the snapshot holds what the scores need and nothing that
names an enterprise; a campaign with nothing to score has nothing to release."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from survey_service.analytics import score_releases
from survey_service.analytics.frozen import NothingToRelease
from survey_service.db.models import Release
from tests.conftest import Service
from tests.factories import create_campaign, invite, register_enterprises, submit
from tests.integration.analytics.score_helpers import assessment_document, poll, release
from tests.samples import enterprise, uscc


async def _row(service: Service, campaign_id: int, number: int) -> Release:
    async with service.db.read() as session:
        row = await session.scalar(
            select(Release).where(Release.campaign_id == campaign_id, Release.number == number)
        )
    assert row is not None
    return row


def _names_no_enterprise(blob: bytes, numbers: list[int]) -> None:
    text = str(score_releases.unpack(blob))
    for n in numbers:
        assert uscc(n) not in text
        assert enterprise(n)["name"] not in text


async def test_a_satisfaction_snapshot_holds_answers_with_their_places_only(
    service: Service,
) -> None:
    districts = {1: "610202", 2: "610202", 3: "610203"}
    campaign_id, sent = await poll(service, {1: 5, 2: 4, 3: 6}, districts)
    row = await _release_row(service, campaign_id)
    snapshot = score_releases.unpack(row.data)
    assert snapshot["kind"] == "satisfaction"
    answers = snapshot["answers"]
    assert len(answers) == 15
    for answer in answers:
        assert set(answer) == {"district", "industry", "values", "recommend", "comments"}
    assert sorted(a["district"] for a in answers) == sorted(
        districts[n] for n in sent for _ in sent[n]
    )
    assert {a["industry"] for a in answers} == {"C30", "F52"}
    # Canonical order: nothing of arrival, nor answers of one enterprise side by side.
    assert answers == sorted(answers, key=score_releases.canonical)
    _names_no_enterprise(row.data, [1, 2, 3])
    protection = score_releases.unpack(row.protection)
    assert protection["hidden"] == snapshot["hidden"]
    assert row.rules["min_enterprises"] == 3
    assert row.summary["answers"] == 15


async def test_an_assessment_snapshot_holds_results_under_an_opaque_index(
    service: Service,
) -> None:
    await register_enterprises(service, *(enterprise(n, "610202") for n in (1, 2, 3)))
    campaign_id = await create_campaign(service, "enterprise-self-assessment")
    tokens = await invite(service, campaign_id, 1, 2, 3)
    for n in (1, 2, 3):
        await submit(service, campaign_id, tokens[n], assessment_document(n))
    row = await _release_row(service, campaign_id)
    results = score_releases.unpack(row.data)["enterprises"]
    assert [r["index"] for r in results] == [0, 1, 2]
    keys = {"index", "district", "industry", "duties", "total", "score_grade", "grade", "vetoes"}
    assert all(set(r) == keys for r in results)
    _names_no_enterprise(row.data, [1, 2, 3])


async def test_nothing_to_score_is_nothing_to_release(service: Service) -> None:
    poll_campaign = await create_campaign(service, "worker-satisfaction")
    assessment_campaign = await create_campaign(service, "enterprise-self-assessment")
    async with service.db.read() as session:
        with pytest.raises(NothingToRelease):
            await score_releases.freeze_satisfaction(session, poll_campaign, [])
        with pytest.raises(NothingToRelease):
            await score_releases.freeze_assessment(session, assessment_campaign, [])


async def _release_row(service: Service, campaign_id: int) -> Release:
    return await _row(service, campaign_id, await release(service, campaign_id))
