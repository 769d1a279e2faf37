"""The form builder in a real browser, as it was used (issue 12): a renamed field keeps what is
typed in the next box, a key that is taken offers to save a new version of that form, and a
show-if condition on a choice question is picked by the labels the user sees."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Server, new_page


def _builder(server: Server, browser: Browser, key: str, title: str) -> Page:
    page = new_page(browser)
    page.goto(server.url("/admin/signin"))
    page.get_by_label("管理员令牌").fill(server.admin_token)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="表单设计").click()
    page.get_by_label("表单键名").fill(key)
    page.get_by_label("标题（中文）").fill(title)
    return page


def _card(page: Page, index: int) -> Any:
    return page.locator("#fields > .field-card").nth(index)


def _schema(server: Server, key: str, version: int) -> dict[str, Any]:
    response = server.api.get(f"/api/v1/forms/{key}/schema", params={"version": version})
    assert response.status_code == 200, response.text
    schema: dict[str, Any] = response.json()
    return schema


def test_typing_after_renaming_a_field_lands_in_the_question(
    server: Server, browser: Browser
) -> None:
    page = _builder(server, browser, "rename-poll", "改名问卷")
    page.get_by_role("button", name="+ 文本").first.click()
    card = _card(page, 0)
    card.get_by_label("字段名").click()
    card.get_by_label("字段名").press("Control+a")
    page.keyboard.type("union_name")
    card.get_by_label("题目（中文）").click()  # the name box loses focus to this click
    page.keyboard.press("Control+a")
    page.keyboard.type("工会的名称")
    expect(card.get_by_label("题目（中文）")).to_be_focused()
    expect(card.get_by_label("题目（中文）")).to_have_value("工会的名称")
    page.get_by_role("button", name="发布").click()
    expect(page.locator("#status")).to_contain_text("已发布：rename-poll 第 1 版")
    page.context.close()
    schema = _schema(server, "rename-poll", 1)
    assert list(schema["properties"]) == ["union_name"]
    assert schema["properties"]["union_name"]["title"] == "工会的名称"


def test_saving_a_taken_key_offers_a_new_version_of_that_form(
    server: Server, browser: Browser
) -> None:
    fields = [{"type": "text", "name": "old_question", "label": {"zh": "旧的题目"}}]
    created = server.api.post(
        "/api/v1/forms",
        json={"key": "taken-poll", "kind": "poll", "title": {"zh": "已有的问卷"}, "fields": fields},
    )
    assert created.status_code == 201, created.text
    page = _builder(server, browser, "taken-poll", "新的问卷")
    page.get_by_role("button", name="+ 文本").first.click()
    _card(page, 0).get_by_label("题目（中文）").fill("新的题目")
    page.get_by_role("button", name="保存草稿").click()
    status = page.locator("#status")
    expect(status).to_contain_text("表单键名“taken-poll”已经存在")
    expect(status).not_to_contain_text("exists")
    status.get_by_role("button", name="保存为新版本").click()
    expect(status).to_contain_text("已保存草稿：taken-poll 第 2 版")
    page.get_by_role("button", name="发布").click()
    expect(status).to_contain_text("已发布：taken-poll 第 2 版")
    page.context.close()
    schema = _schema(server, "taken-poll", 2)
    assert schema["properties"]["q1"]["title"] == "新的题目"
    form = server.api.get("/api/v1/forms/taken-poll").json()
    assert form["current_version"] == 2
    assert form["title"] == "已有的问卷"


def test_a_show_if_condition_is_picked_by_the_choice_labels(
    server: Server, browser: Browser
) -> None:
    page = _builder(server, browser, "label-poll", "按选项显示")
    page.get_by_role("button", name="+ 单选").click()
    first = _card(page, 0)
    first.get_by_label("字段名").fill("has_union")
    first.get_by_label(re.compile("^选项")).fill("yes|有|Yes\nno|没有|No\nunsure|不清楚")
    page.get_by_role("button", name="+ 文本").first.click()
    second = _card(page, 1)
    second.get_by_label("字段名").fill("why_not")
    second.get_by_label("题目（中文）").fill("为什么没有工会？")
    second.get_by_label("显示条件：仅当").select_option("has_union")
    expect(second.get_by_label("有", exact=True)).to_be_checked()
    expect(second.get_by_label("yes", exact=True)).to_have_count(0)
    second.get_by_label("有", exact=True).uncheck()
    second.get_by_label("没有", exact=True).check()
    second.get_by_label("不清楚", exact=True).check()
    # Renaming the controlling field keeps the condition on it.
    first.get_by_label("字段名").fill("union_exists")
    expect(second.get_by_label("显示条件：仅当")).to_have_value("union_exists")
    expect(second.get_by_label("没有", exact=True)).to_be_checked()
    preview = page.locator("#preview")
    # The preview is drawn again after the rename: click in the one drawn last.
    expect(preview.locator('input[name="union_exists"]')).to_have_count(3)
    expect(preview.get_by_label(re.compile("为什么没有工会"))).to_be_hidden()
    preview.get_by_text("没有", exact=True).click()
    expect(preview.get_by_label(re.compile("为什么没有工会"))).to_be_visible()
    page.get_by_role("button", name="发布").click()
    expect(page.locator("#status")).to_contain_text("已发布：label-poll 第 1 版")
    page.context.close()
    schema = _schema(server, "label-poll", 1)
    assert list(schema["properties"]) == ["union_exists", "why_not"]
    [condition] = schema["allOf"]
    assert condition["if"]["properties"] == {"union_exists": {"enum": ["no", "unsure"]}}
