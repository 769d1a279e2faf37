"""The landing page in a real browser (issue 12, item 9): a newcomer who opens the service's
address on a phone follows its links to the administrators' and the enterprises' sign-in
pages and to the API's document."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Server, new_page, screenshot


def test_a_newcomer_finds_the_admin_and_enterprise_pages_and_the_api(
    server: Server, browser: Browser
) -> None:
    page = new_page(browser, phone=True)
    page.goto(server.url("/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("劳动关系调查服务")
    screenshot(page, "landing", full_page=True)
    page.get_by_role("link", name="管理员").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("管理员登录")
    page.go_back()
    page.get_by_role("link", name="企业填报").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("企业登录")
    page.go_back()
    page.get_by_role("link", name="接口文档（OpenAPI）").click()
    expect(page).to_have_url(server.url("/schema/openapi.json"))
    expect(page.locator("body")).to_contain_text('"openapi"')
    page.goto(server.url("/?lang=en"))
    expect(page.get_by_role("link", name="Administrators")).to_have_attribute("href", "/admin")
    page.context.close()
