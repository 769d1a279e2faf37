"""The pages in a real browser (headless Chromium) against a real server: a worker answers
a poll on a phone, an enterprise uploads its payroll and corrects it, an admin builds a form
with a show-if question, publishes it and answers it, and the dashboard shows the figures."""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Server, new_page, screenshot
from tests.samples import salary_workbook


def _poll_answers(server: Server, link_id_slug: str) -> list[dict[str, Any]]:
    with sqlite3.connect(server.database) as conn:
        rows = conn.execute(
            "SELECT r.data FROM poll_responses r JOIN poll_links l ON l.id = r.link_id "
            "WHERE l.slug = ?",
            (link_id_slug,),
        ).fetchall()
    return [json.loads(row[0]) for row in rows]


def test_a_worker_answers_the_poll_on_a_phone(server: Server, browser: Browser) -> None:
    campaign_id = server.campaign("worker-satisfaction", "2024年职工满意度调查")
    server.enterprise(1)
    url = server.poll_link(campaign_id, 1)
    page = new_page(browser, phone=True)
    page.goto(server.url(url))
    expect(page.locator(".notice")).to_contain_text("匿名")
    progress = page.locator(".progress span")
    expect(progress).to_have_text("第 1 部分，共 7 部分")
    screenshot(page, "poll")
    # Next without answering: the questions of this screen say what is missing.
    page.get_by_role("button", name="下一页").click()
    expect(page.locator("#q0-error")).to_have_text("此题必答")
    expect(progress).to_have_text("第 1 部分，共 7 部分")
    for step in range(6):
        for fieldset in page.locator("[data-step]:visible fieldset.question").all():
            fieldset.get_by_text("4 同意").click()
        page.get_by_role("button", name="下一页").click()
        expect(progress).to_have_text(f"第 {step + 2} 部分，共 7 部分")
    page.locator("#q12").get_by_text("5 非常满意").click()
    page.locator("#q13").get_by_text("9", exact=True).click()
    page.get_by_label(re.compile("意见或建议")).fill("食堂可以再改进")
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_role("heading", name="感谢您的参与")).to_be_visible()
    slug = url.rsplit("/", 1)[1]
    [answer] = _poll_answers(server, slug)
    assert (answer["recommend"], answer["comment"]) == (9, "食堂可以再改进")
    assert answer["contract_1"] == 4
    page.goto(server.url(url))  # the same phone again: answered already
    expect(page.get_by_role("heading")).to_have_text("已经提交过了")
    page.context.close()


def test_an_enterprise_uploads_sees_the_errors_fixes_and_submits(
    server: Server, browser: Browser
) -> None:
    campaign_id = server.campaign("salary-survey", "2023年企业薪酬调查", year=2023)
    server.enterprise(2, district="610203")
    token = server.invite(campaign_id, 2)
    page = new_page(browser)
    page.goto(server.url("/e/signin"))
    page.get_by_label("邀请码").fill(token)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="2023年企业薪酬调查")).to_be_visible()
    assert token not in page.url
    rows = [["6-01-02-03", 12, 60000 + i, "本科"] for i in range(6)]
    rows[1][1] = 13  # spreadsheet row 3: months worked
    rows[4][0] = "9-99"  # spreadsheet row 6: no such occupation
    page.get_by_label("工资表（.xlsx 或 .csv）").set_input_files(
        files=[{"name": "工资.xlsx", "mimeType": "application/octet-stream",
                "buffer": salary_workbook(rows)}]
    )  # fmt: skip
    page.get_by_role("button", name="上传并提交").click()
    errors = page.locator("#upload-errors")
    expect(errors).to_contain_text("未保存任何数据")
    expect(errors.locator("tbody tr")).to_have_count(2)
    expect(errors.locator("tbody tr").nth(0)).to_contain_text("工作月数")
    expect(errors.locator("tbody tr").nth(1)).to_contain_text("职业代码")
    screenshot(page, "enterprise", full_page=True)
    rows[1][1], rows[4][0] = 12, "2-02-01-00"
    rows[2][2] = 19200  # spreadsheet row 4: under the minimum wage, a warning
    page.get_by_label("工资表（.xlsx 或 .csv）").set_input_files(
        files=[{"name": "工资.xlsx", "mimeType": "application/octet-stream",
                "buffer": salary_workbook(rows)}]
    )  # fmt: skip
    page.get_by_role("button", name="上传并提交").click()
    expect(page.locator(".flash")).to_contain_text("工资表已上传并提交：6 行")
    expect(page.locator("#submission-status")).to_have_text("已提交")
    warnings = page.locator("#submission-warnings")
    expect(warnings.locator("tbody tr")).to_have_count(1)
    expect(warnings.locator("tbody tr")).to_contain_text("第 4 行，年度应发工资 列")
    expect(warnings.locator("tbody tr")).to_contain_text("低于 12 个月的最低工资标准")
    # A partial upload: the bad row is left out and the page says which and why.
    rows[5][1] = 13  # spreadsheet row 7
    page.get_by_label("工资表（.xlsx 或 .csv）").set_input_files(
        files=[{"name": "工资.xlsx", "mimeType": "application/octet-stream",
                "buffer": salary_workbook(rows)}]
    )  # fmt: skip
    page.get_by_label("只保存无误的行").check()
    page.get_by_role("button", name="上传并提交").click()
    expect(page.locator(".flash")).to_contain_text(
        "工资表已上传并提交：5 行。另有 1 行有错误，未保存"
    )
    expect(warnings.locator("tbody tr")).to_have_count(2)
    expect(warnings).to_contain_text("第 7 行")
    expect(warnings).to_contain_text("此行未保存：工作月数")
    page.get_by_role("link", name="查看已填报的内容").click()
    expect(page.locator("#submission-warnings tbody tr")).to_have_count(2)
    expect(page.locator("table").last).to_contain_text("2-02-01-00")
    page.context.close()


def _builder_card(page: Page, index: int) -> Any:
    return page.locator("#fields > .field-card").nth(index)


def test_an_admin_builds_a_show_if_form_publishes_and_answers_it(
    server: Server, browser: Browser
) -> None:
    page = new_page(browser)
    page.goto(server.url("/admin/signin"))
    page.get_by_label("管理员令牌").fill(server.admin_token)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="表单设计").click()
    page.get_by_label("表单键名").fill("union-poll")
    page.get_by_label("标题（中文）").fill("工会工作问卷")
    page.get_by_role("button", name="+ 单选").click()
    first = _builder_card(page, 0)
    first.get_by_label("字段名").fill("has_union")
    first.get_by_label("字段名").press("Tab")
    first = _builder_card(page, 0)
    first.get_by_label("题目（中文）").fill("企业有工会吗？")
    first.get_by_label("必答").check()
    first.get_by_label(re.compile("^选项")).fill("yes|有|Yes\nno|没有|No")
    page.get_by_role("button", name="+ 文本").first.click()
    second = _builder_card(page, 1)
    second.get_by_label("字段名").fill("union_name")
    second.get_by_label("字段名").press("Tab")
    second = _builder_card(page, 1)
    second.get_by_label("题目（中文）").fill("工会的名称")
    second.get_by_label("必答").check()
    second.get_by_label("最多字数").fill("50")
    second.get_by_label("显示条件：仅当").select_option("has_union")
    second.get_by_label("有", exact=True).check()
    preview = page.locator("#preview")
    expect(preview.locator("legend", has_text="企业有工会吗？")).to_be_visible()
    expect(preview.get_by_label(re.compile("工会的名称"))).to_be_hidden()
    preview.get_by_text("有", exact=True).click()
    expect(preview.get_by_label(re.compile("工会的名称"))).to_be_visible()
    page.locator("#schema-box summary").click()
    expect(page.locator("#schema")).to_contain_text('"if"')
    expect(page.locator("#schema")).to_contain_text('"const": "yes"')
    screenshot(page, "builder", full_page=True)
    page.get_by_role("button", name="发布").click()
    expect(page.locator("#status")).to_contain_text("已发布：union-poll 第 1 版")
    page.context.close()

    campaign_id = server.campaign("union-poll", "2024年工会工作问卷")
    server.enterprise(3)
    url = server.poll_link(campaign_id, 3)
    phone = new_page(browser, phone=True)
    phone.goto(server.url(url))
    name = phone.get_by_label(re.compile("工会的名称"))
    expect(name).to_be_hidden()
    phone.get_by_text("没有", exact=True).click()
    expect(name).to_be_hidden()
    phone.get_by_text("有", exact=True).click()
    expect(name).to_be_visible()
    phone.get_by_role("button", name="提交").click()
    expect(phone.locator(".error")).to_contain_text("此题必答")
    name.fill("铜川示例企业3工会委员会")
    phone.get_by_role("button", name="提交").click()
    expect(phone.get_by_role("heading", name="感谢您的参与")).to_be_visible()
    [answer] = _poll_answers(server, url.rsplit("/", 1)[1])
    assert answer == {"has_union": "yes", "union_name": "铜川示例企业3工会委员会"}
    phone.context.close()


def test_the_dashboard_shows_each_campaign_with_its_bars(server: Server, browser: Browser) -> None:
    campaign_id = server.campaign("salary-survey", "2024年企业薪酬调查（王益、耀州）")
    server.enterprise(4, district="610202")
    server.enterprise(5, district="610204")
    server.invite(campaign_id, 4)
    server.invite(campaign_id, 5)
    poll = server.campaign("worker-satisfaction", "2024年第二季度职工满意度")
    server.enterprise(6)
    server.poll_link(poll, 6)
    page = new_page(browser)
    page.goto(server.url("/admin/signin"))
    page.get_by_label("管理员令牌").fill(server.admin_token)
    page.get_by_role("button", name="登录").click()
    title = page.get_by_role("heading", name="2024年企业薪酬调查（王益、耀州）")
    card = page.locator("section.card", has=title)  # not the participation (bars too)
    expect(card.locator("svg.bars")).to_be_visible()
    expect(card.locator("svg.bars")).to_contain_text("0 / 1 (0%)")
    # Not released yet: the card says so and offers no table to download.
    expect(card.locator(f"[data-release='{campaign_id}']")).to_contain_text("尚无数据发布")
    expect(card.get_by_role("link", name="工资价位 CSV")).to_have_count(0)
    screenshot(page, "dashboard", full_page=True)
    page.get_by_role("link", name="2024年第二季度职工满意度").click()
    expect(page.locator("img.qr").first).to_be_visible()
    page.context.close()
