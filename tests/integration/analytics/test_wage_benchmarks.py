"""Wage reference tables through HTTP on SQLite and PostgreSQL: figures against an
independent computation from the submitted documents, disclosure control, who may ask for
what, downloads, year-on-year change, review and the differencing guard."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from typing import Any

import numpy as np
import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import select, update

from survey_service.analytics.wages import WageQuery, load_campaign, wage_table
from survey_service.db.models import AuditEntry, Campaign
from survey_service.reference.codes import occupations
from tests.conftest import Service
from tests.factories import bearer, create_campaign, invited, post_campaign
from tests.integration.analytics.release_helpers import release
from tests.integration.analytics.wage_helpers import (
    QUANTILES,
    URL,
    expected_figures,
    live_table,
    rows_by,
    seeded_campaign,
    submit_weighted,
    submit_workers,
    two_years,
    worker,
)
from tests.samples import uscc


@pytest.mark.parametrize("measure", ["annual", "monthly"])
async def test_figures_match_an_independent_computation(service: Service, measure: str) -> None:
    campaign_id, workers = await seeded_campaign(service)
    body = await live_table(
        service, campaign_id, by="occupation_middle,district", measure=measure, suppress="false"
    )
    got = rows_by(body, "occupation_middle", "district")
    expected = expected_figures(workers, measure)
    assert set(got) == set(expected)
    for key, figures in expected.items():
        assert {k: got[key][k] for k in figures} == figures, key
    assert body["rules"]["measure"] == measure


def _primary_unsafe(workers: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """Cells failing the default thresholds or the p% rule (p = 10), computed directly."""
    groups: dict[tuple[str, str], dict[int, float]] = defaultdict(lambda: defaultdict(float))
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for w in workers:
        if w["months_worked"] < 12:
            continue
        middle = w["occupation"][:4]
        for key in ((middle, w["district"]), (middle, "*"), ("*", w["district"]), ("*", "*")):
            groups[key][w["enterprise"]] += w["annual_pay"]
            counts[key] += 1
    unsafe = set()
    for key, by_enterprise in groups.items():
        shares = [*sorted(by_enterprise.values(), reverse=True), 0.0, 0.0]
        total = sum(shares)
        if (
            len(by_enterprise) < 3
            or counts[key] < 10
            or total - shares[0] - shares[1] < 0.1 * shares[0]
        ):
            unsafe.add(key)
    return unsafe


async def test_unsafe_cells_are_suppressed_without_figures(service: Service) -> None:
    campaign_id, workers = await seeded_campaign(service)
    body = await live_table(service, campaign_id, by="occupation_middle,district")
    got = rows_by(body, "occupation_middle", "district")
    expected = expected_figures(workers, "annual")
    unsafe = _primary_unsafe(workers)
    assert unsafe, "the seeded data should have small cells"
    suppressed = {key for key, row in got.items() if row["suppressed"]}
    assert unsafe <= suppressed
    for key, row in got.items():
        if row["suppressed"]:
            assert row["suppression_reason"] is not None
            assert all(row[k] is None for k in ("n_workers", "n_enterprises", "p50", "mean"))
        else:
            assert {k: row[k] for k in expected[key]} == expected[key]
    # Every line (a margin and its cells) has 0 or at least 2 suppressed cells.
    for key in got:
        for d in (0, 1):
            if key[d] != "*":
                continue
            line = [k for k in got if k[1 - d] == key[1 - d]]
            assert sum(got[k]["suppressed"] for k in line) != 1, line
    assert body["rules"]["min_enterprises"] == 3
    assert body["rules"]["min_workers"] == 10
    assert body["rules"]["p_percent"] == 10


async def test_thresholds_come_from_the_campaign_settings(service: Service) -> None:
    rules = {"min_enterprises": 1, "min_workers": 1, "p_percent": 0}
    campaign_id = await create_campaign(service, settings={"disclosure": rules})
    await submit_workers(service, campaign_id, 1, [worker("2-02-01-01", 90_000)])
    body = await live_table(service, campaign_id, by="occupation")
    assert [r["suppressed"] for r in body["rows"]] == [False, False]
    assert body["rows"][0]["p50"] == 90_000
    assert body["rules"]["min_enterprises"] == 1


async def test_unusable_disclosure_settings_are_refused_and_reported(service: Service) -> None:
    refused = await post_campaign(
        service,
        campaign_year=None,
        window={"opens_at": "2023-01-01", "closes_at": "2023-12-31"},
        settings={"disclosure": {"min_workers": 0}},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["path"] == "/settings/disclosure/min_workers"
    # Settings stored before they were checked at creation are still reported per table.
    campaign_id = await create_campaign(service)
    async with service.db.transaction() as session:
        await session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(settings={"disclosure": {"min_workers": 0}})
        )
    response = await service.client.get(URL.format(campaign_id), headers=service.admin)
    assert response.status_code == 422
    assert "disclosure" in response.json()["detail"]


async def test_enterprises_of_one_group_count_as_one(service: Service) -> None:
    campaign_id = await create_campaign(service)
    for n in range(3):
        group = {"group_key": "铜川煤业集团"} if n < 2 else {}
        await submit_workers(
            service, campaign_id, n, [worker("6-16-01-01", 60_000 + i * 100) for i in range(6)],
            **group,
        )  # fmt: skip
    row = (await live_table(service, campaign_id, by="occupation"))["rows"][0]
    assert (row["suppressed"], row["suppression_reason"]) == (True, "min_enterprises")
    unsuppressed = (await live_table(service, campaign_id, by="occupation", suppress="false"))[
        "rows"
    ]
    assert unsuppressed[0]["n_enterprises"] == 2
    assert unsuppressed[0]["n_workers"] == 18


async def test_admin_may_see_unsuppressed_figures_and_it_is_audited(service: Service) -> None:
    campaign_id, _ = await seeded_campaign(service)
    body = await live_table(service, campaign_id, by="occupation_middle,district", suppress="false")
    assert not any(r["suppressed"] for r in body["rows"])
    assert body["rules"]["suppression"] is False
    async with service.db.read() as session:
        entries = list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "benchmark.wages.unsuppressed")
            )
        )
    assert [e.target for e in entries] == [f"campaign:{campaign_id}"]
    assert entries[0].actor_role == "admin"
    assert entries[0].detail["by"] == ["occupation_middle", "district"]


async def test_analyst_gets_suppressed_tables_only(service: Service) -> None:
    campaign_id, _ = await seeded_campaign(service)
    await release(service, campaign_id)
    analyst = bearer(await service.token("analyst", label="union analyst"))
    url = URL.format(campaign_id)
    ok = await service.client.get(url, params={"by": "district"}, headers=analyst)
    assert ok.status_code == 200
    refused = await service.client.get(url, params={"suppress": "false"}, headers=analyst)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")


async def test_enterprise_tokens_and_anonymous_callers_are_refused(service: Service) -> None:
    campaign_id, token = await invited(service)
    url = URL.format(campaign_id)
    assert (await service.client.get(url, headers=bearer(token))).status_code == 403
    assert (await service.client.get(url)).status_code == 401


async def test_unknown_dimension_and_campaign_are_reported(service: Service) -> None:
    campaign_id = await create_campaign(service)
    bad = await service.client.get(
        URL.format(campaign_id), params={"by": "salary"}, headers=service.admin
    )
    assert bad.status_code == 400
    assert "salary" in bad.json()["detail"]
    bad_code = await service.client.get(
        URL.format(campaign_id), params={"occupation": "x-1"}, headers=service.admin
    )
    assert bad_code.status_code == 400
    missing = await service.client.get(URL.format(9999), headers=service.admin)
    assert missing.status_code == 404


async def test_only_accepted_surveys_count_when_the_campaign_requires_review(
    service: Service,
) -> None:
    campaign_id = await create_campaign(service, requires_review=True)
    ids = [
        await submit_workers(service, campaign_id, n, [worker("6-15-01-01", 50_000 + n)] * 4)
        for n in range(4)
    ]
    for sid in ids[:3]:
        response = await service.client.post(
            f"/api/v1/submissions/{sid}/review", json={"state": "accepted"}, headers=service.admin
        )
        assert response.status_code == 200
    total = (await live_table(service, campaign_id, by="occupation", suppress="false"))["rows"][-1]
    assert (total["occupation"], total["n_enterprises"], total["n_workers"]) == ("*", 3, 12)
    await service.client.post(
        f"/api/v1/submissions/{ids[3]}/review",
        json={"state": "returned", "reason": "缺少岗位信息"},
        headers=service.admin,
    )
    again = (await live_table(service, campaign_id, by="occupation", suppress="false"))["rows"][-1]
    assert again["n_enterprises"] == 3


async def test_year_on_year_change_where_both_years_publish(service: Service) -> None:
    earlier, later = await two_years(service)
    before = rows_by(await live_table(service, earlier, by="occupation"), "occupation")
    body = await live_table(service, later, by="occupation")
    rows = rows_by(body, "occupation")
    assert body["meta"]["previous_campaign"]["year"] == 2022
    published = rows[("6-15-01-01",)]
    assert published["suppressed"] is False
    assert published["p50_change"] == -1000
    assert published["mean_change"] == -1000
    old = before[("6-15-01-01",)]
    assert published["p50_change_pct"] == round(-1000 / old["p50"] * 100, 2)
    small = rows[("2-02-01-01",)]  # two enterprises: suppressed both years
    assert small["suppressed"] is True
    assert small["p50_change"] is None
    first_year = rows_by(await live_table(service, earlier, by="occupation"), "occupation")
    assert first_year[("6-15-01-01",)]["p50_change"] is None


async def test_csv_download_is_excel_ready_and_parses_back(service: Service) -> None:
    _, later = await two_years(service)
    body = await live_table(service, later, by="occupation")
    response = await service.client.get(
        URL.format(later), params={"by": "occupation", "format": "csv"}, headers=service.admin
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, data = lines[0], lines[1:]
    assert header[:4] == ["职业代码", "职业名称", "企业数", "职工人数"]
    assert len(data) == len(body["rows"])
    by_code = {line[0]: dict(zip(header, line, strict=True)) for line in data}
    published = by_code["6-15-01-01"]
    assert float(published["中位数(P50)"]) == rows_by(body, "occupation")[("6-15-01-01",)]["p50"]
    assert published["中位数同比增减"] == "-1000.00"  # a number (yuan and fen), not a formula
    assert published["职业名称"] == f"6-15-01-01（属“{occupations()['6-15'].name}”中类）"
    assert by_code["2-02-01-01"]["是否保密"] == "是"
    assert by_code["2-02-01-01"]["中位数(P50)"] == ""
    assert by_code["*"]["职业名称"] == "合计"
    accept = await service.client.get(
        URL.format(later), headers=service.admin | {"Accept": "text/csv"}
    )
    assert accept.content.startswith(b"\xef\xbb\xbf")


async def test_xlsx_download_reads_back_with_its_notes(service: Service) -> None:
    _, later = await two_years(service)
    body = await live_table(service, later, by="occupation,district")
    response = await service.client.get(
        URL.format(later), params={"by": "occupation,district", "format": "xlsx"},
        headers=service.admin,
    )  # fmt: skip
    assert response.status_code == 200
    assert "spreadsheetml" in response.headers["content-type"]
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    assert book.sheet_names == ["工资价位", "说明"]
    sheet = book.get_sheet_by_name("工资价位").to_python()
    header, data = sheet[0], sheet[1:]
    assert header[:4] == ["职业代码", "职业名称", "区县代码", "区县名称"]
    assert len(data) == len(body["rows"])
    for line, row in zip(data, body["rows"], strict=True):
        assert line[0] == row["occupation"]
        if row["suppressed"]:
            assert line[header.index("中位数(P50)")] == ""
        else:
            assert line[header.index("中位数(P50)")] == row["p50"]
            assert line[header.index("职工人数")] == row["n_workers"]
    notes = dict((r[0], r[1]) for r in book.get_sheet_by_name("说明").to_python()[1:])
    assert "逆累积分布" in notes["百分位数定义"]
    assert "少于3家" in notes["保密规则"]
    assert notes["数据截至"] == body["meta"]["data_as_of"]


async def test_differencing_two_filtered_queries_does_not_isolate_a_small_enterprise(
    service: Service,
) -> None:
    """Three large enterprises and one small one in Wangyi: the Wangyi total minus the
    Wangyi large-enterprise figure would be the small enterprise's three workers."""
    campaign_id = await create_campaign(service)
    for n in range(3):
        await submit_workers(
            service, campaign_id, n, [worker("6-15-01-01", 60_000 + 500 * i) for i in range(10)],
            size_class="large",
        )  # fmt: skip
    await submit_workers(
        service, campaign_id, 3, [worker("6-15-01-01", 48_000 + i) for i in range(3)],
        size_class="small",
    )  # fmt: skip
    district = await live_table(service, campaign_id, by="occupation", district="610202")
    large = await live_table(
        service, campaign_id, by="occupation", district="610202", size_class="large"
    )
    whole = rows_by(district, "occupation")[("6-15-01-01",)]
    assert whole["suppressed"] is False
    assert whole["n_workers"] == 33
    for row in large["rows"]:
        assert row["size_class"] == "large"
        assert row["district"] == "610202"
        assert row["suppressed"] is True
    published = [r for r in district["rows"] + large["rows"] if not r["suppressed"]]
    sizes = {r["n_workers"] for r in published}
    assert not any(a - b == 3 for a in sizes for b in sizes)
    small = await live_table(
        service, campaign_id, by="occupation", district="610202", size_class="small"
    )
    assert all(r["suppressed"] for r in small["rows"])


async def test_weighted_figures_follow_the_enterprise_weights(service: Service) -> None:
    weights = {uscc(n): w for n, w in enumerate((1.0, 2.5, 0.5, 4.0, 1.25))}
    campaign_id = await create_campaign(service, settings={"enterprise_weights": weights})
    pays = await submit_weighted(service, campaign_id, weights)
    values = np.array([p for p, _ in pays], dtype=float)
    w = np.array([x for _, x in pays])
    body = await live_table(service, campaign_id, by="occupation", suppress="false")
    row = body["rows"][0]
    for q in QUANTILES:
        expected = float(np.quantile(values, q, weights=w, method="inverted_cdf"))
        assert row[f"p{round(q * 100)}"] == expected
    assert row["mean"] == round(float(np.average(values, weights=w)), 2)
    assert body["rules"]["weights"]["enterprises_without_weight"] == 0
    assert body["meta"]["method"] == "numpy"
    plain = await live_table(
        service, campaign_id, by="occupation", suppress="false", weighted="false"
    )
    assert plain["rows"][0]["p50"] == float(np.quantile(values, 0.5, method="inverted_cdf"))
    assert plain["rules"]["weights"] is None


async def test_sql_and_numpy_paths_give_identical_tables(service: Service) -> None:
    if service.db.is_sqlite:
        pytest.skip("the SQL path is PostgreSQL's")
    campaign_id, _ = await seeded_campaign(service)
    queries = [
        WageQuery(["occupation_middle", "district"]),
        WageQuery(["occupation", "industry"], measure="monthly"),
        WageQuery(["occupation_major"], {"district": "610204"}, suppress=False),
        WageQuery([]),
    ]
    async with service.db.read() as session:
        campaign = await load_campaign(session, campaign_id)
        assert campaign is not None
        for query in queries:
            sql = await wage_table(session, campaign, query, method="sql")
            numpy = await wage_table(session, campaign, query, method="numpy")
            assert sql.meta["method"] == "sql"
            assert sql.rows == numpy.rows
            assert sql.rows
