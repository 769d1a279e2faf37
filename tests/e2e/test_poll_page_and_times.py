"""The poll page as a worker sees it on a phone (only the buttons of the screen shown, who
runs the poll and for which enterprise), and times on every page in Beijing time: the
dashboard, the campaign page, the enterprise's home and the poll."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Server, new_page
from tests.samples import enterprise

BEIJING = ZoneInfo("Asia/Shanghai")
# Days given alone: 2020-01-01 00:00 to the end of 2099-12-31, Beijing time; the campaign
# year left to the service (the year it opens in).
DAYS: dict[str, Any] = {
    "window": {"opens_at": "2020-01-01", "closes_at": "2099-12-31"},
    "campaign_year": None,
}


def _admin(browser: Browser, server: Server) -> Page:
    page = new_page(browser)
    page.goto(server.url("/admin/signin"))
    page.get_by_label("管理员令牌").fill(server.admin_token)
    page.get_by_role("button", name="登录").click()
    return page


def test_the_poll_shows_only_the_buttons_of_its_screen(server: Server, browser: Browser) -> None:
    campaign_id = server.campaign("worker-satisfaction", "2024年职工满意度调查（按钮）", **DAYS)
    server.enterprise(21)
    page = new_page(browser, phone=True)
    page.goto(server.url(server.poll_link(campaign_id, 21)))
    progress = page.locator(".progress span")
    expect(progress).to_have_text("第 1 部分，共 7 部分")
    submit = page.get_by_role("button", name="提交")
    back = page.get_by_role("button", name="上一页")
    forward = page.get_by_role("button", name="下一页")
    # Screen 1 of 7: no 提交 (it would only list every unanswered question), no 上一页.
    expect(submit).to_be_hidden()
    expect(back).to_be_hidden()
    expect(forward).to_be_visible()
    for step in range(6):
        for fieldset in page.locator("[data-step]:visible fieldset.question").all():
            fieldset.get_by_text("4 同意").click()
        forward.click()
        expect(progress).to_have_text(f"第 {step + 2} 部分，共 7 部分")
        expect(back).to_be_visible()
    # The last screen: 提交 and 上一页, no 下一页.
    expect(forward).to_be_hidden()
    expect(submit).to_be_visible()
    back.click()
    expect(progress).to_have_text("第 6 部分，共 7 部分")
    expect(submit).to_be_hidden()
    page.context.close()


def test_the_poll_names_who_runs_it_and_the_enterprise(server: Server, browser: Browser) -> None:
    campaign_id = server.campaign("worker-satisfaction", "2024年职工满意度调查（主办）", **DAYS)
    server.enterprise(22)
    page = new_page(browser, phone=True)
    page.goto(server.url(server.poll_link(campaign_id, 22)))
    who = page.locator("#organisers")
    expect(who).to_contain_text("铜川市人力资源和社会保障局")
    expect(who).to_contain_text("铜川市总工会")
    expect(who).to_contain_text(enterprise(22)["name"])
    expect(page.locator(".notice")).to_contain_text("匿名")  # the promise stays
    expect(page.get_by_text("截止时间：2100-01-01 00:00（北京时间）")).to_be_visible()
    page.goto(server.url(server.poll_link(campaign_id, 22)) + "?lang=en")
    expect(page.locator("#organisers")).to_contain_text("Federation of Trade Unions")
    expect(page.get_by_text(re.compile(r"2100-01-01 00:00 \(Beijing time\)"))).to_be_visible()
    page.context.close()


def test_a_campaign_names_its_own_organisers(server: Server, browser: Browser) -> None:
    organisers = {"zh": "王益区总工会、王益区人社局", "en": "the Wangyi district union and bureau"}
    campaign_id = server.campaign(
        "worker-satisfaction", "王益区职工满意度调查", settings={"organisers": organisers}, **DAYS
    )
    server.enterprise(25)
    page = new_page(browser, phone=True)
    page.goto(server.url(server.poll_link(campaign_id, 25)))
    expect(page.locator("#organisers")).to_have_text(
        f"本问卷由王益区总工会、王益区人社局组织，面向{enterprise(25)['name']}的职工。"
    )
    page.context.close()


def test_a_poll_not_open_yet_says_when_it_opens_in_beijing_time(
    server: Server, browser: Browser
) -> None:
    later = {"opens_at": "2099-01-01", "closes_at": "2099-01-31"}
    campaign_id = server.campaign(
        "worker-satisfaction", "2099年职工满意度调查", window=later, campaign_year=None
    )
    server.enterprise(24)
    url = server.url(server.poll_link(campaign_id, 24))
    page = new_page(browser, phone=True)
    page.goto(url)
    expect(page.get_by_role("heading")).to_have_text("暂时不能作答")
    expect(page.locator("main")).to_contain_text("问卷将于 2099-01-01 00:00（北京时间）开始")
    page.goto(url + "?lang=en")
    expect(page.locator("main")).to_contain_text("opens at 2099-01-01 00:00 (Beijing time)")
    page.context.close()


def test_admin_pages_show_the_days_and_times_in_beijing_time(
    server: Server, browser: Browser
) -> None:
    title = "2024年企业薪酬调查（北京时间）"
    server.campaign("salary-survey", title, **DAYS)
    page = _admin(browser, server)
    card = page.locator("section.card", has=page.get_by_role("heading", name=title))
    # Opening on 2020-01-01 Beijing time is 2019-12-31 in UTC; the page shows Beijing's day.
    expect(card).to_contain_text("2020-01-01 – 2099-12-31")
    card.get_by_role("link", name=title).click()
    heading = page.locator("#window")
    expect(heading).to_contain_text("2020-01-01 00:00 – 2100-01-01 00:00（北京时间）")
    expect(heading).not_to_contain_text("UTC")
    page.context.close()


def test_enterprise_pages_show_the_days_and_times_in_beijing_time(
    server: Server, browser: Browser
) -> None:
    campaign_id = server.campaign(
        "enterprise-self-assessment", "2024年企业自评（北京时间）", **DAYS
    )
    server.enterprise(23)
    token = server.invite(campaign_id, 23)
    draft = server.api.post(
        f"/api/v1/campaigns/{campaign_id}/submissions",
        json={"data": {}, "status": "draft"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert draft.status_code == 201, draft.text
    changed = datetime.fromisoformat(draft.json()["updated_at"]).astimezone(BEIJING)
    page = new_page(browser)
    page.goto(server.url("/e/signin"))
    page.get_by_label("邀请码").fill(token)
    page.get_by_role("button", name="登录").click()
    main = page.locator("main")
    expect(main).to_contain_text("填报时间：2020-01-01 – 2099-12-31")
    expect(main).to_contain_text(f"{changed:%Y-%m-%d %H:%M}（北京时间）")
    expect(main).not_to_contain_text("UTC")
    page.context.close()
