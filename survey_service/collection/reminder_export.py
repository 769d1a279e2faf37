"""The enterprises still to submit, as a workbook to call or write to from: one line each
with its district, state and contact, and a second sheet with the campaign and the
reminder's text. Every text is written as a string cell: a name or contact that starts
with ``=`` is shown as typed and never run as a formula."""

from __future__ import annotations

import io
from collections.abc import Sequence

import xlsxwriter

from survey_service.collection.reminders import Outstanding, ReminderText
from survey_service.reference.codes import districts

SHEET = "未填报企业"
STATE_LABELS = {
    "not_invited": "未邀请",
    "invited": "已邀请未填报",
    "draft": "草稿未提交",
    "returned": "退回待修改",
}
HEADERS = ("区县", "统一社会信用代码", "企业名称", "填报状态", "联系人", "联系电话", "电子邮箱",
           "上次提醒")  # fmt: skip


def _district(code: str) -> str:
    found = districts().get(code)
    return found.name if found is not None else code


def outstanding_cells(row: Outstanding, reminded_at: str) -> list[str]:
    return [
        _district(row.district),
        row.uscc,
        row.name,
        STATE_LABELS[row.state],
        row.contact_name or "",
        row.contact_phone or "",
        row.contact_email or "",
        reminded_at,
    ]


def outstanding_workbook(
    rows: Sequence[Outstanding],
    reminded_at: Sequence[str],
    *,
    about: Sequence[tuple[str, str]],
    text: ReminderText,
) -> bytes:
    """``reminded_at``: each row's last reminder as the reader writes it (or "");
    ``about``: the campaign's lines of the second sheet (title, deadline, made at)."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = workbook.add_format({"bold": True, "valign": "top"})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    sheet = workbook.add_worksheet(SHEET)
    for col, label in enumerate(HEADERS):
        sheet.write_string(0, col, label, bold)
    sheet.set_column(0, 0, 10)
    sheet.set_column(1, 1, 22)
    sheet.set_column(2, 2, 30)
    sheet.set_column(3, len(HEADERS) - 1, 16)
    sheet.freeze_panes(1, 0)
    for r, (row, when) in enumerate(zip(rows, reminded_at, strict=True), start=1):
        for col, value in enumerate(outstanding_cells(row, when)):
            if value:
                sheet.write_string(r, col, value)
    notes = workbook.add_worksheet("提醒内容")
    notes.set_column(0, 0, 14)
    notes.set_column(1, 1, 90)
    lines = [*about, ("企业数", str(len(rows))), ("提醒标题", text.subject),
             ("提醒正文", text.body)]  # fmt: skip
    for r, (name, value) in enumerate(lines):
        notes.write_string(r, 0, name, bold)
        notes.write_string(r, 1, value, wrap)
    workbook.close()
    return buffer.getvalue()
