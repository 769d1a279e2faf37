"""The wage tables a process keeps (analytics.table_cache): a repeated download is not
computed again, and any change to what a table is made of shows in the next download."""

from __future__ import annotations

import pytest

from survey_service.analytics import table_cache
from tests.conftest import Service
from tests.factories import create_campaign
from tests.integration.analytics.wage_helpers import (
    URL,
    live_table,
    rows_by,
    submit_workers,
    worker,
)
from tests.samples import enterprise


def _workers(n: int, pay: int = 60_000) -> list[dict[str, object]]:
    return [worker("6-15-01-01", pay + 1_000 * i) for i in range(n)]


async def test_a_repeated_download_is_computed_once(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_id = await create_campaign(service)
    for n in range(3):
        await submit_workers(service, campaign_id, n, _workers(5))
    computed: list[int] = []
    original = table_cache.wage_table

    async def counting(*args: object, **kwargs: object) -> object:
        computed.append(1)
        return await original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(table_cache, "wage_table", counting)
    first = await live_table(service, campaign_id, by="occupation")
    again = await live_table(service, campaign_id, by="occupation")
    csv_download = await service.client.get(
        URL.format(campaign_id), params={"by": "occupation", "format": "csv"}, headers=service.admin
    )
    assert csv_download.status_code == 200
    assert len(computed) == 1
    assert first["rows"] == again["rows"]
    await live_table(service, campaign_id, by="district")
    assert len(computed) == 2


async def test_a_new_survey_shows_in_the_next_download(service: Service) -> None:
    campaign_id = await create_campaign(service)
    for n in range(3):
        await submit_workers(service, campaign_id, n, _workers(4))
    before = rows_by(
        await live_table(service, campaign_id),
    )[()]
    assert before["n_workers"] == 12
    await submit_workers(service, campaign_id, 3, _workers(4))
    after = rows_by(await live_table(service, campaign_id))[()]
    assert (after["n_enterprises"], after["n_workers"]) == (4, 16)


async def test_enterprises_joining_one_group_show_in_the_next_download(service: Service) -> None:
    campaign_id = await create_campaign(service)
    for n in range(3):
        await submit_workers(service, campaign_id, n, _workers(4))
    assert rows_by(await live_table(service, campaign_id))[()]["n_enterprises"] == 3
    grouped = [enterprise(n, group_key="one group") for n in (0, 1)]
    response = await service.client.post("/api/v1/enterprises", json=grouped, headers=service.admin)
    assert response.status_code == 200, response.text
    after = rows_by(await live_table(service, campaign_id))[()]
    # Two contributors now: the grand total falls under the three-contributor threshold.
    assert after["suppressed"] is True
    assert after["suppression_reason"] == "min_enterprises"


async def test_last_years_new_survey_changes_the_year_on_year_columns(service: Service) -> None:
    previous = await create_campaign(service, year=2022)
    current = await create_campaign(service, year=2023)
    for n in range(3):
        await submit_workers(service, previous, n, _workers(4, pay=50_000))
        await submit_workers(service, current, 10 + n, _workers(4, pay=60_000))
    before = rows_by(await live_table(service, current))[()]
    await submit_workers(service, previous, 3, _workers(8, pay=40_000))
    after = rows_by(await live_table(service, current))[()]
    assert after["mean"] == before["mean"]
    assert after["mean_change"] != before["mean_change"]
