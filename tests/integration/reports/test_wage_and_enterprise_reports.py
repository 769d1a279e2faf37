"""The wage guide and an enterprise's report through HTTP on SQLite and PostgreSQL, read
back from the PDF: both are made from the campaign's latest release (none, no report), the
guide names it (number, date, hash, provisional while collecting) and prints exactly the
release's published figures and no hidden cell's; an enterprise's report holds its own
figures from the release (so only counted surveys) and the city's published reference,
and only it (and admins) may read it. A new release gives a new PDF."""

from __future__ import annotations

import random
import re
from typing import Any

import numpy as np

from tests.conftest import Service
from tests.factories import bearer, create_campaign, invite
from tests.integration.analytics.release_helpers import release
from tests.integration.analytics.score_helpers import answer_through_link, answers
from tests.integration.analytics.wage_helpers import (
    DISTRICTS,
    live_table,
    seeded_workers,
    submit_workers,
    two_years,
)
from tests.integration.reports.report_helpers import (
    ENGLISH,
    ask,
    embedded_fonts,
    pdf_of,
    release_table,
    released_campaign,
    text_of,
    wait_for,
)
from tests.samples import local_day, uscc

FIGURES = ("p10", "p25", "p50", "p75", "p90", "mean")


def money(value: float) -> str:
    return f"{value:,.0f}"


async def _done(service: Service, headers: dict[str, str], **body: Any) -> tuple[str, str]:
    """Ask for a report and wait for it: its id and its text."""
    status, asked = await ask(service, headers, **body)
    assert status in (200, 202), asked
    done = await wait_for(service, headers, asked["id"])
    assert done["status"] == "done", done
    return asked["id"], text_of(await pdf_of(service, headers, asked["id"]))


async def test_the_wage_guide_prints_the_releases_published_figures_and_none_hidden(
    service: Service,
) -> None:
    campaign_id, _, made = await released_campaign(service)
    status, body = await ask(service, service.admin, type="wage-benchmark", campaign_id=campaign_id)
    assert status == 202, body
    done = await wait_for(service, service.admin, body["id"])
    assert done["status"] == "done", done
    reader = await pdf_of(service, service.admin, body["id"])
    text = text_of(reader)
    assert "2023年铜川市企业工资价位表" in text
    assert "分职业、分区县工资价位" in text
    assert any("Noto" in name for name in embedded_fonts(reader))
    # The release it was made from, and that it was made while collecting.
    flat = re.sub(r"\s+", "", text)
    assert f"第{made['number']}次数据发布" in flat
    assert f"发布于{local_day(made['created_at'], service.settings.zone)}" in flat
    assert made["content_hash"][:32] in flat
    assert made["content_hash"][32:] in flat
    assert "征求意见稿" in flat
    assert "数据未截止" in flat
    # A4 pages; from page 2 on a running header and "page n of N"; every page of the
    # tables repeats the table's header.
    pages = [page.extract_text() or "" for page in reader.pages]
    for number, page in enumerate(reader.pages, start=1):
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
        if number > 1:
            assert re.search(rf"第\s*{number}\s*页\s*共\s*{len(pages)}\s*页", pages[number - 1])
            assert "2023年铜川市企业工资价位表" in pages[number - 1]
    table_pages = [p for p in pages if p.startswith("工资价位表") or "\n工资价位表" in p]
    assert table_pages
    assert all("P50" in p and "中位数" in p for p in table_pages)

    rows = await release_table(service, campaign_id, made["number"], by="occupation,district")
    shown = [r for r in rows if r["occupation"] != "*" and not r["suppressed"]]
    hidden = [r for r in rows if r["occupation"] != "*" and r["suppressed"]]
    assert shown, "the release publishes some cells"
    assert hidden, "and hides others"
    for row in shown:
        for name in FIGURES:
            assert money(row[name]) in text, (row["occupation"], row["district"], name)
    # What the hidden cells would have said (the admin's live unsuppressed view, the same
    # data as the release) is nowhere, unless the same number is also a published figure.
    everything = await live_table(
        service, campaign_id, by="occupation,district", suppress="false", release="live"
    )
    printed = {money(r[n]) for r in shown for n in FIGURES}
    secret_keys = {(r["occupation"], r["district"]) for r in hidden}
    secrets = {
        money(r[n])
        for r in everything["rows"]
        if (r["occupation"], r["district"]) in secret_keys
        for n in FIGURES
    } - printed
    assert secrets
    leaked = [figure for figure in secrets if figure in text]
    assert leaked == []


async def test_no_release_no_wage_report(service: Service) -> None:
    campaign_id = await create_campaign(service)
    await submit_workers(service, campaign_id, 1, seeded_workers(random.Random(1)))
    for body in (
        {"type": "wage-benchmark", "campaign_id": campaign_id},
        {"type": "enterprise", "campaign_id": campaign_id, "enterprise": uscc(1)},
    ):
        status, asked = await ask(service, service.admin, **body)
        assert status == 202, asked
        done = await wait_for(service, service.admin, asked["id"])
        assert done["status"] == "failed"
        assert f"campaign {campaign_id} has no release yet" in str(done), done


async def test_a_new_release_gives_a_new_pdf(service: Service) -> None:
    campaign_id, _, first = await released_campaign(service)
    asked = {"type": "wage-benchmark", "campaign_id": campaign_id}
    report_id, text = await _done(service, service.admin, **asked)
    assert f"第{first['number']}次数据发布" in re.sub(r"\s+", "", text)
    status, again = await ask(service, service.admin, **asked)
    assert (status, again["id"]) == (200, report_id)  # nothing changed: the stored PDF
    second = await release(service, campaign_id)
    new_id, text = await _done(service, service.admin, **asked)
    assert new_id != report_id
    assert f"第{second['number']}次数据发布" in re.sub(r"\s+", "", text)


async def test_the_guides_year_on_year_comes_from_last_years_release(service: Service) -> None:
    earlier, later = await two_years(service)
    before = await release(service, earlier)
    made = await release(service, later)
    _, text = await _done(service, service.admin, type="wage-benchmark", campaign_id=later)
    flat = re.sub(r"\s+", "", text)
    assert f"2022年调查的第{before['number']}次发布" in flat
    rows = await release_table(service, later, made["number"], by="occupation,district")
    growth = [
        r for r in rows
        if r["district"] == "*" and r["occupation"] != "*" and r["p50_change_pct"] is not None
    ]  # fmt: skip
    assert growth, "an occupation published in both years"
    growth_page = text[text.index("中位数增长") :]
    for row in growth:
        assert f"{row['p50_change_pct']:+.1f}%" in growth_page
        assert f"{row['mean_change_pct']:+.1f}%" in growth_page


def _own(workers: list[dict[str, Any]], n: int) -> dict[str, np.ndarray[Any, Any]]:
    """Enterprise ``n``'s full-year annual pay by occupation."""
    mine = [w for w in workers if w["enterprise"] == n and w["months_worked"] >= 12]
    return {
        o: np.array([w["annual_pay"] for w in mine if w["occupation"] == o], float)
        for o in {w["occupation"] for w in mine}
    }


async def test_an_enterprise_report_shows_its_own_pay_beside_the_citys_reference(
    service: Service,
) -> None:
    campaign_id, workers, made = await released_campaign(service)
    own_token = (await invite(service, campaign_id, 0, reissue=True))[0]
    status, body = await ask(service, bearer(own_token), type="enterprise", enterprise=uscc(0))
    assert status == 202, body
    done = await wait_for(service, bearer(own_token), body["id"])
    assert done["status"] == "done", done
    text = text_of(await pdf_of(service, bearer(own_token), body["id"]))
    assert "2023 年度企业报告" in text
    assert ENGLISH.findall(text) == []
    assert uscc(0) in text
    assert f"第{made['number']}次数据发布" in re.sub(r"\s+", "", text)
    city = {
        r["occupation"]: r
        for r in await release_table(service, campaign_id, made["number"], by="occupation")
    }
    for occupation, pay in _own(workers, 0).items():
        assert money(float(np.percentile(pay, 50, method="inverted_cdf"))) in text
        assert money(float(pay.mean())) in text
        reference = city[occupation]
        if not reference["suppressed"]:
            for name in ("p25", "p50", "p75"):
                assert money(reference[name]) in text
    for other in range(1, 12):
        assert uscc(other) not in text
    # Only the enterprise itself and admins read it; analysts may not even ask.
    other_token = (await invite(service, campaign_id, 1, reissue=True))[1]
    response = await service.client.get(
        f"/api/v1/reports/{body['id']}", headers=bearer(other_token)
    )
    assert response.status_code == 404
    status, _ = await ask(service, bearer(other_token), type="enterprise", enterprise=uscc(0))
    assert status == 404
    analyst = bearer(await service.token("analyst", label="analyst"))
    status, _ = await ask(
        service, analyst, type="enterprise", campaign_id=campaign_id, enterprise=uscc(0)
    )
    assert status == 403
    response = await service.client.get(f"/api/v1/reports/{body['id']}", headers=analyst)
    assert response.status_code == 404
    response = await service.client.get(f"/api/v1/reports/{body['id']}/pdf", headers=service.admin)
    assert response.status_code == 200


async def test_an_unaccepted_survey_is_not_in_the_enterprise_report(service: Service) -> None:
    """The campaign requires review: enterprise 0's survey, not accepted, is neither in
    the release nor in its own report; enterprise 1's accepted survey is."""
    campaign_id = await create_campaign(service, requires_review=True)
    rng = random.Random(4)
    workers: list[dict[str, Any]] = []
    for n in range(12):
        mine = seeded_workers(rng)
        sid = await submit_workers(service, campaign_id, n, mine, district=DISTRICTS[n % 2])
        workers += [w | {"enterprise": n} for w in mine]
        if n:
            response = await service.client.post(
                f"/api/v1/submissions/{sid}/review",
                json={"state": "accepted"},
                headers=service.admin,
            )
            assert response.status_code == 200, response.text
    made = await release(service, campaign_id)
    assert made["summary"]["enterprises"] == 11
    asked = {"type": "enterprise", "campaign_id": campaign_id}
    _, text = await _done(service, service.admin, **asked, enterprise=uscc(0))
    assert "没有计入的薪酬调查" in re.sub(r"\s+", "", text)
    for pay in _own(workers, 0).values():
        assert money(float(pay.mean())) not in text
    _, text = await _done(service, service.admin, **asked, enterprise=uscc(1))
    for pay in _own(workers, 1).values():
        assert money(float(np.percentile(pay, 50, method="inverted_cdf"))) in text
        assert money(float(pay.mean())) in text


async def test_the_report_finds_the_poll_of_its_campaign_year_not_of_its_data_year(
    service: Service,
) -> None:
    """Issue 12 (14): the survey of last year's pay and this year's poll differ in their
    data year; matched by it, the enterprise report said "no worker poll" although its
    workers had answered. They share the campaign year, and the report goes by that."""
    campaign_id, _, _ = await released_campaign(service)  # data of 2023, campaign year 2023
    poll = await create_campaign(
        service, "worker-satisfaction", title="职工满意度", year=2024, campaign_year=2023
    )
    await answer_through_link(service, poll, 0, answers(random.Random(7), 6, 0))
    # The same year's workers' six-commitments poll, made later, is not the satisfaction poll.
    commitments = await create_campaign(
        service, "worker-commitments", title="职工六要", year=2024, campaign_year=2023
    )
    six = {f"{c}_{n}": 4 for c in ("dedication", "devotion", "skills", "discipline", "ideas",
                                   "rights") for n in (1, 2)}  # fmt: skip
    await answer_through_link(service, commitments, 0, [six] * 8)
    own_token = (await invite(service, campaign_id, 0, reissue=True))[0]
    status, body = await ask(service, bearer(own_token), type="enterprise", enterprise=uscc(0))
    assert status == 202, body
    done = await wait_for(service, bearer(own_token), body["id"])
    assert done["status"] == "done", done
    text = re.sub(r"\s+", "", text_of(await pdf_of(service, bearer(own_token), body["id"])))
    assert "本年度没有职工问卷" not in text
    assert "6名职工匿名作答" in text
