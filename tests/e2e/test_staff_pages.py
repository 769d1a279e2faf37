"""The staff's pages in a real browser (issue 14): the bureau makes an analyst's token on
its tokens page and reads the audit log filtered; the analyst signs in with that token on
its own page, reads a released wage table with its hidden cells marked and the P10-P90
chart, and downloads the CSV through the browser; the revoked token then ends the
analyst's session."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Server, new_page, screenshot
from tests.integration.analytics.wage_helpers import DISTRICTS, seeded_workers
from tests.samples import salary_document, uscc


def _released_survey(server: Server) -> int:
    """A salary survey of 12 enterprises in two districts, released during collection."""
    campaign_id = server.campaign("salary-survey", "2023年企业薪酬调查", year=2023)
    rng = random.Random(4)
    for n in range(1, 13):
        server.enterprise(n, DISTRICTS[n % 2])
        token = server.invite(campaign_id, n)
        document = salary_document(uscc(n)) | {"employees": seeded_workers(rng)}
        submitted = httpx.post(
            server.url(f"/api/v1/campaigns/{campaign_id}/submissions"),
            json={"data": document, "status": "submitted"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert submitted.status_code == 201, submitted.text
    released = server.api.post(
        f"/api/v1/campaigns/{campaign_id}/releases", json={"during_collection": True}
    )
    assert released.status_code == 201, released.text
    return campaign_id


def _admin(server: Server, browser: Browser) -> Page:
    page = new_page(browser)
    page.goto(server.url("/admin/signin"))
    page.get_by_label("管理员令牌").fill(server.admin_token)
    page.get_by_role("button", name="登录").click()
    return page


def test_an_analyst_token_made_on_the_page_reads_and_downloads_a_released_table(
    server: Server, browser: Browser, tmp_path: Path
) -> None:
    _released_survey(server)
    admin = _admin(server, browser)
    admin.get_by_role("link", name="令牌与人员").click()
    admin.get_by_label("用途或使用人").fill("市总工会 张三")
    admin.get_by_role("button", name="创建令牌").click()
    expect(admin.locator("#created")).to_contain_text("令牌只显示这一次")
    token = admin.locator("#new-token-value").input_value()
    screenshot(admin, "tokens", full_page=True)

    analyst = new_page(browser, accept_downloads=True)
    analyst.goto(server.url("/analyst"))
    analyst.get_by_label("分析员令牌").fill(token)
    analyst.get_by_role("button", name="登录").click()
    analyst.get_by_label("再按（选填）").select_option("district")
    analyst.get_by_role("button", name="显示表格").click()
    table = analyst.locator("#wage-table")
    expect(table.locator("tr.suppressed").first).to_contain_text("保密")
    expect(analyst.locator("svg.spread")).to_be_visible()
    screenshot(analyst, "analyst", full_page=True)
    with analyst.expect_download() as download:
        analyst.locator("#download-csv").click()
    saved = tmp_path / "table.csv"
    download.value.save_as(saved)
    lines = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert lines[0][:2] == ["职业大类代码", "职业大类名称"]
    assert len(lines) - 1 == table.locator("tbody tr").count()

    admin.get_by_role("link", name="操作日志").click()
    admin.locator("select[name=action]").select_option("session")
    admin.get_by_role("button", name="筛选", exact=True).click()
    rows = admin.locator("#audit tbody tr")
    expect(rows.first).to_contain_text("page:analyst")
    expect(rows.first).to_contain_text("市总工会 张三")
    screenshot(admin, "audit", full_page=True)

    admin.get_by_role("link", name="令牌与人员").click()
    row = admin.locator("#tokens tbody tr", has_text="市总工会 张三")
    row.get_by_role("button", name="撤销").click()
    expect(admin.get_by_role("status")).to_contain_text("令牌已撤销")
    analyst.reload()
    expect(analyst).to_have_url(server.url("/analyst/signin"))
    admin.context.close()
    analyst.context.close()
