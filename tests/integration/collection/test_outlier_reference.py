"""The outlier warning quotes a published figure, through HTTP on SQLite and PostgreSQL:
the city-wide monthly median of the occupation in the campaign's latest wage release (else
the previous year's), exactly as the release publishes it; a hidden cell gives none."""

from __future__ import annotations

from typing import Any

from tests.conftest import Service
from tests.factories import bearer, create_campaign, invite, register_enterprises
from tests.integration.analytics.release_helpers import release
from tests.integration.analytics.wage_helpers import URL, seeded_campaign
from tests.samples import salary_document, uscc

PROBE = 40  # an enterprise outside the seeded ones


async def _monthly_by_occupation(service: Service, campaign_id: int, number: int) -> list[Any]:
    response = await service.client.get(
        URL.format(campaign_id),
        params={"by": "occupation", "measure": "monthly", "release": str(number)},
        headers=service.admin,
    )
    assert response.status_code == 200, response.text
    return [r for r in response.json()["rows"] if r["occupation"] != "*"]


async def _probe(service: Service, campaign_id: int, occupation: str, monthly: float) -> list[Any]:
    """Enterprise ``PROBE`` posts one worker of ``occupation``; the outlier warnings."""
    await register_enterprises(service, PROBE)
    token = (await invite(service, campaign_id, PROBE))[PROBE]
    document = salary_document(uscc(PROBE))
    document["employees"] = [
        {"occupation": occupation, "months_worked": 12, "annual_pay": round(monthly * 12)}
    ]
    response = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/submissions",
        json={"data": document},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    return [w for w in response.json()["warnings"] if w["code"] == "outlier"]


async def test_the_warning_quotes_exactly_the_released_median(service: Service) -> None:
    campaign_id, _ = await seeded_campaign(service)
    made = await release(service, campaign_id)
    rows = await _monthly_by_occupation(service, campaign_id, made["number"])
    published = next(r for r in rows if not r["suppressed"])
    (warning,) = await _probe(service, campaign_id, published["occupation"], published["p50"] * 10)
    assert (
        f"2023年第{made['number']}次发布的该职业中位数 {published['p50']:.2f}"
        in (warning["message_zh"])
    )
    assert (
        f"{published['p50']:.2f} published in release {made['number']} of 2023"
        in (warning["message"])
    )


async def test_a_hidden_cell_gives_no_reference(service: Service) -> None:
    campaign_id, _ = await seeded_campaign(service)
    made = await release(service, campaign_id)
    rows = await _monthly_by_occupation(service, campaign_id, made["number"])
    hidden = next(r for r in rows if r["suppressed"])
    assert await _probe(service, campaign_id, hidden["occupation"], 130_000) == []


async def test_a_campaign_without_a_release_compares_with_last_years(service: Service) -> None:
    last_year, _ = await seeded_campaign(service, year=2023)
    made = await release(service, last_year)
    rows = await _monthly_by_occupation(service, last_year, made["number"])
    published = next(r for r in rows if not r["suppressed"])
    this_year = await create_campaign(service, year=2024)
    (warning,) = await _probe(service, this_year, published["occupation"], published["p50"] / 10)
    assert (
        f"2023年第{made['number']}次发布的该职业中位数 {published['p50']:.2f}"
        in (warning["message_zh"])
    )


async def test_only_the_year_befores_campaign_of_this_one_counts(service: Service) -> None:
    # Made first, so the lowest id: last year's campaign of the probed one, without a release.
    year_before = await create_campaign(service, year=2029)
    other, _ = await seeded_campaign(service, year=2023)
    made = await release(service, other)
    rows = await _monthly_by_occupation(service, other, made["number"])
    published = next(r for r in rows if not r["suppressed"])
    await create_campaign(service, year=2024)  # 2023's release is the year before of 2024's
    probed = await create_campaign(service, year=2030)
    assert year_before < probed
    assert await _probe(service, probed, published["occupation"], published["p50"] / 10) == []
