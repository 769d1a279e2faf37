"""The invitation codes as a workbook for a mail merge: one row per enterprise with its
district, contact, the sign-in address, the code and the deadline. Made only from the codes
of the issuing moment (they are stored hashed and cannot be read back), every text a string
cell, never a formula."""

from __future__ import annotations

import io
from collections.abc import Sequence

import xlsxwriter

from survey_service.collection.invitations import IssuedCode
from survey_service.collection.registry_export import district_label

HEADERS = (
    "企业名称",
    "统一社会信用代码",
    "区县",
    "联系人",
    "联系电话",
    "电子邮箱",
    "登录地址",
    "邀请码",
    "截止时间",
)


def codes_workbook(
    codes: Sequence[IssuedCode], *, campaign_title: str, signin_url: str, deadline: str
) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = workbook.add_format({"bold": True})
    sheet = workbook.add_worksheet("邀请码")
    for col, header in enumerate(HEADERS):
        sheet.write_string(0, col, header, bold)
    sheet.set_column(0, 0, 30)
    sheet.set_column(1, 5, 16)
    sheet.set_column(6, 7, 46)
    sheet.set_column(8, 8, 18)
    sheet.freeze_panes(1, 0)
    for r, issued in enumerate(codes, start=1):
        e = issued.enterprise
        cells = (
            e.name,
            e.uscc,
            district_label(e.district),
            e.contact_name or "",
            e.contact_phone or "",
            e.contact_email or "",
            signin_url,
            issued.code,
            deadline,
        )
        for col, value in enumerate(cells):
            if value:
                sheet.write_string(r, col, value)
    notes = workbook.add_worksheet("说明")
    notes.set_column(0, 0, 100)
    for r, line in enumerate(
        (
            f"{campaign_title}：邀请码清单（用于邮件合并）。",
            "邀请码只在生成时显示这一次，系统只保存其摘要，无法再次导出；请妥善保管本文件，"
            "用完后删除。",
            "邀请码遗失或泄露时，请在“邀请”页面重新生成（原邀请码随即失效）。",
        )
    ):
        notes.write_string(r, 0, line)
    workbook.close()
    return buffer.getvalue()
