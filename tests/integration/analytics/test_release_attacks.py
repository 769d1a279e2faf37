"""The attack suite against wage releases, through HTTP with an analyst's token, on SQLite
and PostgreSQL (``attacks.py`` is the attacker; ``test_attacker.py`` shows it finds what a
careless pattern leaves).

For a release, the attacker downloads every table an analyst may ask (docs/disclosure.md:
every set of at most two dimensions, both measures, filtered slices), keys every cell
canonically and builds one linear system over all of them. Then:

(a) no hidden cell's workers or total pay is fixed by the published figures;
(b) every primary-suppressed cell's total pay can be anywhere in T +- p% of its largest
    contribution as far as the published figures and nonnegativity tell (HiGHS), its
    workers n +- max(1, p% of n), and no enterprise's share of a hidden cell is pinned
    within 1%;
(c) ``by=a,b`` and ``by=b,a`` hide the same cells;
(d) a release is frozen, and two releases cannot be differenced into a late enterprise;
(e) the occupation hierarchy, monthly minus annual, amendments, weights, the outlier
    warning;
(f) CSV, XLSX and JSON say the same.

(a)-(c) run for the demo city (a smaller one: ``DEMO_ENTERPRISES``; the default 300 takes
minutes per backend) and for generated cities under hypothesis. The linear programmes of
(b) span every hidden cell linked to the audited one (thousands of unknowns in the demo
city): there, and in generated cities, a spread sample of the primary cells is audited
(``DEMO_LP_CELLS``, ``CITY_LP_CELLS``); the scenario tests audit every primary cell.
(a) covers every hidden cell, complements too.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook
from sqlalchemy import select

from survey_service.analytics.wage_dimensions import DIMENSIONS
from survey_service.db.engine import Database
from survey_service.db.models import Enterprise, Submission, WageRow
from survey_service.demo.fill import fill_demo
from tests.conftest import Service
from tests.factories import bearer, create_campaign, invite, register_enterprises, submit
from tests.integration.analytics.attacks import (
    MEASURES,
    POPULATION,
    URL,
    Observations,
    System,
    Truth,
    WorkerRecord,
    allowed_tables,
    audit_release,
    cell_key,
    cell_var,
    describe,
    difference_findings,
    download_release,
    fails_rules,
    get_rows,
    recovery_findings,
)
from tests.integration.analytics.wage_helpers import worker
from tests.samples import enterprise, salary_document, uscc

pytestmark = pytest.mark.slow  # seconds each; `pytest -m "not slow"` leaves them out

DEMO_ENTERPRISES = int(os.environ.get("SURVEY_ATTACK_DEMO_ENTERPRISES", "12"))
# Primary cells audited by the attacker's own linear programmes, spread over the demo city
# and each generated city (SURVEY_ATTACK_LP_CELLS=0: every one; minutes per city). The
# engine audits every primary cell itself; the scenario tests audit every one too.
DEMO_LP_CELLS = int(os.environ.get("SURVEY_ATTACK_LP_CELLS", "10")) or None
CITY_LP_CELLS = DEMO_LP_CELLS
DEFAULT_RULES = {"min_enterprises": 3, "min_workers": 10, "p_percent": 10}
QUANTILES = ("p10", "p25", "p50", "p75", "p90")
enterprise_numbers = itertools.count(1000)


# --------------------------------------------------------------------------- set-up


@dataclass
class Firm:
    n: int
    registry: dict[str, Any]
    workers: list[dict[str, Any]]
    token: str = ""
    submission: str = ""


async def take_part(service: Service, campaign_id: int, firms: Sequence[Firm]) -> None:
    """Register, invite and submit every firm."""
    await register_enterprises(service, *(enterprise(f.n, **f.registry) for f in firms))
    tokens = await invite(service, campaign_id, *(f.n for f in firms))
    for firm in firms:
        firm.token = tokens[firm.n]
        document = salary_document(uscc(firm.n)) | {"employees": firm.workers}
        firm.submission = await submit(service, campaign_id, firm.token, document)


async def make_release(service: Service, campaign_id: int) -> int:
    response = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/releases",
        json={"during_collection": True, "note": ""},
        headers=service.admin,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["number"])


async def read_truth(db: Database, campaign_id: int) -> Truth:
    """Every counted worker of the campaign now, as the tests submitted them."""
    attributes = ("occupation", "industry", "district", "size_class", "ownership", "education",
                  "skill_level", "job_level")  # fmt: skip
    async with db.read() as session:
        result = await session.execute(
            select(
                *(getattr(WageRow, a) for a in attributes),
                WageRow.months_worked,
                WageRow.annual_pay,
                Enterprise.id,
                Enterprise.group_key,
            )
            .join(Enterprise, WageRow.enterprise_id == Enterprise.id)
            .join(Submission, WageRow.submission_id == Submission.id)
            .where(WageRow.campaign_id == campaign_id, Submission.status == "submitted")
        )
        records = [
            WorkerRecord(
                contributor=row[-1] or f"enterprise {row[-2]}",
                attributes=dict(zip(attributes, row[: len(attributes)], strict=True)),
                months=int(row[len(attributes)]),
                annual=float(row[len(attributes) + 1]),
            )
            for row in result
        ]
    return Truth(records)


# --------------------------------------------------------------------------- the attack


@dataclass
class Attack:
    observations: Observations
    system: System
    findings: list[str]


async def attack(
    service: Service,
    campaign_id: int,
    number: int,
    analyst: Mapping[str, str],
    truth: Truth,
    *,
    rules: Mapping[str, Any] = DEFAULT_RULES,
    slices: int = 1,
    lp_limit: int | None = None,
) -> Attack:
    """(a) and (b) over one release, and what the downloads must agree on: filtered
    slices with whole tables, analysts' single reason, the admin's hidden cells, the
    published figures with the truth and the rules."""
    seen = await download_release(
        service.client, campaign_id, analyst, release=number, slices=slices
    )
    findings = list(seen.conflicts)
    for (_, key), reason in seen.reasons.items():
        if seen.cells[(number, key)] is None and reason != "confidential":
            findings.append(f"{describe(key)}: an analyst reads the reason {reason!r}")
    admin = await download_release(
        service.client, campaign_id, service.admin, release=number, slices=0
    )
    if admin.hidden(number) != seen.hidden(number):
        findings.append("the admin's view of the release hides other cells than the analyst's")
    reasons = {
        key: r for (_, key), r in admin.reasons.items() if admin.cells[(number, key)] is None
    }
    # The true values as the service itself gives them to an admin (the live view, no
    # protection) agree with the truth the checks use.
    for dims, measure in itertools.product((("district",), ("district", "occupation")), MEASURES):
        params = {"by": ",".join(dims), "measure": measure, "release": "live", "suppress": "false"}
        for row in await get_rows(service.client, campaign_id, service.admin, params):
            true = truth.cell(cell_key(row, dims, POPULATION[measure]))
            mean = true.total / max(1, true.workers)
            if row["n_workers"] != true.workers or abs(row["mean"] - mean) > 0.006:
                findings.append(f"live {row}: not the truth the attack checks against")
    for key, published in seen.published(number).items():
        true = truth.cell(key)
        if (
            published.workers != true.workers
            or abs(published.row["mean"] - true.total / max(1, true.workers)) > 0.006
        ):
            findings.append(f"{describe(key)}: published figures are not the release's data")
        if fails_rules(true, rules):
            findings.append(f"{describe(key)}: published although it fails the rules")
    system = System.build(seen)
    findings += [str(f) for f in recovery_findings(system, number, truth, rules)]
    findings += [str(f) for f in audit_release(system, number, truth, reasons, rules,
                                               limit=lp_limit)]  # fmt: skip
    return Attack(seen, system, findings)


async def order_findings(
    service: Service, campaign_id: int, number: int, analyst: Mapping[str, str], seen: Observations
) -> list[str]:
    """(c): ``by=b,a`` hides what ``by=a,b`` hides."""
    reverse = await download_release(
        service.client,
        campaign_id,
        analyst,
        release=number,
        slices=0,
        reverse=True,
        tables=[t for t in allowed_tables() if len(t) == 2],
    )
    differ = {
        key
        for (tag, key), figures in reverse.cells.items()
        if (seen.cells.get((tag, key), "absent") is None) != (figures is None)
    }
    return [f"{describe(k)}: hidden in one order of by only" for k in sorted(differ, key=repr)]


# --------------------------------------------------------------------------- (a)-(c)


async def test_the_demo_city_release_resists_the_attacks(service: Service) -> None:
    summary = await fill_demo(
        service.db, enterprises_count=DEMO_ENTERPRISES, releases=False, say=lambda _: None
    )
    campaign_id = next(c.id for c in summary.campaigns if c.title.startswith("2023年企业薪酬"))
    number = await make_release(service, campaign_id)
    truth = await read_truth(service.db, campaign_id)
    analyst = bearer(await service.token("analyst", label="attacker"))
    found = await attack(
        service, campaign_id, number, analyst, truth, lp_limit=DEMO_LP_CELLS, slices=1
    )
    assert found.observations.hidden(number), "the demo city should have hidden cells"
    found.findings += await order_findings(
        service, campaign_id, number, analyst, found.observations
    )
    assert found.findings == []


OCCUPATION_CODES = ("6-15-01-01", "6-15-01-02", "6-15-02", "2-02-01-01", "2-02", "4-01-02-01")
INDUSTRY_CODES = ("C30", "C13", "F52", "C")
SIZES = ("large", "medium", "small")


@st.composite
def cities(draw: st.DrawFn) -> list[Firm]:
    n = draw(st.integers(5, 30))
    districts = draw(st.lists(st.sampled_from(["610202", "610203", "610204"]), min_size=n,
                              max_size=n))  # fmt: skip
    firms = []
    for i in range(n):
        count = draw(st.integers(1, 12))
        workers = [
            worker(
                draw(st.sampled_from(OCCUPATION_CODES)),
                draw(st.integers(20_000, 300_000)),
                draw(st.sampled_from([12, 12, 12, 6])),
            )
            for _ in range(count)
        ]
        registry = {
            "district": districts[i],
            "industry": draw(st.sampled_from(INDUSTRY_CODES)),
            "size_class": draw(st.sampled_from(SIZES)),
        }
        if draw(st.integers(0, 9)) == 0:
            registry["group_key"] = "集团"
        firms.append(Firm(next(enterprise_numbers), registry, workers))
    return firms


@settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    # An example costs seconds (hundreds of downloads, a linear programme per audited
    # cell): no shrinking; a failure reports its example as drawn.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(firms=cities())
async def test_generated_cities_resist_the_attacks(service: Service, firms: list[Firm]) -> None:
    for firm in firms:
        firm.n = next(enterprise_numbers)  # hypothesis may replay an example: fresh USCCs
    campaign_id = await create_campaign(service)
    await take_part(service, campaign_id, firms)
    number = await make_release(service, campaign_id)
    truth = await read_truth(service.db, campaign_id)
    analyst = bearer(await service.token("analyst", label="attacker"))
    found = await attack(
        service, campaign_id, number, analyst, truth, slices=1, lp_limit=CITY_LP_CELLS
    )
    found.findings += await order_findings(
        service, campaign_id, number, analyst, found.observations
    )
    assert found.findings == []


# --------------------------------------------------------------------------- (d)


def seeded_firms(count: int, occupation: str = "6-15-01-01", base: int = 60_000) -> list[Firm]:
    return [
        Firm(
            next(enterprise_numbers),
            {"district": ("610202", "610204")[i % 2], "size_class": SIZES[i % 3]},
            [worker(occupation, base + 700 * i + 113 * j) for j in range(6 + i % 3)]
            + [worker("2-02-01-01", 90_000 + 500 * i + 37 * j) for j in range(3)],
        )
        for i in range(count)
    ]


async def test_a_release_is_frozen_and_two_releases_do_not_difference(service: Service) -> None:
    campaign_id = await create_campaign(service)
    await take_part(service, campaign_id, seeded_firms(9))
    first = await make_release(service, campaign_id)
    before = await read_truth(service.db, campaign_id)
    analyst = bearer(await service.token("analyst", label="attacker"))
    seen = await download_release(service.client, campaign_id, analyst, release=None, tag=first,
                                  slices=0)  # fmt: skip
    late = Firm(next(enterprise_numbers), {"district": "610202", "size_class": "small"},
                [worker("6-15-01-01", 58_000 + 10 * j) for j in range(4)])  # fmt: skip
    await take_part(service, campaign_id, [late])
    again = await download_release(service.client, campaign_id, analyst, release=None, tag=first,
                                   slices=0)  # fmt: skip
    assert again.cells == seen.cells, "the default release changed with the live data"
    second = await make_release(service, campaign_id)
    assert second == first + 1
    after = await read_truth(service.db, campaign_id)
    both = await download_release(service.client, campaign_id, analyst, release=first, slices=0)
    await download_release(service.client, campaign_id, analyst, release=second, observations=both,
                           slices=0)  # fmt: skip
    assert both.published(first) == seen.published(first)
    system = System.build(both)
    change = Truth([r for r in after.records if r not in before.records])
    assert change.records, "the late enterprise's rows"
    keys = {key for (_, key) in both.cells}
    findings = [str(f) for f in difference_findings(system, first, second, change, keys=keys)]
    findings += [str(f) for f in recovery_findings(system, first, before, DEFAULT_RULES)]
    findings += [str(f) for f in recovery_findings(system, second, after, DEFAULT_RULES)]
    # No published cell differs between the releases by exactly the late enterprise.
    for key, new in both.published(second).items():
        old = both.published(first).get(key)
        moved = change.cell(key)
        if old is not None and moved.workers and new.workers - old.workers == moved.workers:
            findings.append(f"{describe(key)}: published in both releases, {moved.workers} "
                            "workers apart: the late enterprise's")  # fmt: skip
    assert findings == []


# --------------------------------------------------------------------------- (e)


async def test_the_occupation_hierarchy_gives_no_small_group_back(service: Service) -> None:
    """6-15-02 has one enterprise; its middle group 6-15 and its sibling 6-15-01 are
    large: the minor group must stay hidden through every level and every reported code
    (6-15-02-01 and a code reported at middle level only)."""
    campaign_id = await create_campaign(service)
    firms = seeded_firms(8)
    firms[0].workers += [worker("6-15-02-01", 71_000 + j) for j in range(5)]
    firms[1].workers += [worker("6-15", 66_000 + 11 * j) for j in range(2)]
    await take_part(service, campaign_id, firms)
    number = await make_release(service, campaign_id)
    truth = await read_truth(service.db, campaign_id)
    analyst = bearer(await service.token("analyst", label="attacker"))
    found = await attack(service, campaign_id, number, analyst, truth, slices=2)
    small = (frozenset({("occupation_minor", "6-15-02")}), "full")
    assert small in found.observations.hidden(number)
    fixed = found.system.structure("pay").determined({cell_var(number, small): 1.0})
    assert not fixed, "the pay of occupation_minor 6-15-02 follows from the release"
    assert found.findings == []


async def test_monthly_minus_annual_gives_no_part_year_workers_away(service: Service) -> None:
    """Only one enterprise has part-year workers: everyone's monthly cell minus the
    full-year cell would be its part-year workers."""
    campaign_id = await create_campaign(service)
    firms = seeded_firms(8)
    firms[2].workers += [worker("6-15-01-01", 20_000 + 900 * j, months=5) for j in range(3)]
    await take_part(service, campaign_id, firms)
    number = await make_release(service, campaign_id)
    truth = await read_truth(service.db, campaign_id)
    analyst = bearer(await service.token("analyst", label="attacker"))
    found = await attack(service, campaign_id, number, analyst, truth, slices=1)
    part = cell_var(number, (frozenset({("occupation", "6-15-01-01")}), "part"))
    for measure in ("workers", "pay"):
        fixed = found.system.structure(measure).determined({part: 1.0})
        assert not fixed, f"the {measure} of the part-year workers follow from the release"
    low, high = found.system.structure("pay").interval({part: 1.0})
    true = truth.cell(part[2])
    assert low <= true.total * 0.9, (low, true.total)
    assert high >= true.total * 1.1, (high, true.total)
    assert found.findings == []


async def test_an_amendment_removing_one_worker_cannot_be_differenced(service: Service) -> None:
    campaign_id = await create_campaign(service)
    firms = seeded_firms(9)
    await take_part(service, campaign_id, firms)
    first = await make_release(service, campaign_id)
    before = await read_truth(service.db, campaign_id)
    amended = firms[4]
    document = salary_document(uscc(amended.n)) | {"employees": amended.workers[1:]}
    response = await service.client.put(
        f"/api/v1/submissions/{amended.submission}",
        json={"data": document, "status": "submitted"},
        headers=bearer(amended.token),
    )
    assert response.status_code == 200, response.text
    second = await make_release(service, campaign_id)
    after = await read_truth(service.db, campaign_id)
    analyst = bearer(await service.token("analyst", label="attacker"))
    both = await download_release(service.client, campaign_id, analyst, release=first, slices=0)
    await download_release(service.client, campaign_id, analyst, release=second, observations=both,
                           slices=0)  # fmt: skip
    system = System.build(both)
    removed = list(before.records)
    for record in after.records:
        removed.remove(record)
    assert len(removed) == 1
    change = Truth(removed)
    keys = {key for (_, key) in both.cells}
    findings = [str(f) for f in difference_findings(system, first, second, change, keys=keys)]
    assert findings == []


async def test_weighted_percentiles_never_show_a_heavy_enterprises_own(service: Service) -> None:
    """Three enterprises, one weighted 40: its weighted share dominates every cell it is
    in, so a published weighted cell would show its own pay distribution."""
    firms = seeded_firms(3)
    weights = {uscc(firms[0].n): 40.0, uscc(firms[1].n): 1.0, uscc(firms[2].n): 1.0}
    campaign_id = await create_campaign(
        service, settings={"enterprise_weights": weights, "disclosure": {
            "min_enterprises": 3, "min_workers": 5, "p_percent": 10}},
    )  # fmt: skip
    await take_part(service, campaign_id, firms)
    number = await make_release(service, campaign_id)
    analyst = bearer(await service.token("analyst", label="attacker"))
    heavy = firms[0]
    for dims in allowed_tables():
        if not dims:
            continue
        for measure in ("annual", "monthly"):
            params = {"by": ",".join(dims), "measure": measure, "release": str(number)}
            for row in await get_rows(service.client, campaign_id, analyst, params):
                if row["suppressed"]:
                    continue
                own = [
                    w["annual_pay"] if measure == "annual" else w["annual_pay"] / w["months_worked"]
                    for w in heavy.workers
                    if (measure == "monthly" or w["months_worked"] >= 12)
                    and all(
                        value == "*" or _group(d, w, heavy) == value
                        for d, value in ((d, row[d]) for d in dims)
                    )
                ]
                if not own:
                    continue
                mine = tuple(
                    round(float(np.quantile(own, q, method="inverted_cdf")), 2)
                    for q in (0.1, 0.25, 0.5, 0.75, 0.9)
                )
                assert tuple(row[q] for q in QUANTILES) != mine, (dims, measure, row)
                assert not all(row[q] in {round(v, 2) for v in own} for q in QUANTILES), row


def _group(dimension: str, w: Mapping[str, Any], firm: Firm) -> str | None:
    from tests.integration.analytics.attacks import group_of

    attributes = {**enterprise(firm.n, **firm.registry), **w}
    return group_of(dimension, attributes)


async def test_the_outlier_warning_quotes_no_competitors_median(service: Service) -> None:
    """One competitor has every row of an occupation: a probe row far from it must not
    read back the competitor's median (only published reference values, or no number)."""
    campaign_id = await create_campaign(service)
    competitor = Firm(next(enterprise_numbers), {"district": "610202"},
                      [worker("2-06-01-01", 120_000 + 1_200 * j) for j in range(12)])  # fmt: skip
    await take_part(service, campaign_id, [competitor])
    monthly = sorted(w["annual_pay"] / 12 for w in competitor.workers)
    secret = {f"{float(np.median(monthly)):.0f}"}
    probe = Firm(next(enterprise_numbers), {"district": "610204"},
                 [worker("2-06-01-01", 1_500_000)])  # fmt: skip
    response = await service.client.post(
        "/api/v1/enterprises", json=enterprise(probe.n, **probe.registry), headers=service.admin
    )
    assert response.status_code == 201
    invited = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/invitations",
        json={"enterprises": [uscc(probe.n)]}, headers=service.admin,
    )  # fmt: skip
    probe.token = invited.json()[0]["token"]
    document = salary_document(uscc(probe.n)) | {"employees": probe.workers}
    response = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/submissions",
        json={"data": document, "status": "submitted"},
        headers=bearer(probe.token),
    )
    assert response.status_code == 201, response.text
    own = {f"{1_500_000 / 12:.0f}", "1500000", "12"}
    for warning in response.json().get("warnings", []):
        if warning["code"] != "outlier":
            continue
        numbers = set(re.findall(r"\d+(?:\.\d+)?", warning["message"] + warning["message_zh"]))
        assert not numbers & secret, warning
        assert numbers <= own, f"the warning quotes figures that no release published: {warning}"


# --------------------------------------------------------------------------- (f)


async def test_csv_xlsx_and_json_of_a_release_agree(service: Service) -> None:
    campaign_id = await create_campaign(service)
    firms = seeded_firms(7)
    firms[0].workers += [worker("4-01-02-01", 40_000 + j) for j in range(4)]
    await take_part(service, campaign_id, firms)
    number = await make_release(service, campaign_id)
    analyst = bearer(await service.token("analyst", label="attacker"))
    for by in ("occupation_middle,district", "district", "size_class,occupation"):
        dims = by.split(",")
        params = {"by": by, "release": str(number)}
        rows = await get_rows(service.client, campaign_id, analyst, params)
        as_csv = await service.client.get(
            URL.format(campaign_id), params=params | {"format": "csv"}, headers=analyst
        )
        assert as_csv.status_code == 200
        assert f"-r{number}" in as_csv.headers["content-disposition"]
        lines = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
        as_xlsx = await service.client.get(
            URL.format(campaign_id), params=params | {"format": "xlsx"}, headers=analyst
        )
        assert as_xlsx.status_code == 200
        book = CalamineWorkbook.from_filelike(io.BytesIO(as_xlsx.content))
        sheet = book.get_sheet_by_name(book.sheet_names[0]).to_python()
        for header, body in ((lines[0], lines[1:]), (sheet[0], sheet[1:])):
            assert len(body) == len(rows), by
            codes = [header.index(f"{DIMENSIONS[d].label_zh}代码") for d in dims]
            for line, row in zip(body, rows, strict=True):
                assert [line[c] or None for c in codes] == [row[d] for d in dims]
                for name, zh in (("n_workers", "职工人数"), ("p50", "中位数(P50)"),
                                 ("mean", "平均数"), ("n_enterprises", "企业数")):  # fmt: skip
                    value = line[header.index(zh)]
                    if row["suppressed"]:
                        assert value == "", (by, line)
                    else:
                        assert float(value) == row[name], (by, name, line)
                assert line[header.index("是否保密")] == ("是" if row["suppressed"] else "否")


async def test_tables_outside_the_protected_structure_are_refused(service: Service) -> None:
    campaign_id = await create_campaign(service)
    await take_part(service, campaign_id, seeded_firms(4))
    await make_release(service, campaign_id)
    analyst = bearer(await service.token("analyst", label="attacker"))
    for params in (
        {"by": "occupation,district,size_class"},
        {"by": "occupation", "district": "610202", "size_class": "large"},
        {"by": "ownership,district"},
        {"by": "occupation_major,occupation_middle"},
        {"by": "industry", "industry": "30"},
    ):
        response = await service.client.get(URL.format(campaign_id), params=params, headers=analyst)
        assert response.status_code == 400, (params, response.text)


def test_cell_keys_do_not_depend_on_the_order_of_by() -> None:
    row = {"district": "610202", "occupation": "*", "n_workers": 3}
    assert cell_key(row, ["district", "occupation"], "full") == cell_key(
        row, ["occupation", "district"], "full"
    )
