"""Disclosure control of the wage tables under hypothesis, end to end: random small
campaigns (a few enterprises, some of one group, in three districts; workers in four
occupations with random pay and months; random thresholds, p% and dominance rules) are
stored as wage rows, and ``analytics.wages.wage_table`` is asked for tables over
occupation x district, district alone, and occupation filtered to one district, on SQLite
(numpy) and PostgreSQL (SQL). Against figures computed here from the generated workers:

- every published cell meets every rule (contributors, workers, p%, dominance) and its
  counts are the true ones;
- a suppressed cell carries no figure, in the rows and in the CSV download;
- no suppressed cell's count or total follows from the published cells and margins
  (exact elimination over the rationals, the attacker's computation);
- a filtered table is exactly the matching slice of the unfiltered table over
  ``by + filter`` (so subtracting two queries subtracts cells of one protected table).

(tests/unit/test_disclosure.py checks the suppression functions alone.)
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from survey_service.analytics import exports
from survey_service.analytics.disclosure import ALL
from survey_service.analytics.wages import WageQuery, WageTable, load_campaign, wage_table
from survey_service.db.engine import open_database
from survey_service.db.models import Campaign, Enterprise, Form, FormVersion, Submission, WageRow
from survey_service.forms.registry import load_shipped_forms
from tests.conftest import _admin, open_backend
from tests.paths import PROJECT_ROOT
from tests.unit.test_disclosure import _determined

DISTRICTS = ("610202", "610203", "610204")
OCCUPATIONS = ("6-01-02-03", "2-02-06-03", "4-01-01-01", "6-15-01-01")
FIGURES = ("n_enterprises", "n_workers", "p10", "p25", "p50", "p75", "p90", "mean")
TWO_WAY = ["occupation", "district"]
uscc_numbers = itertools.count(1)


@dataclass(frozen=True)
class Worker:
    enterprise: int
    occupation: str
    months: int
    pay: int


@dataclass(frozen=True)
class Example:
    districts: list[str]  # per enterprise
    groups: list[str | None]  # per enterprise
    workers: list[Worker]
    rules: dict[str, Any]


@st.composite
def examples(draw: st.DrawFn) -> Example:
    n = draw(st.integers(1, 7))
    districts = draw(st.lists(st.sampled_from(DISTRICTS), min_size=n, max_size=n))
    groups = draw(st.lists(st.sampled_from([None, None, "g1", "g2"]), min_size=n, max_size=n))
    worker = st.builds(
        Worker,
        enterprise=st.integers(0, n - 1),
        occupation=st.sampled_from(OCCUPATIONS),
        months=st.sampled_from([12, 12, 12, 6]),
        pay=st.integers(20_000, 400_000),
    )
    workers = draw(st.lists(worker, min_size=1, max_size=80))
    min_enterprises, min_workers = draw(st.sampled_from([(3, 10), (2, 4), (3, 5), (1, 1)]))
    rules: dict[str, Any] = {
        "min_enterprises": min_enterprises,
        "min_workers": min_workers,
        "p_percent": draw(st.sampled_from([10, 0, 25])),
    }
    if draw(st.booleans()):
        rules["dominance"] = {
            "n": draw(st.sampled_from([1, 2])),
            "k": draw(st.sampled_from([60, 85])),
        }
    return Example(districts, groups, workers, rules)


# ------------------------------------------------------------------ the stored campaign


async def store(url: str, example: Example) -> int:
    """The campaign, its enterprises, one submitted survey each and their wage rows."""
    db = open_database(url)
    try:
        async with db.transaction() as session:
            version_id = await session.scalar(
                select(FormVersion.id)
                .join(Form, FormVersion.form_id == Form.id)
                .where(Form.key == "salary-survey")
            )
            now = datetime.now(UTC)
            campaign = Campaign(
                form_version_id=version_id, title="property", year=2023, campaign_year=2023,
                audience={},
                opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=1),
                settings={"disclosure": example.rules},
            )  # fmt: skip
            session.add(campaign)
            enterprises = [
                Enterprise(
                    uscc=f"P{next(uscc_numbers):017d}",
                    name="e",
                    district=district,
                    industry="C30",
                    group_key=group,
                )
                for district, group in zip(example.districts, example.groups, strict=True)
            ]
            session.add_all(enterprises)
            await session.flush()
            submissions = [
                Submission(
                    id=str(uuid.uuid4()),
                    campaign_id=campaign.id,
                    enterprise_id=e.id,
                    form_version_id=version_id,
                    status="submitted",
                    data={},
                    content_hash="-",
                )
                for e in enterprises
            ]
            session.add_all(submissions)
            await session.flush()
            session.add_all(
                WageRow(
                    submission_id=submissions[w.enterprise].id,
                    campaign_id=campaign.id,
                    enterprise_id=enterprises[w.enterprise].id,
                    row_index=i,
                    occupation=w.occupation,
                    industry="C30",
                    district=example.districts[w.enterprise],
                    months_worked=w.months,
                    annual_pay=float(w.pay),
                    monthly_pay=w.pay / w.months,
                )
                for i, w in enumerate(example.workers)
            )
            return int(campaign.id)
    finally:
        await db.dispose()


async def tables(url: str, campaign_id: int, district: str) -> dict[str, WageTable]:
    db = open_database(url)
    try:
        async with db.read() as session:
            campaign = await load_campaign(session, campaign_id)
            assert campaign is not None
            return {
                "two_way": await wage_table(session, campaign, WageQuery(TWO_WAY)),
                "district": await wage_table(session, campaign, WageQuery(["district"])),
                "filtered": await wage_table(
                    session, campaign, WageQuery(["occupation"], {"district": district})
                ),
            }
    finally:
        await db.dispose()


# ------------------------------------------------------------------ the truth


@dataclass
class TrueCell:
    workers: int = 0
    total: float = 0.0
    by_contributor: dict[str, float] | None = None


def truth(example: Example, dims: list[str]) -> dict[tuple[str, ...], TrueCell]:
    """Every cell with its margins, from the generated workers (12 months: annual pay)."""
    cells: dict[tuple[str, ...], TrueCell] = defaultdict(TrueCell)
    for w in example.workers:
        if w.months < 12:
            continue
        values = {"occupation": w.occupation, "district": example.districts[w.enterprise]}
        contributor = example.groups[w.enterprise] or f"enterprise {w.enterprise}"
        for summed in itertools.product([False, True], repeat=len(dims)):
            key = tuple(ALL if s else values[d] for d, s in zip(dims, summed, strict=True))
            cell = cells[key]
            cell.workers += 1
            cell.total += w.pay
            cell.by_contributor = cell.by_contributor or {}
            cell.by_contributor[contributor] = cell.by_contributor.get(contributor, 0) + w.pay
    return dict(cells)


def key_of(row: dict[str, Any], dims: list[str]) -> tuple[str, ...]:
    return tuple(row[d] for d in dims)


def check_rules(rules: dict[str, Any], cell: TrueCell, row: dict[str, Any]) -> None:
    shares = sorted((cell.by_contributor or {}).values(), reverse=True)
    assert row["n_workers"] == cell.workers, row
    assert row["n_enterprises"] == len(shares), row
    assert len(shares) >= rules["min_enterprises"], row
    assert cell.workers >= rules["min_workers"], row
    x1, x2 = [*shares, 0.0, 0.0][:2]
    assert cell.total - x1 - x2 >= rules["p_percent"] / 100 * x1 - 1e-6, row
    dominance = rules.get("dominance")
    if dominance:
        assert sum(shares[: dominance["n"]]) <= dominance["k"] / 100 * cell.total + 1e-6, row
    assert row["mean"] == pytest.approx(cell.total / cell.workers, abs=0.01), row


def equations(keys: list[tuple[str, ...]]) -> Iterator[dict[int, int]]:
    """Each margin is the sum of its cells: -margin + cells = 0, for counts and totals."""
    index = {key: i for i, key in enumerate(keys)}
    for key in keys:
        for d, value in enumerate(key):
            if value != ALL:
                continue
            children = [
                index[k]
                for k in keys
                if k[d] != ALL and k[:d] == key[:d] and k[d + 1 :] == key[d + 1 :]
            ]
            yield {index[key]: -1} | dict.fromkeys(children, 1)


def check_table(example: Example, table: WageTable) -> None:
    dims = table.dimensions
    true = truth(example, dims)
    rows = {key_of(row, dims): row for row in table.rows}
    assert set(rows) == set(true)
    for key, row in rows.items():
        if row["suppressed"]:
            assert row["suppression_reason"], row
            assert all(row[f] is None for f in FIGURES), row
        else:
            check_rules(example.rules, true[key], row)
    keys = list(true)
    hidden = [i for i, key in enumerate(keys) if rows[key]["suppressed"]]
    assert not _determined(list(equations(keys)), hidden)
    # The download carries no more than the rows.
    text = b"".join(exports.wage_csv_chunks(table)).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    header, body = lines[0], lines[1:]
    figure_columns = [header.index(zh) for name, zh in exports.FIGURES if name in FIGURES]
    assert len(body) == len(table.rows)
    for line, row in zip(body, table.rows, strict=True):
        if row["suppressed"]:
            assert [line[c] for c in figure_columns] == [""] * len(FIGURES), line


# ------------------------------------------------------------------ the test


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database with the shipped forms, of this module's own."""
    tmp: Path = tmp_path_factory.mktemp(f"disclosure-{request.param}")

    async def prepare() -> tuple[str, str | None]:
        db, pg_name = await open_backend(request.param, tmp)
        try:
            await load_shipped_forms(db, PROJECT_ROOT / "form_schemas")
            return db.engine.url.render_as_string(hide_password=False), pg_name
        finally:
            await db.dispose()

    url, pg_name = asyncio.run(prepare())
    yield url
    if pg_name is not None:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))


def test_suppressed_cells_never_leak_and_published_cells_meet_the_rules(database_url: str) -> None:
    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(examples())
    def check(example: Example) -> None:
        campaign_id = asyncio.run(store(database_url, example))
        district = example.districts[0]
        found = asyncio.run(tables(database_url, campaign_id, district))
        check_table(example, found["two_way"])
        check_table(example, found["district"])
        sliced = [row for row in found["two_way"].rows if row["district"] == district]
        assert found["filtered"].rows == sliced

    check()
