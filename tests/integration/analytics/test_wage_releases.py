"""Wage releases through HTTP on SQLite and PostgreSQL: making, listing and reading them,
what analysts may read (a release, never the live data), that a release does not move when
data comes in late, that its downloads carry it (number, date, hash) and agree with each
other, and that its published figures are the submitted data's."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
from datetime import datetime
from typing import Any

import msgspec
import numpy as np
import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select

from survey_service.analytics import releases
from survey_service.db.models import AuditEntry, Release
from tests.conftest import Service
from tests.factories import bearer, create_campaign
from tests.integration.analytics.release_helpers import release
from tests.integration.analytics.wage_helpers import (
    QUANTILES,
    URL,
    close_campaign,
    expected_figures,
    rows_by,
    seeded_campaign,
    submit_weighted,
    submit_workers,
    two_years,
    worker,
)
from tests.samples import uscc

RELEASES = "/api/v1/campaigns/{}/releases"
BY = "occupation_middle,district"


async def _analyst(service: Service) -> dict[str, str]:
    return bearer(await service.token("analyst", label="union analyst"))


async def _get(service: Service, campaign_id: int, headers: dict[str, str], **params: Any) -> Any:
    response = await service.client.get(URL.format(campaign_id), params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response


async def test_a_release_is_made_listed_and_read(service: Service) -> None:
    campaign_id, workers = await seeded_campaign(service)
    first = await release(service, campaign_id, note="初步结果")
    assert (first["campaign_id"], first["number"], first["kind"]) == (campaign_id, 1, "wages")
    assert first["during_collection"] is True
    assert len(first["content_hash"]) == 64
    assert first["summary"]["workers"] == len(workers)
    assert first["summary"]["enterprises"] == 12
    assert first["rules"]["min_enterprises"] == 3
    second = await release(service, campaign_id)
    assert second["number"] == 2
    analyst = await _analyst(service)
    listed = await service.client.get(RELEASES.format(campaign_id), headers=analyst)
    assert listed.status_code == 200
    assert [r["number"] for r in listed.json()["releases"]] == [2, 1]
    one = await service.client.get(f"{RELEASES.format(campaign_id)}/1", headers=analyst)
    assert one.json() == first
    missing = await service.client.get(f"{RELEASES.format(campaign_id)}/3", headers=analyst)
    assert missing.status_code == 404
    async with service.db.read() as session:
        audited = await session.scalar(
            select(func.count()).where(AuditEntry.action == "release.create")
        )
    assert audited == 2


async def test_an_open_campaign_is_released_only_during_collection(service: Service) -> None:
    campaign_id, _ = await seeded_campaign(service)
    refused = await service.client.post(
        RELEASES.format(campaign_id), json={}, headers=service.admin
    )
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "during_collection" in refused.json()["detail"]
    await close_campaign(service, campaign_id)
    closed = await release(service, campaign_id, during_collection=False)
    assert closed["during_collection"] is False
    # The flag allows an open campaign's release; the release says what the campaign was.
    assert (await release(service, campaign_id))["during_collection"] is False


async def test_a_campaign_with_nothing_counted_is_not_released(service: Service) -> None:
    campaign_id = await create_campaign(service)
    empty = await service.client.post(
        RELEASES.format(campaign_id), json={"during_collection": True}, headers=service.admin
    )
    assert empty.status_code == 422
    assert "no counted" in empty.json()["detail"]
    poll = await create_campaign(service, "worker-satisfaction", title="满意度", campaign_year=None)
    unanswered = await service.client.post(
        RELEASES.format(poll), json={"during_collection": True}, headers=service.admin
    )
    assert unanswered.status_code == 422
    missing = await service.client.post(RELEASES.format(9999), json={}, headers=service.admin)
    assert missing.status_code == 404


async def test_analysts_read_releases_only(service: Service) -> None:
    campaign_id, _ = await seeded_campaign(service)
    analyst = await _analyst(service)
    url = URL.format(campaign_id)
    unreleased = await service.client.get(url, params={"by": "district"}, headers=analyst)
    assert unreleased.status_code == 409
    assert unreleased.json()["detail"] == f"campaign {campaign_id} has no release yet"
    admin_live = (await _get(service, campaign_id, service.admin, by="district")).json()
    assert admin_live["meta"]["release"] is None
    await release(service, campaign_id)
    released = (await _get(service, campaign_id, analyst, by="district")).json()
    assert released["meta"]["release"]["number"] == 1
    live = await service.client.get(url, params={"release": "live"}, headers=analyst)
    assert live.status_code == 403
    unsuppressed = await service.client.get(url, params={"suppress": "false"}, headers=analyst)
    assert unsuppressed.status_code == 403
    for bad in ("0", "abc", "-1", "99999999999"):
        answer = await service.client.get(url, params={"release": bad}, headers=analyst)
        assert answer.status_code == 400, bad
    assert (
        await service.client.get(url, params={"release": "7"}, headers=analyst)
    ).status_code == 404
    protected = await service.client.get(
        url, params={"release": "1", "suppress": "false"}, headers=service.admin
    )
    assert protected.status_code == 400
    # The admin's live view, unsuppressed, is still there (and audited).
    raw = await _get(service, campaign_id, service.admin, release="live", suppress="false")
    assert not any(row["suppressed"] for row in raw.json()["rows"])
    async with service.db.read() as session:
        audited = await session.scalar(
            select(func.count()).where(AuditEntry.action == "benchmark.wages.unsuppressed")
        )
    assert audited == 1


async def test_hidden_cells_give_analysts_one_reason_and_admins_the_rule(service: Service) -> None:
    campaign_id, _ = await seeded_campaign(service)
    await release(service, campaign_id)
    analyst = rows_by((await _get(service, campaign_id, await _analyst(service), by=BY)).json(),
                    "occupation_middle", "district")  # fmt: skip
    admin = rows_by((await _get(service, campaign_id, service.admin, by=BY)).json(),
                  "occupation_middle", "district")  # fmt: skip
    hidden = [key for key, row in analyst.items() if row["suppressed"]]
    assert hidden, "the seeded data has small cells"
    for key, row in analyst.items():
        assert admin[key]["suppressed"] == row["suppressed"]
        if row["suppressed"]:
            assert row["suppression_reason"] == "confidential"
            assert all(row[k] is None for k in ("n_workers", "n_enterprises", "p50", "mean"))
            assert admin[key]["suppression_reason"] not in (None, "confidential")
        else:
            assert row == admin[key]
    # One enterprise's occupation (1-06, a single manager) is never published.
    assert all(row["suppressed"] for key, row in analyst.items() if key[0] == "1-06")


@pytest.mark.parametrize("measure", ["annual", "monthly"])
async def test_published_figures_equal_an_independent_computation(
    service: Service, measure: str
) -> None:
    # Enough enterprises that cells survive the protection of every table of the release.
    campaign_id, workers = await seeded_campaign(service, enterprises=40)
    await release(service, campaign_id)
    body = (
        await _get(service, campaign_id, await _analyst(service), by=BY, measure=measure)
    ).json()
    got = rows_by(body, "occupation_middle", "district")
    expected = expected_figures(workers, measure)
    assert set(got) == set(expected)
    published = [key for key, row in got.items() if not row["suppressed"]]
    assert published, "some cells are safe"
    for key in published:
        assert {k: got[key][k] for k in expected[key]} == expected[key], key
    assert body["rules"]["measure"] == measure
    assert body["meta"]["method"] == "release"


async def test_a_release_does_not_move_when_surveys_come_in_late(service: Service) -> None:
    campaign_id, workers = await seeded_campaign(service)
    made = await release(service, campaign_id)
    analyst = await _analyst(service)

    async def downloads() -> tuple[dict[str, Any], bytes, list[list[Any]]]:
        body = (await _get(service, campaign_id, analyst, by=BY)).json()
        body["meta"].pop("generated_at")
        csv_bytes = (await _get(service, campaign_id, analyst, by=BY, format="csv")).content
        xlsx = (await _get(service, campaign_id, analyst, by=BY, format="xlsx")).content
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(xlsx)).get_sheet_by_name("工资价位")
        return body, csv_bytes, sheet.to_python()

    before = await downloads()
    # Three enterprises late, alike: what changed passes the rules (so the next release
    # may publish it; one enterprise alone would be hidden as a change).
    for n in (40, 41, 42):
        await submit_workers(
            service, campaign_id, n, [worker("6-15-01-01", 99_000 + i) for i in range(20)]
        )
    after = await downloads()
    assert after == before
    body, csv_bytes, sheet = after
    assert body["meta"]["release"]["content_hash"] == made["content_hash"]
    # JSON, CSV and XLSX say the same.
    lines = list(csv.reader(io.StringIO(csv_bytes.decode("utf-8-sig"))))
    assert lines[0] == sheet[0]
    assert len(lines) == len(sheet) == len(body["rows"]) + 1
    p50 = lines[0].index("中位数(P50)")
    workers_column = lines[0].index("职工人数")
    for row, line, cells in zip(body["rows"], lines[1:], sheet[1:], strict=True):
        assert line[0] == cells[0] == row["occupation_middle"]
        if row["suppressed"]:
            assert line[p50] == cells[p50] == ""
        else:
            assert float(line[p50]) == cells[p50] == row["p50"]
            assert int(line[workers_column]) == cells[workers_column] == row["n_workers"]

    # The admin's live view has the late survey; the next release too.
    def everyone(body: dict[str, Any]) -> int:
        count: int = rows_by(body, "district")[("*",)]["n_workers"]
        return count

    live = await _get(service, campaign_id, service.admin, by="district", release="live")
    total = len([w for w in workers if w["months_worked"] >= 12]) + 60
    assert everyone(live.json()) == total
    await release(service, campaign_id)
    latest = (await _get(service, campaign_id, analyst, by="district")).json()
    assert latest["meta"]["release"]["number"] == 2
    assert everyone(latest) == total
    first = (await _get(service, campaign_id, analyst, by="district", release="1")).json()
    assert everyone(first) == total - 60


async def test_every_download_names_its_release(service: Service) -> None:
    campaign_id, _ = await seeded_campaign(service)
    made = await release(service, campaign_id)
    analyst = await _analyst(service)
    body = (await _get(service, campaign_id, analyst, by="district")).json()
    assert body["meta"]["release"] == {
        "number": 1,
        "created_at": datetime.fromisoformat(made["created_at"]).isoformat(timespec="seconds"),
        "content_hash": made["content_hash"],
        "during_collection": True,
    }
    csv_download = await _get(service, campaign_id, analyst, by="district", format="csv")
    disposition = csv_download.headers["content-disposition"]
    assert f'filename="wages-2023-{campaign_id}-r1.csv"' in disposition
    xlsx = await _get(service, campaign_id, analyst, by="district", format="xlsx")
    assert f"wages-2023-{campaign_id}-r1.xlsx" in xlsx.headers["content-disposition"]
    book = CalamineWorkbook.from_filelike(io.BytesIO(xlsx.content))
    notes = dict((r[0], r[1]) for r in book.get_sheet_by_name("说明").to_python()[1:])
    assert notes["发布版本"] == "第1版"
    assert notes["内容校验值(SHA-256)"] == made["content_hash"]
    assert notes["发布时间"] == body["meta"]["release"]["created_at"]
    assert notes["采集期间发布"].startswith("是")
    # The hash is the sha256 of the stored data and the rules as canonical JSON.
    async with service.db.read() as session:
        row = await session.scalar(select(Release).where(Release.campaign_id == campaign_id))
    assert row is not None
    digest = hashlib.sha256(row.data + msgspec.json.encode(row.rules, order="sorted"))
    assert digest.hexdigest() == made["content_hash"]


async def test_a_failure_while_writing_leaves_the_previous_release_serving(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_id, _ = await seeded_campaign(service)
    await release(service, campaign_id)
    analyst = await _analyst(service)
    before = (await _get(service, campaign_id, analyst, by=BY)).json()
    await submit_workers(
        service, campaign_id, 40, [worker("6-15-01-01", 99_000 + i) for i in range(20)]
    )

    def fail(row: Release) -> Any:
        raise RuntimeError("the disk went away after the row was written")

    monkeypatch.setattr(releases, "release_info", fail)  # runs after the row's INSERT
    failed = await service.client.post(
        RELEASES.format(campaign_id), json={"during_collection": True}, headers=service.admin
    )
    assert failed.status_code == 500
    monkeypatch.undo()
    async with service.db.read() as session:
        numbers = list(await session.scalars(select(Release.number)))
    assert numbers == [1]
    listed = await service.client.get(RELEASES.format(campaign_id), headers=analyst)
    assert [r["number"] for r in listed.json()["releases"]] == [1]
    after = (await _get(service, campaign_id, analyst, by=BY)).json()
    assert after["rows"] == before["rows"]
    assert after["meta"]["release"] == before["meta"]["release"]
    assert (await release(service, campaign_id))["number"] == 2


async def test_releases_made_at_once_get_their_own_numbers(service: Service) -> None:
    campaign_id, _ = await seeded_campaign(service)
    answers = await asyncio.gather(
        *(
            service.client.post(
                RELEASES.format(campaign_id), json={"during_collection": True},
                headers=service.admin,
            )
            for _ in range(3)
        )
    )  # fmt: skip
    assert sorted(a.json()["number"] for a in answers if a.status_code == 201) == [1, 2, 3]


async def test_a_table_the_release_does_not_answer_is_refused_with_the_reason(
    service: Service,
) -> None:
    campaign_id, _ = await seeded_campaign(service)
    await release(service, campaign_id)
    response = await service.client.get(
        URL.format(campaign_id), params={"by": "occupation,district,size_class"},
        headers=await _analyst(service),
    )  # fmt: skip
    assert response.status_code == 400
    assert "release 1" in response.json()["detail"]


async def test_year_on_year_comes_from_last_years_release(service: Service) -> None:
    earlier, later = await two_years(service)
    await release(service, earlier)
    await release(service, later)
    analyst = await _analyst(service)
    body = (await _get(service, later, analyst, by="occupation")).json()
    rows = rows_by(body, "occupation")
    assert body["meta"]["previous_campaign"]["release"] == 1
    published = rows[("6-15-01-01",)]
    assert published["suppressed"] is False
    assert (published["p50_change"], published["mean_change"]) == (-1000, -1000)
    for row in rows.values():
        if row["suppressed"]:
            assert row["p50_change"] is None
            assert row["mean_change_pct"] is None
    # Surveys reaching last year's campaign after its release change nothing here.
    for n in range(20, 23):
        await submit_workers(service, earlier, n, [worker("6-15-01-01", 500_000 + n)] * 5)
    again = (await _get(service, later, analyst, by="occupation")).json()
    assert again["rows"] == body["rows"]


async def test_analysts_never_see_the_enterprise_weights(service: Service) -> None:
    campaign_id = await create_campaign(service, settings={"enterprise_weights": {"x": 2.0}})
    analyst = await _analyst(service)
    for headers, shown in ((analyst, False), (service.admin, True)):
        one = await service.client.get(f"/api/v1/campaigns/{campaign_id}", headers=headers)
        assert ("enterprise_weights" in one.json()["settings"]) is shown
        listed = await service.client.get("/api/v1/campaigns", headers=headers)
        assert ("enterprise_weights" in listed.json()[0]["settings"]) is shown


async def test_weighted_tables_of_a_release_follow_the_frozen_weights(service: Service) -> None:
    weights = {uscc(n): w for n, w in enumerate((1.0, 2.5, 0.5, 4.0, 1.25))}
    open_rules = {"min_enterprises": 1, "min_workers": 1, "p_percent": 0}
    campaign_id = await create_campaign(
        service, settings={"enterprise_weights": weights, "disclosure": open_rules}
    )
    pays = await submit_weighted(service, campaign_id, weights)
    made = await release(service, campaign_id)
    assert made["rules"]["weighted"] is True
    assert "enterprise_weights" not in str(made)
    values = np.array([p for p, _ in pays], dtype=float)
    w = np.array([x for _, x in pays])
    analyst = await _analyst(service)
    body = (await _get(service, campaign_id, analyst, by="occupation")).json()
    row = body["rows"][0]
    assert row["suppressed"] is False
    for q in QUANTILES:
        expected = float(np.quantile(values, q, weights=w, method="inverted_cdf"))
        assert row[f"p{round(q * 100)}"] == expected
    assert row["mean"] == round(float(np.average(values, weights=w)), 2)
    assert body["rules"]["weights"]["enterprises_without_weight"] == 0
    plain = (await _get(service, campaign_id, analyst, by="occupation", weighted="false")).json()
    assert plain["rows"][0]["p50"] == float(np.quantile(values, 0.5, method="inverted_cdf"))
    assert plain["rules"]["weights"] is None


@pytest.mark.parametrize(
    "params",
    [
        {"by": BY},
        {"by": "industry,size_class", "measure": "monthly"},
        {"by": "occupation_major", "district": "610204"},
        {"by": "occupation_detailed", "industry": "C"},
        {"by": "industry_division"},
        {"by": "education"},
        {"by": "district,occupation_minor"},
    ],
)
async def test_a_fresh_release_publishes_the_live_figures(
    service: Service, params: dict[str, str]
) -> None:
    """The release's tables are cut from its columns with numpy; the live ones are grouped
    by SQL expressions (or numpy over SQL rows): the same cells, the same figures."""
    campaign_id, _ = await seeded_campaign(service)
    await release(service, campaign_id)
    released = (await _get(service, campaign_id, service.admin, **params)).json()
    live = (await _get(service, campaign_id, service.admin, release="live", suppress="false",
                       **params)).json()  # fmt: skip
    assert released["meta"]["release"]["number"] == 1
    figures = ("n_enterprises", "n_workers", "p10", "p25", "p50", "p75", "p90", "mean")
    assert len(released["rows"]) == len(live["rows"])
    for mine, theirs in zip(released["rows"], live["rows"], strict=True):
        assert {k: v for k, v in mine.items() if k not in figures and "suppress" not in k} == {
            k: v for k, v in theirs.items() if k not in figures and "suppress" not in k
        }
        if not mine["suppressed"]:
            assert {k: mine[k] for k in figures} == {k: theirs[k] for k in figures}


async def test_two_releases_do_not_give_a_late_enterprise_away(service: Service) -> None:
    """One enterprise's survey between two releases: no cell published by both differs
    (the difference would be that enterprise's figures)."""
    campaign_id, _ = await seeded_campaign(service)
    await release(service, campaign_id)
    await submit_workers(
        service, campaign_id, 40, [worker("6-15-01-01", 99_000 + i) for i in range(20)]
    )
    await release(service, campaign_id)
    analyst = await _analyst(service)
    for by in ("district", "occupation_middle", BY):
        dims = by.split(",")
        first = rows_by(
            (await _get(service, campaign_id, analyst, by=by, release="1")).json(), *dims
        )
        second = rows_by(
            (await _get(service, campaign_id, analyst, by=by, release="2")).json(), *dims
        )
        for key, row in second.items():
            old = first.get(key)
            if old is not None and not old["suppressed"] and not row["suppressed"]:
                assert row == old, (by, key)
        assert second[("*",) * len(dims)]["suppressed"] is True
