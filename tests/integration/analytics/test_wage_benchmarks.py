"""Wage reference tables through HTTP on SQLite and PostgreSQL: figures against an
independent computation from the submitted documents, disclosure control, who may ask for
what, downloads, year-on-year change, review and the differencing guard."""

from __future__ import annotations

import csv
import io
import math
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import select

from survey_service.analytics.wages import WageQuery, load_campaign, wage_table
from survey_service.db.models import AuditEntry
from tests.conftest import Service
from tests.samples import enterprise, salary_document, uscc

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
URL = "/api/v1/campaigns/{}/benchmarks/wages"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _campaign(service: Service, year: int = 2023, **extra: Any) -> int:
    now = datetime.now(UTC)
    response = await service.client.post(
        "/api/v1/campaigns",
        json={
            "form_key": "salary-survey",
            "title": f"{year}年企业薪酬调查",
            "year": year,
            "opens_at": (now - timedelta(days=1)).isoformat(),
            "closes_at": (now + timedelta(days=30)).isoformat(),
        }
        | extra,
        headers=service.admin,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _worker(occupation: str, pay: int, months: int = 12, **extra: Any) -> dict[str, Any]:
    return {"occupation": occupation, "months_worked": months, "annual_pay": pay} | extra


async def _submit(
    service: Service,
    campaign_id: int,
    n: int,
    workers: list[dict[str, Any]],
    **registry: Any,
) -> str:
    """Register enterprise ``n`` (registry fields as given), invite it and submit its
    workers; the submission's id."""
    response = await service.client.post(
        "/api/v1/enterprises", json=enterprise(n, **registry), headers=service.admin
    )
    assert response.status_code == 200, response.text
    invited = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/invitations",
        json={"enterprises": [uscc(n)]},
        headers=service.admin,
    )
    token = invited.json()[0]["token"]
    document = salary_document(uscc(n)) | {"employees": workers}
    response = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/submissions",
        json={"data": document, "status": "submitted"},
        headers=_bearer(token),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _table(service: Service, campaign_id: int, **params: Any) -> dict[str, Any]:
    response = await service.client.get(
        URL.format(campaign_id), params=params, headers=service.admin
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _rows(body: dict[str, Any], *dims: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(r[d] for d in dims): r for r in body["rows"]}


# A seeded campaign: 12 enterprises in two districts, workers in a few occupations.
OCCUPATIONS = ("2-02-01-01", "2-02-03-04", "4-01-02-01", "6-15-01-01", "6-15-02-03")
DISTRICTS = ("610202", "610204")


def _seeded_workers(rng: random.Random) -> list[dict[str, Any]]:
    workers = []
    for _ in range(rng.randint(15, 40)):
        months = 12 if rng.random() < 0.8 else rng.randint(1, 11)
        workers.append(
            _worker(rng.choice(OCCUPATIONS), rng.randrange(20_000, 200_000, 10) * months // 12,
                    months)
        )  # fmt: skip
    return workers


async def _seeded_campaign(service: Service, **campaign: Any) -> tuple[int, list[dict[str, Any]]]:
    """The campaign and the flat list of what was submitted (one dict per worker)."""
    campaign_id = await _campaign(service, **campaign)
    rng = random.Random(4)
    submitted = []
    for n in range(12):
        district = DISTRICTS[n % 2]
        workers = _seeded_workers(rng)
        await _submit(service, campaign_id, n, workers, district=district)
        submitted += [w | {"district": district, "enterprise": n} for w in workers]
    return campaign_id, submitted


def _expected(workers: list[dict[str, Any]], measure: str) -> dict[tuple[str, str], dict[str, Any]]:
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


@pytest.mark.parametrize("measure", ["annual", "monthly"])
async def test_figures_match_an_independent_computation(service: Service, measure: str) -> None:
    campaign_id, workers = await _seeded_campaign(service)
    body = await _table(
        service, campaign_id, by="occupation_middle,district", measure=measure, suppress="false"
    )
    got = _rows(body, "occupation_middle", "district")
    expected = _expected(workers, measure)
    assert set(got) == set(expected)
    for key, figures in expected.items():
        assert {k: got[key][k] for k in figures} == figures, key
    assert body["rules"]["measure"] == measure
