"""The upload template: an .xlsx whose one header row holds the columns' Chinese labels, so
that the filled-in file uploads back as it is, with drop-downs for choices, number limits
as data validation, and an instructions sheet (说明) describing every column.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from survey_service.collection.spreadsheets import (
    DEFAULT_LIMITS,
    column_labels,
    column_letter,
    row_properties,
)
from survey_service.forms.form_posts import json_type
from survey_service.reference.codes import districts, industries, occupations

INSTRUCTIONS_SHEET = "说明"
CHOICES_SHEET = "选项"  # hidden: the drop-down lists, which may be longer than Excel's 255
DATA_SHEET_FALLBACK = "数据"

TEMPLATE_CREATED = datetime(2024, 1, 1, tzinfo=UTC)

_REQUIRED_FILL = "#FCE4D6"
_OPTIONAL_FILL = "#EDEDED"
_TYPE_NAMES = {
    "string": "文本",
    "integer": "整数",
    "number": "数字",
    "boolean": "是/否",
}


def template_workbook(form_title_zh: str, row_schema: Mapping[str, Any]) -> bytes:
    """The template for uploading rows of ``row_schema`` (one form's row JSON Schema)."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    # The same bytes for the same form on every request (xlsxwriter stamps "now" otherwise):
    # a GET, its HEAD and any cache then agree on the length and the content.
    workbook.set_properties({"created": TEMPLATE_CREATED})
    title = row_schema.get("title")
    data_sheet_name = _sheet_name(title if isinstance(title, str) else "")
    data = workbook.add_worksheet(data_sheet_name)
    instructions = workbook.add_worksheet(INSTRUCTIONS_SHEET)
    choices = workbook.add_worksheet(CHOICES_SHEET)
    choices.hide()
    data.activate()

    columns = _describe(row_schema)
    _write_data_sheet(workbook, data, columns)
    _write_choices(choices, columns)
    _write_instructions(workbook, instructions, form_title_zh, data_sheet_name, columns)
    _write_code_lists(workbook, columns)
    workbook.close()
    return buffer.getvalue()


class _ColumnInfo:
    """What the template says about one column."""

    def __init__(self, key: str, label: str, prop: Mapping[str, Any], required: bool) -> None:
        self.key = key
        self.label = label
        self.prop = prop
        self.required = required
        self.kind = json_type(prop) or ""
        self.choices = _choice_labels(prop, self.kind)
        description = prop.get("description")
        self.description = description if isinstance(description, str) else ""


def _describe(row_schema: Mapping[str, Any]) -> list[_ColumnInfo]:
    required = row_schema.get("required")
    required_keys = set(required) if isinstance(required, list) else set()
    properties = row_properties(row_schema)
    return [
        _ColumnInfo(key, label, properties[key], key in required_keys)
        for key, label in column_labels(row_schema).items()
    ]


def _choice_labels(prop: Mapping[str, Any], kind: str) -> list[tuple[str, str]]:
    """(Chinese label, value as text) for each allowed value; yes/no for a boolean."""
    values = prop.get("enum")
    if isinstance(values, list):
        labels = prop.get("x-enum-labels")
        labels = labels if isinstance(labels, Mapping) else {}
        result = []
        for value in values:
            label = labels.get(str(value))
            zh = label.get("zh") if isinstance(label, Mapping) else None
            result.append((zh if isinstance(zh, str) and zh else str(value), str(value)))
        return result
    if kind == "boolean":
        return [("是", "true"), ("否", "false")]
    return []


def _sheet_name(title: str) -> str:
    """The title as a sheet name: at most 31 characters, none of []:*?/\\."""
    name = re.sub(r"[\[\]:*?/\\]", "", title).strip().strip("'")[:31]
    if not name or name in {INSTRUCTIONS_SHEET, CHOICES_SHEET}:
        return DATA_SHEET_FALLBACK
    return name


def _display_width(text: str) -> int:
    """Columns as Excel counts them: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _limited(text: str, limit: int) -> str:
    """Excel refuses prompt titles over 32 and messages over 255 UTF-16 code units."""
    if _utf16_length(text) <= limit:
        return text
    while _utf16_length(text) > limit - 1:
        text = text[:-1]
    return text + "…"


def _number(value: float) -> str:
    """1600000 as ``1600000``, not ``1.6e+06``; 0.5 as ``0.5``."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _number_limits(prop: Mapping[str, Any]) -> tuple[Any, Any, bool, bool]:
    """(lower, upper, lower is exclusive, upper is exclusive); None where open."""
    lower, upper = prop.get("minimum"), prop.get("maximum")
    lower_open = upper_open = False
    if isinstance(prop.get("exclusiveMinimum"), int | float):
        lower, lower_open = prop["exclusiveMinimum"], True
    if isinstance(prop.get("exclusiveMaximum"), int | float):
        upper, upper_open = prop["exclusiveMaximum"], True
    return (
        lower if isinstance(lower, int | float) else None,
        upper if isinstance(upper, int | float) else None,
        lower_open,
        upper_open,
    )


def _limits_text(column: _ColumnInfo) -> str:
    prop = column.prop
    if column.kind in {"integer", "number"}:
        lower, upper, lower_open, upper_open = _number_limits(prop)
        if lower is not None and upper is not None and not (lower_open or upper_open):
            return f"{_number(lower)} ～ {_number(upper)}"
        parts = []
        if lower is not None:
            parts.append(f"{'>' if lower_open else '≥'} {_number(lower)}")
        if upper is not None:
            parts.append(f"{'<' if upper_open else '≤'} {_number(upper)}")
        return "，".join(parts)
    if column.kind == "string" and not column.choices:
        shortest, longest = prop.get("minLength"), prop.get("maxLength")
        if isinstance(shortest, int) and shortest == longest:
            return f"{shortest} 个字符"
        if isinstance(longest, int):
            return f"最多 {longest} 个字符"
        if prop.get("format") == "date":
            return "日期，如 2024-01-31"
    return ""


def _type_text(column: _ColumnInfo) -> str:
    if column.choices and column.kind != "boolean":
        return "选项"
    return _TYPE_NAMES.get(column.kind, "文本")


def _validation(column: _ColumnInfo, choices_range: str | None) -> dict[str, Any]:
    """The data validation for a column: a drop-down, a number range, or a prompt only."""
    prompt = {
        "input_title": _limited(column.label, 32),
        "input_message": _limited(
            "；".join(
                part
                for part in (
                    "必填" if column.required else "选填",
                    _limits_text(column),
                    column.description,
                )
                if part
            ),
            255,
        ),
    }
    if choices_range is not None:
        # A warning, not a stop: the reader also takes the English label or the code.
        return {
            "validate": "list",
            "source": choices_range,
            "error_type": "warning",
            "error_title": "不在选项中",
            "error_message": "请从下拉列表中选择。",
            **prompt,
        }
    if column.kind in {"integer", "number"}:
        lower, upper, lower_open, upper_open = _number_limits(column.prop)
        kind = "integer" if column.kind == "integer" else "decimal"
        whole = "整数" if column.kind == "integer" else "数字"
        if lower is not None and upper is not None and not (lower_open or upper_open):
            rule = {"criteria": "between", "minimum": lower, "maximum": upper}
        elif lower is not None:
            rule = {"criteria": ">" if lower_open else ">=", "value": lower}
        elif upper is not None:
            rule = {"criteria": "<" if upper_open else "<=", "value": upper}
        else:
            return {"validate": "any", **prompt}
        return {
            "validate": kind,
            **rule,
            "error_title": "数值超出范围",
            "error_message": _limited(f"应为{whole}，{_limits_text(column)}。", 255),
            **prompt,
        }
    return {"validate": "any", **prompt}


def _write_data_sheet(
    workbook: xlsxwriter.Workbook, sheet: Worksheet, columns: Sequence[_ColumnInfo]
) -> None:
    header = {"bold": True, "border": 1, "text_wrap": True, "valign": "vcenter"}
    required_format = workbook.add_format({**header, "bg_color": _REQUIRED_FILL})
    optional_format = workbook.add_format({**header, "bg_color": _OPTIONAL_FILL})
    # Text columns are formatted as text, so Excel does not turn codes into numbers or dates.
    text_format = workbook.add_format({"num_format": "@"})
    last_row = DEFAULT_LIMITS.max_rows
    choice_column = 0
    for position, column in enumerate(columns):
        widest = max(
            [_display_width(column.label), *(_display_width(zh) for zh, _ in column.choices)]
        )
        is_text = column.kind == "string" and not column.choices
        sheet.set_column(
            position, position, min(max(widest + 2, 10), 40), text_format if is_text else None
        )
        sheet.write_string(
            0, position, column.label, required_format if column.required else optional_format
        )
        choices_range = None
        if column.choices:
            letter = column_letter(choice_column)
            choices_range = f"='{CHOICES_SHEET}'!${letter}$1:${letter}${len(column.choices)}"
            choice_column += 1
        sheet.data_validation(1, position, last_row, position, _validation(column, choices_range))
    sheet.freeze_panes(1, 0)
    sheet.set_row(0, 30)


def _code_list(fmt: str) -> tuple[str, str, list[tuple[str, str, str]]] | None:
    """(sheet name, note, rows of code, name, level) for a column of a coded format."""
    if fmt == "occupation-code":
        levels = {"major": "大类", "middle": "中类"}
        return (
            "职业代码",
            "《职业分类大典》（2022年版）的大类和中类。请尽量填到细类（如 6-01-02-03，"
            "见大典），细类须属于下列中类；只知道中类时填中类代码（如 6-01）。",
            [(o.code, o.name, levels.get(o.level, o.level)) for o in occupations().values()],
        )
    if fmt == "industry-code":
        levels = {"section": "门类", "division": "大类"}
        return (
            "行业代码",
            "GB/T 4754-2017 的门类和大类。可填到中类或小类（如 C3011），须属于下列大类。",
            [(i.code, i.name, levels.get(i.level, i.level)) for i in industries().values()],
        )
    if fmt == "division-code":
        return (
            "区县代码",
            "铜川市的区县代码；也可以直接填写区县名称（如 耀州区）。",
            [(d.code, d.name, "") for d in districts().values()],
        )
    return None


def _write_code_lists(workbook: xlsxwriter.Workbook, columns: Sequence[_ColumnInfo]) -> None:
    """A sheet per coded column (occupations, industries, districts) to look codes up in."""
    bold = workbook.add_format({"bold": True})
    for column in columns:
        listed = _code_list(str(column.prop.get("format") or ""))
        if listed is None:
            continue
        name, note, rows = listed
        sheet = workbook.add_worksheet(name)
        sheet.set_column(0, 0, 12)
        sheet.set_column(1, 1, 60)
        sheet.set_column(2, 2, 8)
        sheet.write_string(0, 0, note)
        for position, text in enumerate(("代码", "名称", "层级")):
            sheet.write_string(2, position, text, bold)
        for offset, row in enumerate(rows, start=3):
            for position, text in enumerate(row):
                sheet.write_string(offset, position, text)
        sheet.freeze_panes(3, 0)


def _write_choices(sheet: Worksheet, columns: Sequence[_ColumnInfo]) -> None:
    choice_column = 0
    for column in columns:
        if not column.choices:
            continue
        for row, (zh, _) in enumerate(column.choices):
            sheet.write_string(row, choice_column, zh)
        choice_column += 1


_INSTRUCTIONS = (
    "1. 在“{sheet}”工作表中每行填写一条记录；第一行表头请勿修改或合并，列的顺序可以调整，"
    "不用的选填列可以删除。",
    "2. 橙色表头为必填列，灰色为选填列。选项列请从下拉列表中选择，也可以填写英文名称或代码；"
    "职业、行业、区县代码可在同名工作表中查找。",
    "3. 只填写数值：不要使用公式、合并单元格或多余的标题行；空行会被忽略。",
    "4. 填好后直接上传 .xlsx 文件；也可以“另存为 → CSV UTF-8（逗号分隔）”后上传。",
)
_TABLE_HEADER = ("列名（表头）", "英文键名", "类型", "是否必填", "可填写的值", "取值范围", "说明")
_TABLE_WIDTHS = (22, 20, 8, 10, 40, 18, 60)


def _write_instructions(
    workbook: xlsxwriter.Workbook,
    sheet: Worksheet,
    form_title_zh: str,
    data_sheet_name: str,
    columns: Sequence[_ColumnInfo],
) -> None:
    title_format = workbook.add_format({"bold": True, "font_size": 14})
    header_format = workbook.add_format(
        {"bold": True, "border": 1, "bg_color": _OPTIONAL_FILL, "valign": "top"}
    )
    cell_format = workbook.add_format({"border": 1, "text_wrap": True, "valign": "top"})
    sheet.write_string(0, 0, f"{form_title_zh} — 上传模板说明", title_format)
    for offset, line in enumerate(_INSTRUCTIONS, start=1):
        sheet.write_string(offset, 0, line.format(sheet=data_sheet_name))
    table_row = len(_INSTRUCTIONS) + 2
    for position, (text, width) in enumerate(zip(_TABLE_HEADER, _TABLE_WIDTHS, strict=True)):
        sheet.set_column(position, position, width)
        sheet.write_string(table_row, position, text, header_format)
    for offset, column in enumerate(columns, start=1):
        values = "、".join(
            zh if zh == value else f"{zh}（{value}）" for zh, value in column.choices
        )
        cells = (
            column.label,
            column.key,
            _type_text(column),
            "必填" if column.required else "选填",
            values,
            _limits_text(column),
            column.description,
        )
        for position, text in enumerate(cells):
            sheet.write_string(table_row + offset, position, text, cell_format)
