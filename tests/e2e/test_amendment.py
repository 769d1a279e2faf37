"""An enterprise amends its saved salary survey in the browser, with and without
JavaScript, at 1280×800: no blank row blocks it, and the required columns and each row's
删除 button are on screen."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Server, new_page
from tests.samples import salary_document, uscc

SCREEN = {"width": 1280, "height": 800}


def _submitted(server: Server, n: int) -> tuple[int, str]:
    campaign_id = server.campaign("salary-survey", f"2023年企业薪酬调查 {n}", year=2023)
    server.enterprise(n)
    token = server.invite(campaign_id, n)
    created = server.api.post(
        f"/api/v1/campaigns/{campaign_id}/submissions",
        json={"data": salary_document(uscc(n))},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 201, created.text
    return campaign_id, token


def _signed_in(browser: Browser, server: Server, token: str, **options: Any) -> Page:
    page = new_page(browser, viewport=SCREEN, **options)
    page.goto(server.url("/e/signin"))
    page.get_by_label("邀请码").fill(token)
    page.get_by_role("button", name="登录").click()
    return page


def _in_view(page: Page, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    assert box is not None
    return box["x"] >= 0 and box["x"] + box["width"] <= SCREEN["width"]


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_a_saved_survey_is_amended_from_the_page(
    server: Server, browser: Browser, javascript: bool
) -> None:
    n = 41 if javascript else 42
    campaign_id, token = _submitted(server, n)
    page = _signed_in(browser, server, token, java_script_enabled=javascript)
    page.get_by_role("link", name="修改").click()
    rows = page.locator("tbody[data-rows] tr[data-row]")
    expect(rows).to_have_count(4)  # the four saved workers, no blank row
    # The required columns and the row's 删除 come first, on screen without scrolling.
    assert _in_view(page, "[aria-label^='工作月数']")
    assert _in_view(page, "[aria-label^='年度应发工资']")
    assert _in_view(page, "button[data-remove-row]")
    # A row added and left blank (a round trip without JavaScript) blocks nothing.
    page.get_by_role("button", name="添加一行").click()
    expect(rows).to_have_count(5)
    page.get_by_label("年度应发工资 第 2 行").fill("70000")
    page.get_by_label("基本工资 第 2 行").fill("50000")
    page.get_by_role("button", name="提交").click()
    expect(page.locator(".flash")).to_contain_text("已提交")
    expect(page.locator("#submission-status")).to_have_text("已提交")
    [listed] = server.api.get(f"/api/v1/campaigns/{campaign_id}/submissions").json()["items"]
    stored = server.api.get(f"/api/v1/submissions/{listed['id']}").json()
    assert stored["revision"] == 2
    assert stored["data"]["employees"][1]["annual_pay"] == 70000
    assert len(stored["data"]["employees"]) == 4
    page.context.close()
