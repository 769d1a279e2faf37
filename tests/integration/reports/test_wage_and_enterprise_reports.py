"""The wage guide and an enterprise's report through HTTP on SQLite and PostgreSQL, read
back from the PDF: the Chinese titles, the exact figures the wage-table API returns, no
figure of a suppressed cell, the fonts embedded; an enterprise's report holds its own
figures and the city's published reference, and only it (and admins) may read it."""

from __future__ import annotations

import re

import numpy as np

from tests.conftest import Service
from tests.integration.analytics.score_helpers import invite
from tests.integration.analytics.test_wage_benchmarks import (
    _bearer,
    _seeded_campaign,
    _table,
)
from tests.integration.reports.report_helpers import (
    ask,
    embedded_fonts,
    pdf_of,
    text_of,
    wait_for,
)
from tests.samples import uscc


def money(value: float) -> str:
    return f"{value:,.0f}"


async def test_the_wage_guide_prints_the_published_figures_and_none_of_the_suppressed(
    service: Service,
) -> None:
    campaign_id, _ = await _seeded_campaign(service)
    status, body = await ask(service, service.admin, type="wage-benchmark", campaign_id=campaign_id)
    assert status == 202, body
    done = await wait_for(service, service.admin, body["id"])
    assert done["status"] == "done", done
    reader = await pdf_of(service, service.admin, body["id"])
    text = text_of(reader)
    assert "2023年铜川市企业工资价位表" in text
    assert "分职业、分区县工资价位" in text
    assert any("Noto" in name for name in embedded_fonts(reader))
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

    published = await _table(service, campaign_id, by="occupation,district")
    shown = [r for r in published["rows"] if r["occupation"] != "*" and not r["suppressed"]]
    hidden = [r for r in published["rows"] if r["occupation"] != "*" and r["suppressed"]]
    assert shown, "the seeded campaign publishes some cells"
    assert hidden, "and suppresses others"
    for row in shown:
        for name in ("p10", "p25", "p50", "p75", "p90", "mean"):
            assert money(row[name]) in text, (row["occupation"], row["district"], name)
    # What the suppressed cells would have said (the admin's unsuppressed view) is nowhere,
    # unless the same number is also a published figure.
    everything = await _table(service, campaign_id, by="occupation,district", suppress="false")
    printed = {money(r[n]) for r in shown for n in ("p10", "p25", "p50", "p75", "p90", "mean")}
    secret_keys = {(r["occupation"], r["district"]) for r in hidden}
    secrets = {
        money(r[n])
        for r in everything["rows"]
        if (r["occupation"], r["district"]) in secret_keys
        for n in ("p10", "p25", "p50", "p75", "p90", "mean")
    } - printed
    assert secrets
    leaked = [figure for figure in secrets if figure in text]
    assert leaked == []


async def test_an_enterprise_report_shows_its_own_pay_beside_the_citys_reference(
    service: Service,
) -> None:
    campaign_id, workers = await _seeded_campaign(service)
    own_token = await _enterprise_token(service, campaign_id, 0)
    status, body = await ask(service, _bearer(own_token), type="enterprise", enterprise=uscc(0))
    assert status == 202, body
    done = await wait_for(service, _bearer(own_token), body["id"])
    assert done["status"] == "done", done
    text = text_of(await pdf_of(service, _bearer(own_token), body["id"]))
    assert "2023 年度企业报告" in text
    assert uscc(0) in text
    city = {
        r["occupation"]: r for r in (await _table(service, campaign_id, by="occupation"))["rows"]
    }
    mine = [w for w in workers if w["enterprise"] == 0 and w["months_worked"] >= 12]
    for occupation in {w["occupation"] for w in mine}:
        pay = np.array([w["annual_pay"] for w in mine if w["occupation"] == occupation], float)
        assert money(float(np.percentile(pay, 50, method="inverted_cdf"))) in text
        assert money(float(pay.mean())) in text
        reference = city.get(occupation)
        if reference is not None and not reference["suppressed"]:
            assert money(reference["p50"]) in text
    for other in range(1, 12):
        assert uscc(other) not in text
    # Only the enterprise itself and admins read it; analysts may not even ask.
    other_token = await _enterprise_token(service, campaign_id, 1)
    response = await service.client.get(
        f"/api/v1/reports/{body['id']}", headers=_bearer(other_token)
    )
    assert response.status_code == 404
    status, _ = await ask(service, _bearer(other_token), type="enterprise", enterprise=uscc(0))
    assert status == 404
    analyst = _bearer(await service.token("analyst", label="analyst"))
    status, _ = await ask(
        service, analyst, type="enterprise", campaign_id=campaign_id, enterprise=uscc(0)
    )
    assert status == 403
    response = await service.client.get(f"/api/v1/reports/{body['id']}", headers=analyst)
    assert response.status_code == 404
    response = await service.client.get(f"/api/v1/reports/{body['id']}/pdf", headers=service.admin)
    assert response.status_code == 200


async def _enterprise_token(service: Service, campaign_id: int, n: int) -> str:
    """A fresh invitation token of enterprise ``n`` (already registered and invited)."""
    tokens = await invite(service, campaign_id, [n])
    return tokens[n]
