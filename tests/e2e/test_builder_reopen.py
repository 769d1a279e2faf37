"""Reopening a published form in the builder, in a real browser (issue 14): the form's
page reopens it as a new draft version, the builder shows its questions and description,
a changed label and description are saved and previewed, and publishing makes version 2
the current one while version 1 stays as it was."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Server, new_page, screenshot

FIELDS: list[dict[str, Any]] = [
    {"type": "text", "name": "union_name", "label": {"zh": "工会名称"}, "required": True},
    {"type": "likert", "name": "mood", "label": {"zh": "满意程度"}, "scale": 5},
]


def test_a_published_form_is_reopened_changed_and_published_again(
    server: Server, browser: Browser
) -> None:
    created = server.api.post(
        "/api/v1/forms",
        json={"key": "home-poll", "kind": "poll", "title": {"zh": "职工之家问卷"},
              "description": {"zh": "旧的说明"}, "fields": FIELDS},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    assert server.api.post("/api/v1/forms/home-poll/versions/1/publish").status_code == 200
    page = new_page(browser)
    page.goto(server.url("/admin/signin"))
    page.get_by_label("管理员令牌").fill(server.admin_token)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="表单", exact=True).click()
    page.get_by_role("link", name="职工之家问卷").click()
    expect(page.locator("#form-description")).to_have_text("旧的说明")
    page.get_by_role("button", name="重新打开为新草稿").click()
    expect(page.locator("#editing")).to_be_visible()
    expect(page.get_by_label("表单键名")).to_have_value("home-poll")
    expect(page.get_by_label("表单键名")).to_be_disabled()
    expect(page.get_by_label("表单说明（中文")).to_have_value("旧的说明")
    cards = page.locator("#fields > .field-card")
    expect(cards).to_have_count(2)
    expect(cards.nth(1).get_by_label("题目（中文）")).to_have_value("满意程度")
    cards.nth(1).get_by_label("题目（中文）").fill("您对职工之家满意吗")
    page.get_by_label("表单说明（中文").fill("新的说明：约需一分钟")
    preview = page.locator("#preview")
    expect(preview).to_contain_text("您对职工之家满意吗")
    expect(preview).to_contain_text("新的说明：约需一分钟")
    screenshot(page, "builder-reopened", full_page=True)
    page.get_by_role("button", name="发布").click()
    expect(page.locator("#status")).to_contain_text("已发布：home-poll 第 2 版")
    page.context.close()
    form = server.api.get("/api/v1/forms/home-poll").json()
    assert form["current_version"] == 2
    assert form["description"] == "新的说明：约需一分钟"
    assert form["schema"]["properties"]["mood"]["title"] == "您对职工之家满意吗"
    assert form["schema"]["required"] == ["union_name"]
    first = server.api.get("/api/v1/forms/home-poll/schema", params={"version": 1}).json()
    assert first["properties"]["mood"]["title"] == "满意程度"
    assert first["description"] == "旧的说明"
