"""What the wage-table tests share: workers submitted through the API by invited enterprises,
the seeded campaign (12 enterprises in two districts, a few occupations), the live table
as the admin reads it, and its figures worked out independently with numpy."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import update

from survey_service.db.models import Campaign
from tests.conftest import Service
from tests.factories import create_campaign, invite, register_enterprises, submit
from tests.samples import salary_document, uscc

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
URL = "/api/v1/campaigns/{}/benchmarks/wages"


def worker(occupation: str, pay: int, months: int = 12, **extra: Any) -> dict[str, Any]:
    return {"occupation": occupation, "months_worked": months, "annual_pay": pay} | extra


async def submit_workers(
    service: Service,
    campaign_id: int,
    n: int,
    workers: list[dict[str, Any]],
    **registry: Any,
) -> str:
    """Register enterprise ``n`` (registry fields as given), invite it and submit its
    workers; the submission's id."""
    await register_enterprises(service, n, **registry)
    token = (await invite(service, campaign_id, n))[n]
    document = salary_document(uscc(n)) | {"employees": workers}
    return await submit(service, campaign_id, token, document)


async def submit_weighted(
    service: Service, campaign_id: int, weights: dict[str, float]
) -> list[tuple[float, float]]:
    """Enterprises 0 to 4 submit 3 to 9 workers of one occupation each (seeded): each pay
    with its enterprise's weight in ``weights`` (by credit code)."""
    rng = random.Random(3)
    pays: list[tuple[float, float]] = []
    for n in range(5):
        mine = [rng.randrange(30_000, 150_000, 10) for _ in range(rng.randint(3, 9))]
        await submit_workers(service, campaign_id, n, [worker("6-15-01-01", p) for p in mine])
        pays += [(p, weights[uscc(n)]) for p in mine]
    return pays


async def live_table(service: Service, campaign_id: int, **params: Any) -> dict[str, Any]:
    response = await service.client.get(
        URL.format(campaign_id), params=params, headers=service.admin
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def rows_by(body: dict[str, Any], *dims: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(r[d] for d in dims): r for r in body["rows"]}


# A seeded campaign: 12 enterprises in two districts, workers in a few occupations.
OCCUPATIONS = {  # code: how common
    "2-02-01-01": 10, "2-02-03-04": 10, "4-01-02-01": 12, "6-15-01-01": 30, "6-15-02-03": 20,
    "1-06-01-00": 1, "5-01-01-01": 1, "3-01-01-01": 3,
}  # fmt: skip
DISTRICTS = ("610202", "610204")


def seeded_workers(rng: random.Random) -> list[dict[str, Any]]:
    workers = []
    for _ in range(rng.randint(15, 40)):
        months = 12 if rng.random() < 0.8 else rng.randint(1, 11)
        occupation = rng.choices(list(OCCUPATIONS), list(OCCUPATIONS.values()))[0]
        pay = rng.randrange(20_000, 200_000, 10) * months // 12
        workers.append(worker(occupation, pay, months))
    return workers


async def seeded_campaign(
    service: Service, enterprises: int = 12, **campaign: Any
) -> tuple[int, list[dict[str, Any]]]:
    """The campaign and the flat list of what was submitted (one dict per worker)."""
    campaign_id = await create_campaign(service, **campaign)
    rng = random.Random(4)
    submitted = []
    for n in range(enterprises):
        district = DISTRICTS[n % 2]
        workers = seeded_workers(rng)
        await submit_workers(service, campaign_id, n, workers, district=district)
        submitted += [w | {"district": district, "enterprise": n} for w in workers]
    return campaign_id, submitted


def expected_figures(
    workers: list[dict[str, Any]], measure: str
) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (middle occupation, district) and margins: counts, numpy percentiles and mean."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for w in workers:
        if measure == "annual" and w["months_worked"] < 12:
            continue
        middle = w["occupation"][:4]
        for key in ((middle, w["district"]), (middle, "*"), ("*", w["district"]), ("*", "*")):
            groups[key].append(w)
    out = {}
    for key, members in groups.items():
        pay = np.array(
            [w["annual_pay"] if measure == "annual" else w["annual_pay"] / w["months_worked"]
             for w in members]
        )  # fmt: skip
        out[key] = {
            "n_workers": len(members),
            "n_enterprises": len({w["enterprise"] for w in members}),
            **{
                f"p{round(q * 100)}": round(float(np.quantile(pay, q, method="inverted_cdf")), 2)
                for q in QUANTILES
            },
            "mean": round(float(pay.mean()), 2),
        }
    return out


async def two_years(service: Service) -> tuple[int, int]:
    """Campaigns for 2022 and 2023 with the same eight enterprises; in 2023 everyone earns
    1,000 yuan less than in 2022. Occupation 2-02-01-01 has two enterprises (suppressed),
    4-01-02-01 is the smallest safe cell (suppressed with it), 6-15-01-01 is published."""
    earlier, later = await create_campaign(service, year=2022), await create_campaign(service)
    rng = random.Random(11)
    for n in range(8):
        jobs = ["6-15-01-01"] * 6 + ["4-01-02-01"] * 3 if n < 6 else ["2-02-01-01"] * 6
        pays = [(job, rng.randrange(40_000, 120_000, 10)) for job in jobs]
        await submit_workers(service, earlier, n, [worker(o, p) for o, p in pays])
        token = (await invite(service, later, n))[n]
        document = salary_document(uscc(n)) | {"employees": [worker(o, p - 1000) for o, p in pays]}
        await submit(service, later, token, document)
    return earlier, later


async def close_campaign(service: Service, campaign_id: int) -> None:
    """The campaign's window ends (there is no API to move it)."""
    async with service.db.transaction() as session:
        await session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(closes_at=datetime.now(UTC) - timedelta(minutes=1))
        )
