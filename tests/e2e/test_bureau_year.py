"""The bureau's year in Chromium, with no API call outside the browser (issue 14): the
bureau creates the campaign on its page, imports the enterprises from a workbook, issues
the invitations and downloads the codes and the letters; an enterprise signs in with its
code from the codes workbook and uploads its salary sheet; the bureau returns it with a
reason, the enterprise sees the reason and amends, the bureau accepts; a district's staff
member sees only the district's enterprises; the bureau releases the campaign; an analyst
(its token made on the tokens page) downloads the table and the wage guide."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import xlsxwriter
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader
from python_calamine import CalamineWorkbook

from tests.e2e.conftest import Server, new_page, screenshot
from tests.samples import enterprise, salary_rows, salary_workbook, uscc

TITLE = "2025年全市企业薪酬调查"
# Two enterprises of 王益区 (610202), one of 印台区 (610203).
FIRMS = {1: "610202", 2: "610202", 3: "610203"}
HEADERS = ["统一社会信用代码", "企业名称", "所在区县代码", "行业代码", "企业规模", "职工人数",
           "是否建立工会", "是否规上企业", "联系人", "联系电话", "电子邮箱"]  # fmt: skip


def _registry_workbook() -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("企业名录")
    sheet.write_row(0, 0, HEADERS)
    for row, (n, district) in enumerate(FIRMS.items(), start=1):
        e = enterprise(n, district)
        sheet.write_row(row, 0, [e["uscc"], e["name"], district, e["industry"], "中型", 150,
                                 "是", "是", f"联系人{n}", "0919-1234567",
                                 f"hr{n}@example.cn"])  # fmt: skip
    book.close()
    return out.getvalue()


def _day(offset: int) -> str:
    return (datetime.now(UTC) + timedelta(days=offset)).date().isoformat()


def _sign_in(page: Page, server: Server, token: str) -> None:
    page.goto(server.url("/admin/signin"))
    page.get_by_label("管理员令牌").fill(token)
    page.get_by_role("button", name="登录").click()


def _download(page: Page, click: Any, folder: Path, name: str) -> Path:
    with page.expect_download() as download:
        click()
    saved = folder / name
    download.value.save_as(saved)
    return saved


def _codes(path: Path) -> dict[str, str]:
    """The codes workbook: USCC -> code."""
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    header = [str(h) for h in rows[0]]
    uscc_at = next(i for i, h in enumerate(header) if "信用代码" in h)
    code_at = next(i for i, h in enumerate(header) if "邀请码" in h)
    return {str(r[uscc_at]): str(r[code_at]) for r in rows[1:] if r[uscc_at]}


def _upload(page: Page, rows: list[list[Any]]) -> None:
    page.get_by_label("工资表（.xlsx 或 .csv）").set_input_files(
        files=[{"name": "工资.xlsx", "mimeType": "application/octet-stream",
                "buffer": salary_workbook(rows)}]
    )  # fmt: skip
    page.get_by_role("button", name="上传并提交").click()


def test_the_bureaus_year_in_the_browser(server: Server, browser: Browser, tmp_path: Path) -> None:
    bureau = new_page(browser, accept_downloads=True)
    _sign_in(bureau, server, server.admin_token)

    # The campaign, made on its page.
    bureau.get_by_role("link", name="新建活动").click()
    bureau.get_by_label("表单及版本").select_option(index=0)
    form_value = bureau.locator("#f-form option", has_text="薪酬").first.get_attribute("value")
    assert form_value is not None
    bureau.get_by_label("表单及版本").select_option(form_value)
    bureau.get_by_label("活动名称").fill(TITLE)
    bureau.get_by_label("数据年份").fill("2024")
    bureau.get_by_label("开始").fill(_day(-1))
    bureau.get_by_label("截止").fill(_day(30))
    bureau.get_by_label("需要审核：只有审核通过的填报计入统计").check()
    screenshot(bureau, "campaign-new", full_page=True)
    bureau.get_by_role("button", name="创建活动").click()
    expect(bureau.get_by_role("heading", name=TITLE)).to_be_visible()
    campaign_url = bureau.url.split("?")[0]

    # The registry, imported from a workbook.
    bureau.get_by_role("link", name="企业名录").click()
    bureau.goto(server.url("/admin/enterprises/import"))
    bureau.get_by_label("企业名录（.xlsx 或 .csv）").set_input_files(
        files=[{"name": "企业名录.xlsx", "mimeType": "application/octet-stream",
                "buffer": _registry_workbook()}]
    )  # fmt: skip
    bureau.get_by_role("button", name="导入").click()
    expect(bureau.locator("#imported")).to_contain_text("3")
    screenshot(bureau, "registry-import", full_page=True)
    bureau.goto(server.url("/admin/enterprises"))
    for n in FIRMS:
        expect(bureau.get_by_text(f"铜川示例企业{n}有限公司").first).to_be_visible()
    screenshot(bureau, "registry", full_page=True)

    # Invitations for the whole audience: the codes workbook and the letters, once.
    bureau.goto(campaign_url)
    bureau.get_by_role("link", name="邀请企业").click()
    bureau.get_by_label("邀请函上的咨询联系人和电话").fill("市人社局劳动关系科 0919-3180000")
    bureau.get_by_role("button", name="邀请全部未邀请的企业").click()
    expect(bureau.locator("#once")).to_be_visible()
    screenshot(bureau, "invitations-issued", full_page=True)
    codes = _codes(
        _download(bureau, bureau.get_by_role("button", name="下载邀请码清单").click,
                  tmp_path, "codes.xlsx")
    )  # fmt: skip
    assert set(codes) == {uscc(n) for n in FIRMS}
    letters = PdfReader(
        _download(bureau, bureau.get_by_role("button", name="下载邀请函").click,
                  tmp_path, "letters.pdf")
    )  # fmt: skip
    assert len(letters.pages) == len(FIRMS)
    assert TITLE in (letters.pages[0].extract_text() or "").replace("\n", "")

    # Enterprise 1 signs in with the code from the workbook and uploads its sheet.
    firm = new_page(browser)
    firm.goto(server.url("/e/signin"))
    firm.get_by_label("邀请码").fill(codes[uscc(1)])
    firm.get_by_role("button", name="登录").click()
    expect(firm.get_by_role("heading", name=TITLE)).to_be_visible()
    rows = salary_rows(6)
    _upload(firm, rows)
    expect(firm.locator("#submission-status")).to_have_text("已提交")

    # The bureau returns it with a reason.
    bureau.goto(server.url("/admin/review"))
    screenshot(bureau, "review-queue", full_page=True)
    bureau.get_by_role("link", name="铜川示例企业1有限公司").click()
    bureau.get_by_label("退回企业修改").check()
    bureau.get_by_label("退回原因（企业可见；退回时必填）").fill("第3行年度应发工资有误，请核实。")
    screenshot(bureau, "review-submission", full_page=True)
    bureau.get_by_role("button", name="提交审核意见").click()
    expect(bureau.locator(".flash")).to_contain_text("已退回")

    # The enterprise sees the reason, amends and submits again.
    firm.reload()
    expect(firm.get_by_text("第3行年度应发工资有误，请核实。")).to_be_visible()
    screenshot(firm, "enterprise-returned", full_page=True)
    rows[2][2] = 66_000
    _upload(firm, rows)
    expect(firm.locator("#submission-status")).to_have_text("已提交")

    # The bureau sees the change and accepts.
    bureau.goto(server.url("/admin/review"))
    bureau.get_by_role("link", name="铜川示例企业1有限公司").click()
    expect(bureau.locator("#changes")).to_contain_text("66000")
    bureau.get_by_label("通过").check()
    bureau.get_by_role("button", name="提交审核意见").click()
    expect(bureau.locator(".flash")).to_contain_text("已通过")

    # Reminders: the two who have not answered, with their contacts.
    bureau.goto(server.url("/admin/reminders"))
    bureau.get_by_role("link", name=TITLE).click()
    for n in (2, 3):
        expect(bureau.get_by_text(f"铜川示例企业{n}有限公司").first).to_be_visible()
    expect(bureau.get_by_text("铜川示例企业1有限公司")).to_have_count(0)
    screenshot(bureau, "reminders", full_page=True)

    # A district's staff member (印台区), the token made on the tokens page, sees only the
    # district's enterprise in the registry and nothing of 王益区's survey in the queue.
    bureau.get_by_role("link", name="令牌与人员").click()
    bureau.get_by_label("角色").select_option("district")
    bureau.get_by_label("区县（仅区县工作人员）").select_option("610203")
    bureau.get_by_label("用途或使用人").fill("印台区总工会 李四")
    bureau.get_by_role("button", name="创建令牌").click()
    district_token = bureau.locator("#new-token-value").input_value()
    district = new_page(browser)
    _sign_in(district, server, district_token)
    expect(district).to_have_url(server.url("/admin/review"))
    expect(district.get_by_text("铜川示例企业1有限公司")).to_have_count(0)
    district.goto(server.url("/admin/enterprises"))
    expect(district.get_by_text("铜川示例企业3有限公司").first).to_be_visible()
    expect(district.get_by_text("铜川示例企业1有限公司")).to_have_count(0)
    expect(district.get_by_text("铜川示例企业2有限公司")).to_have_count(0)
    screenshot(district, "district-registry", full_page=True)
    district.goto(server.url("/admin/tokens"))
    expect(district).to_have_url(server.url("/admin/signin"))

    # The release, from the campaign's page.
    bureau.goto(campaign_url)
    bureau.get_by_role("button", name="发布数据").click()
    expect(bureau.locator("#release-list")).to_contain_text("1")
    screenshot(bureau, "campaign", full_page=True)

    # An analyst's token, made on the tokens page; the analyst downloads table and guide.
    bureau.get_by_role("link", name="令牌与人员").click()
    bureau.get_by_label("用途或使用人").fill("市总工会 分析员")
    bureau.get_by_role("button", name="创建令牌").click()
    analyst_token = bureau.locator("#new-token-value").input_value()
    analyst = new_page(browser, accept_downloads=True)
    analyst.goto(server.url("/analyst"))
    analyst.get_by_label("分析员令牌").fill(analyst_token)
    analyst.get_by_role("button", name="登录").click()
    analyst.get_by_role("button", name="显示表格").click()
    table = analyst.locator("#wage-table")
    expect(table).to_be_visible()
    saved = _download(analyst, analyst.locator("#download-csv").click, tmp_path, "table.csv")
    lines = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert len(lines) - 1 == table.locator("tbody tr").count() > 0
    analyst.locator("#ask-guide").click()
    guide_link = analyst.get_by_role("link", name="下载 PDF")
    expect(guide_link).to_be_visible(timeout=120_000)
    guide = PdfReader(_download(analyst, guide_link.click, tmp_path, "guide.pdf"))
    assert len(guide.pages) >= 2
    for page in (bureau, firm, district, analyst):
        page.context.close()
