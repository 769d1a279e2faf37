"""``python -m survey_service demo`` through its command line, against the test database of
each backend (given as ``SURVEY_DATABASE_URL``, as an operator would), and what the API
shows afterwards."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from survey_service.db.models import PollResponse, Submission, WageRow
from tests.conftest import Service, run_cli
from tests.samples import enterprise

pytestmark = pytest.mark.slow  # seconds each; `pytest -m "not slow"` leaves them out


def _run_demo(service: Service, var_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(service, var_dir, "demo", *args)


async def _get(service: Service, path: str) -> Any:
    response = await service.client.get(path, headers=service.admin)
    assert response.status_code == 200, response.text
    return response.json()


async def test_demo_fills_an_empty_database_that_the_api_then_shows(
    service: Service, tmp_path: Path
) -> None:
    done = _run_demo(service, tmp_path, "--enterprises", "20", "--seed", "7")
    assert done.returncode == 0, done.stderr
    assert "20 enterprises" in done.stdout

    listed = await _get(service, "/api/v1/campaigns")
    kinds = {(c["form_key"], c["year"]): c for c in listed}
    assert set(kinds) == {
        ("salary-survey", 2022),
        ("salary-survey", 2023),
        ("worker-satisfaction", 2023),
        ("enterprise-self-assessment", 2023),
    }
    assert kinds[("salary-survey", 2022)]["is_open"] is False
    assert kinds[("salary-survey", 2023)]["is_open"] is True

    enterprises = await _get(service, "/api/v1/enterprises?limit=100")
    assert len(enterprises["items"]) == 20
    assert {e["district"] for e in enterprises["items"]} <= {
        "610202",
        "610203",
        "610204",
        "610222",
        "610271",
    }

    async with service.db.read() as session:
        answers = await session.scalar(select(func.count()).select_from(PollResponse))
        wage_rows = await session.scalar(select(func.count()).select_from(WageRow))
        submitted = {
            campaign_id: n
            for campaign_id, n in await session.execute(
                select(Submission.campaign_id, func.count())
                .where(Submission.status == "submitted")
                .group_by(Submission.campaign_id)
            )
        }
        surveyed = [
            len(data["employees"])
            for data in await session.scalars(
                select(Submission.data).where(
                    Submission.status == "submitted",
                    Submission.campaign_id.in_(
                        [kinds[("salary-survey", y)]["id"] for y in (2022, 2023)]
                    ),
                )
            )
        ]
    assert answers
    assert wage_rows == sum(surveyed) > 0

    salary = kinds[("salary-survey", 2023)]["id"]
    progress = await _get(service, f"/api/v1/campaigns/{salary}/progress")
    assert progress["overall"]["submitted"] == submitted[salary] > 0

    poll = kinds[("worker-satisfaction", 2023)]["id"]
    satisfaction = await _get(service, f"/api/v1/campaigns/{poll}/satisfaction?by=district")
    assert satisfaction["overall"]["respondents"] == answers
    assert satisfaction["overall"]["suppressed"] is False
    assert sum(g["respondents"] for g in satisfaction["groups"]) == answers

    assessment = kinds[("enterprise-self-assessment", 2023)]["id"]
    scores = await _get(service, f"/api/v1/campaigns/{assessment}/assessments")
    assert len(scores["enterprises"]) == submitted[assessment] > 0
    assert scores["city"]["enterprises"] == submitted[assessment]

    # Every campaign is released once, last year's closed, this year's during collection,
    # so an analyst reads the city at once.
    for key, campaign in kinds.items():
        releases = (await _get(service, f"/api/v1/campaigns/{campaign['id']}/releases"))["releases"]
        assert [r["number"] for r in releases] == [1], key
        assert releases[0]["during_collection"] is campaign["is_open"], key
    assert "release 1" in done.stdout

    participation = await _get(service, "/api/v1/participation?year=2023")
    assert participation["city"]["enterprises"] == 20
    assert 0 < participation["city"]["participating"] <= 20
    assert len(participation["missing"]) == 20 - participation["city"]["participating"]


async def test_demo_refuses_a_database_that_holds_data(service: Service, tmp_path: Path) -> None:
    response = await service.client.post(
        "/api/v1/enterprises", json=enterprise(1), headers=service.admin
    )
    assert response.status_code == 201, response.text
    refused = _run_demo(service, tmp_path, "--enterprises", "5")
    assert refused.returncode == 1
    assert "already holds 1 enterprises" in refused.stderr
    assert await _get(service, "/api/v1/campaigns") == []
