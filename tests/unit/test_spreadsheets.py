"""Payroll spreadsheets read into salary-survey rows, and hostile files refused early.

Workbooks are built here with xlsxwriter (and, for layouts xlsxwriter does not write, by
rewriting its sheet XML); CSV files are literal bytes.
"""

from __future__ import annotations

import io
import json
import random
import re
import time
import zipfile
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import python_calamine
import xlsxwriter

from survey_service.collection.spreadsheets import (
    SheetLimits,
    SpreadsheetError,
    column_labels,
    read_rows,
)
from survey_service.collection.template import template_workbook

FORMS_DIR = Path(__file__).resolve().parents[2] / "form_schemas"
SURVEY = json.loads((FORMS_DIR / "salary-survey.json").read_text(encoding="utf-8"))
ROW_SCHEMA: dict[str, Any] = SURVEY["schema"]["properties"]["employees"]["items"]
SHEET = "xl/worksheets/sheet1.xml"

Cell = str | int | float | bool | date | None


def workbook(
    rows: Sequence[Sequence[Cell]],
    *,
    first_row: int = 0,
    first_column: int = 0,
    extra: Callable[[Any, Any], None] | None = None,
) -> bytes:
    """An .xlsx with ``rows`` written from (first_row, first_column), 0-based."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    # The same rows make the same bytes (else the creation time in docProps/core.xml
    # changes the length, and the property tests' draws with it).
    book.set_properties({"created": datetime(2024, 1, 1)})
    sheet = book.add_worksheet("工资表")
    bold = book.add_format({"bold": True})  # style 1, used by crafted empty rows
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, date):
                sheet.write_datetime(first_row + r, first_column + c, value, day)
            else:
                sheet.write(first_row + r, first_column + c, value, bold if r == 0 else None)
    if extra is not None:
        extra(book, sheet)
    book.close()
    return buffer.getvalue()


def rewrite(content: bytes, member: str, transform: Callable[[bytes], bytes]) -> bytes:
    """The same ZIP with one member's bytes transformed."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for name in source.namelist():
            data = source.read(name)
            target.writestr(name, transform(data) if name == member else data)
    return out.getvalue()


def refused(content: bytes, filename: str, **kwargs: Any) -> SpreadsheetError:
    with pytest.raises(SpreadsheetError) as caught:
        read_rows(content, filename, ROW_SCHEMA, **kwargs)
    return caught.value


@pytest.fixture
def no_unpacking(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if any ZIP member is read (written ones are the test's own)."""
    open_member = zipfile.ZipFile.open

    def guarded(archive: zipfile.ZipFile, name: Any, mode: str = "r", **kwargs: Any) -> Any:
        if mode == "r":
            raise AssertionError(f"{name} was decompressed")
        return open_member(archive, name, mode, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", guarded)


@pytest.fixture
def no_calamine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if calamine is asked to read the workbook."""

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("calamine was reached")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_filelike", refuse)


HEADER_ZH = ["职业代码", "学历", "性别", "是否工会会员", "工作月数", "年度应发工资"]


# --- headers --------------------------------------------------------------------------


def test_chinese_headers_and_chinese_labels_read_into_keys_and_values() -> None:
    content = workbook(
        [
            HEADER_ZH,
            ["6-01-02-03", "本科", "女", "是", 12, 68000],
            ["2-02-10-01", "高中/中专", "男", "否", 11.0, 52000.5],
        ]
    )
    sheet = read_rows(content, "工资表.xlsx", ROW_SCHEMA)
    assert sheet.errors == []
    assert sheet.rows == [
        (
            2,
            {
                "occupation": "6-01-02-03",
                "education": "bachelor",
                "sex": "female",
                "union_member": True,
                "months_worked": 12,
                "annual_pay": 68000,
            },
        ),
        (
            3,
            {
                "occupation": "2-02-10-01",
                "education": "upper_secondary",
                "sex": "male",
                "union_member": False,
                "months_worked": 11,
                "annual_pay": 52000.5,
            },
        ),
    ]
    assert sheet.columns["annual_pay"] == "年度应发工资"
    assert sheet.sheet == "工资表"


def test_keys_and_english_titles_are_headers_too_in_any_case_and_spacing() -> None:
    content = workbook(
        [
            ["occupation", " Education ", "MONTHS_WORKED", "Annual  gross pay", "Sex"],
            ["6-01-02-03", "Bachelor's degree", 12, 68000, "female"],
        ]
    )
    sheet = read_rows(content, "payroll.xlsx", ROW_SCHEMA)
    assert sheet.errors == []
    assert sheet.rows == [
        (
            2,
            {
                "occupation": "6-01-02-03",
                "education": "bachelor",
                "months_worked": 12,
                "annual_pay": 68000,
                "sex": "female",
            },
        )
    ]
    assert sheet.columns == {
        "occupation": "occupation",
        "education": "Education",
        "months_worked": "MONTHS_WORKED",
        "annual_pay": "Annual  gross pay",
        "sex": "Sex",
    }


def test_unknown_header_is_an_error_on_the_header_row_naming_the_column() -> None:
    content = workbook([[*HEADER_ZH, "身份证号"], ["6-01", "本科", "女", "是", 12, 68000, "x"]])
    sheet = read_rows(content, "a.xlsx", ROW_SCHEMA)
    assert [(e["row"], e["column"]) for e in sheet.errors] == [(1, "身份证号")]
    assert "身份证号" in sheet.errors[0]["message_zh"]
    assert sheet.rows[0][1]["annual_pay"] == 68000  # the known columns are still read


def test_the_header_is_the_first_non_empty_row_wherever_it_starts() -> None:
    content = workbook(
        [["工作月数", "年度应发工资", "职业代码"], [12, 68000, "6-01"]], first_row=2, first_column=1
    )
    sheet = read_rows(content, "a.xlsx", ROW_SCHEMA)
    assert sheet.errors == []
    assert sheet.rows == [(4, {"months_worked": 12, "annual_pay": 68000, "occupation": "6-01"})]


def test_a_column_named_twice_is_an_error_naming_both_headers() -> None:
    content = workbook(
        [["职业代码", "工作月数", "年度应发工资", "annual_pay"], ["6-01", 12, 68000, 70000]]
    )
    sheet = read_rows(content, "a.xlsx", ROW_SCHEMA)
    assert [(e["row"], e["column"]) for e in sheet.errors] == [(1, "annual_pay")]
    assert "年度应发工资" in sheet.errors[0]["message"]
    assert sheet.rows[0][1]["annual_pay"] == 68000  # the first of the two is kept


def test_a_missing_required_column_is_an_error_with_its_chinese_label() -> None:
    content = workbook([["职业代码", "年度应发工资"], ["6-01", 68000]])
    sheet = read_rows(content, "a.xlsx", ROW_SCHEMA)
    assert [(e["row"], e["column"]) for e in sheet.errors] == [(1, "工作月数")]
    assert "months_worked" in sheet.errors[0]["message"]


def test_values_under_no_header_are_reported_by_column_letter() -> None:
    content = workbook(
        [["职业代码", "工作月数", "年度应发工资"], ["6-01", 12, 68000, None, "备注"]]
    )
    sheet = read_rows(content, "a.xlsx", ROW_SCHEMA)
    assert [(e["row"], e["column"]) for e in sheet.errors] == [(2, "E")]


def test_locate_names_the_row_and_header_of_a_json_pointer() -> None:
    content = workbook([HEADER_ZH, ["6-01", "本科", "女", "是", 12, 68000], [], ["6-02"]])
    sheet = read_rows(content, "a.xlsx", ROW_SCHEMA)
    # /employees/1/annual_pay: the second row read, which is row 4 of the sheet
    assert sheet.locate(1, "annual_pay") == (4, "年度应发工资")
    assert sheet.locate(1) == (4, "")


# --- values ---------------------------------------------------------------------------


def test_numbers_with_separators_full_width_digits_and_currency_become_numbers() -> None:
    text = (
        "职业代码,工作月数,年度应发工资,基本工资,奖金和绩效工资,津贴和补贴\n"
        '6-01,１２,"68,000","¥48,000.00",12000.0,6000元\n'
    )
    sheet = read_rows(text.encode("utf-8"), "a.csv", ROW_SCHEMA)
    assert sheet.rows == [
        (
            2,
            {
                "occupation": "6-01",
                "months_worked": 12,
                "annual_pay": 68000,
                "base_pay": 48000,
                "bonus": 12000,
                "allowances": 6000,
            },
        )
    ]


def test_what_is_not_a_number_passes_through_for_the_schema_to_report() -> None:
    text = '职业代码,工作月数,年度应发工资\n6-01,12.5,abc\n6-02,十二,"68,00"\n'
    sheet = read_rows(text.encode("utf-8"), "a.csv", ROW_SCHEMA)
    rows = [data for _, data in sheet.rows]
    assert rows[0]["months_worked"] == 12.5
    assert rows[0]["annual_pay"] == "abc"
    assert rows[1]["months_worked"] == "十二"
    assert rows[1]["annual_pay"] == "68,00"  # not a thousands separator: left alone
    validator = jsonschema_rs.Draft202012Validator(ROW_SCHEMA)
    assert not validator.is_valid(rows[0])


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("是", True), ("否", False), ("Y", True), ("n", False), ("TRUE", True), ("0", False)],
)
def test_booleans_accept_chinese_and_english_words(cell: str, expected: bool) -> None:
    text = f"职业代码,工作月数,年度应发工资,是否工会会员\n6-01,12,68000,{cell}\n"
    sheet = read_rows(text.encode("utf-8"), "a.csv", ROW_SCHEMA)
    assert sheet.rows[0][1]["union_member"] is expected


def test_enum_accepts_the_value_or_either_label_and_leaves_other_text_alone() -> None:
    text = (
        "职业代码,工作月数,年度应发工资,用工形式\n"
        "6-01,12,68000,非全日制用工\n"
        "6-01,12,68000,part_time\n"
        "6-01,12,68000,Part-time (hourly)\n"
        "6-01,12,68000,临时工\n"
    )
    sheet = read_rows(text.encode("utf-8"), "a.csv", ROW_SCHEMA)
    forms = [data["employment_form"] for _, data in sheet.rows]
    assert forms == ["part_time", "part_time", "part_time", "临时工"]


def test_a_code_typed_as_a_number_matches_its_text_enum_value() -> None:
    schema = {
        "type": "object",
        "properties": {
            "district": {
                "type": "string",
                "enum": ["610202", "610203"],
                "title": "所在区县",
                "x-enum-labels": {"610202": {"zh": "王益区"}, "610203": {"zh": "印台区"}},
            },
            "hired": {"type": "string", "format": "date", "title": "入职日期"},
        },
    }
    content = workbook(
        [["所在区县", "入职日期"], [610202, date(2024, 1, 31)], ["印台区", "2023-05-01"]]
    )
    sheet = read_rows(content, "a.xlsx", schema)
    assert [data for _, data in sheet.rows] == [
        {"district": "610202", "hired": "2024-01-31"},
        {"district": "610203", "hired": "2023-05-01"},
    ]


def test_empty_and_blank_rows_are_skipped_and_rows_keep_their_sheet_numbers() -> None:
    text = "职业代码,工作月数,年度应发工资\n\n6-01,12,68000\n , ,\u3000\n,,\n6-02, 11 ,50000\n"
    sheet = read_rows(text.encode("utf-8"), "a.csv", ROW_SCHEMA)
    assert [row for row, _ in sheet.rows] == [3, 6]
    assert sheet.rows[1][1] == {"occupation": "6-02", "months_worked": 11, "annual_pay": 50000}


def test_identical_rows_are_warnings_not_errors() -> None:
    content = workbook([HEADER_ZH, *[["6-01", "本科", "女", "是", 12, 68000]] * 3])
    sheet = read_rows(content, "a.xlsx", ROW_SCHEMA)
    assert sheet.errors == []
    assert len(sheet.rows) == 3
    assert [w["row"] for w in sheet.warnings] == [3, 4]
    assert "row 2" in sheet.warnings[0]["message"]


# --- csv ------------------------------------------------------------------------------

CSV_TEXT = "职业代码,学历,工作月数,年度应发工资\n6-01-02-03,本科,12,68000\n"
EXPECTED_ROW = (
    2,
    {"occupation": "6-01-02-03", "education": "bachelor", "months_worked": 12, "annual_pay": 68000},
)


@pytest.mark.parametrize(
    "encoded",
    [
        pytest.param(CSV_TEXT.encode("gbk"), id="gbk"),
        pytest.param(CSV_TEXT.encode("gb18030"), id="gb18030"),
        pytest.param(CSV_TEXT.encode("utf-8-sig"), id="utf-8-bom"),
        pytest.param(CSV_TEXT.encode("utf-8"), id="utf-8"),
        pytest.param(CSV_TEXT.encode("utf-16"), id="utf-16-bom"),
    ],
)
def test_csv_in_the_encodings_excel_writes_is_read(encoded: bytes) -> None:
    sheet = read_rows(encoded, "工资表.csv", ROW_SCHEMA)
    assert sheet.errors == []
    assert sheet.rows == [EXPECTED_ROW]


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_csv_delimiter_is_sniffed(delimiter: str) -> None:
    text = CSV_TEXT.replace(",", delimiter) + delimiter.join(
        ["6-01-02-04", "本科", "12", '"68,500"']
    )
    sheet = read_rows(text.encode("utf-8"), "a.csv", ROW_SCHEMA)
    assert sheet.errors == []
    assert sheet.rows[0] == EXPECTED_ROW
    assert sheet.rows[1][1]["annual_pay"] == 68500


def test_csv_in_an_unknown_encoding_is_refused() -> None:
    generator = random.Random(7)
    noise = bytes(generator.randrange(128, 256) for _ in range(4000))
    error = refused(noise, "a.csv")
    assert "encoding" in error.message
    assert "编码" in error.message_zh


def test_csv_with_more_rows_than_the_limit_is_refused() -> None:
    text = "职业代码,工作月数,年度应发工资\n" + "6-01,12,68000\n" * 11
    error = refused(text.encode("utf-8"), "a.csv", limits=SheetLimits(max_rows=10))
    assert "10" in error.message


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_a_csv_line_is_bounded_at_its_limits_whatever_its_line_ends(end: str) -> None:
    header = "职业代码,工作月数,年度应发工资"
    row = "6-01,12,68000"
    at_limit = SheetLimits(max_line_chars=len(header), max_line_fields=3)
    content = (header + end + row + end).encode()
    assert (
        read_rows(content, "a.csv", ROW_SCHEMA, limits=at_limit).rows[0][1]["annual_pay"] == 68000
    )
    shorter = SheetLimits(max_line_chars=len(header) - 1)
    assert "Line 1 is longer than" in refused(content, "a.csv", limits=shorter).message
    padded = (header + end + row + "," + end).encode()
    assert "Line 2 has more than 3 columns" in refused(padded, "a.csv", limits=at_limit).message


# --- files that are not what they claim -----------------------------------------------


def test_a_text_file_renamed_xlsx_is_refused() -> None:
    error = refused(CSV_TEXT.encode("utf-8"), "工资表.xlsx")
    assert "not an Excel workbook" in error.message
    assert "text or CSV" in error.message


def test_a_web_page_named_xls_is_refused_with_a_save_as_hint() -> None:
    error = refused(b"<html><body><table><tr><td>1</td></tr></table></body></html>", "a.xls")
    assert "web page" in error.message
    assert ".xlsx" in error.message_zh


def test_a_legacy_xls_is_refused_with_a_save_as_hint() -> None:
    ole2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "Workbook".encode("utf-16-le")
    error = refused(ole2, "工资表.xls")
    assert "97-2003" in error.message
    assert "另存为" in error.message_zh
    assert "97-2003" in refused(ole2, "工资表.xlsx").message  # whatever its name


def test_a_password_protected_workbook_is_refused() -> None:
    ole2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "EncryptedPackage".encode("utf-16-le")
    assert "password" in refused(ole2, "a.xlsx").message


def test_a_zip_with_an_encrypted_member_is_refused(no_unpacking: None) -> None:
    content = bytearray(workbook([HEADER_ZH]))
    start = content.find(b"PK\x01\x02")  # the first central directory entry
    content[start + 8] |= 0x1  # its "encrypted" flag
    assert "encrypted" in refused(bytes(content), "a.xlsx").message


def test_a_zip_that_is_not_a_workbook_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    assert "Word document" in refused(out.getvalue(), "a.xlsx").message


def test_a_workbook_named_csv_is_refused() -> None:
    assert "name it .xlsx" in refused(workbook([HEADER_ZH]), "a.csv").message


def test_a_truncated_workbook_is_refused_as_damaged() -> None:
    content = workbook([HEADER_ZH, ["6-01", "本科", "女", "是", 12, 68000]])
    assert "damaged" in refused(content[: len(content) // 2], "a.xlsx").message


def test_an_unsupported_extension_is_refused() -> None:
    assert "Unsupported file type" in refused(b"x", "a.pdf").message


# --- zip bombs ------------------------------------------------------------------------


def zeros_member(size: int, level: int) -> bytes:
    """A workbook-looking ZIP whose sheet is ``size`` bytes of zeros, written in chunks."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open(SHEET, "w") as member:
            chunk = bytes(1 << 20)
            for _ in range(size >> 20):
                member.write(chunk)
    return out.getvalue()


def test_a_300_mb_zip_bomb_is_refused_without_unpacking(no_unpacking: None) -> None:
    bomb = zeros_member(300 << 20, level=1)
    assert len(bomb) < 2 << 20
    error = refused(bomb, "工资表.xlsx")
    assert "refused" in error.message
    assert SHEET in error.message or "300 MiB" in error.message


def test_a_member_that_expands_too_many_times_is_refused(no_unpacking: None) -> None:
    bomb = zeros_member(20 << 20, level=9)  # 20 MiB, well under the size limit
    error = refused(bomb, "a.xlsx")
    assert "ZIP bomb" in error.message
    assert SHEET in error.message


def test_a_workbook_over_the_uncompressed_limit_is_refused(no_unpacking: None) -> None:
    content = workbook([HEADER_ZH])
    error = refused(content, "a.xlsx", limits=SheetLimits(max_uncompressed=4096))
    assert "expands to" in error.message


def test_a_workbook_with_too_many_members_is_refused(no_unpacking: None) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for number in range(10_001):
            archive.writestr(f"xl/media/{number}.bin", b"")
    assert "10,000 parts" in refused(out.getvalue(), "a.xlsx").message


# --- what a sheet may not hold --------------------------------------------------------


def test_a_formula_is_refused_with_its_cell() -> None:
    def formula(_: Any, sheet: Any) -> None:
        sheet.write_formula("F3", "=F2*1.1", None, 74800)

    content = workbook([HEADER_ZH, ["6-01", "本科", "女", "是", 12, 68000]], extra=formula)
    error = refused(content, "a.xlsx")
    assert "F3" in error.message
    assert [(cell["row"], cell["column"]) for cell in error.cells] == [(3, "F")]


def test_merged_cells_are_refused_naming_the_range() -> None:
    def merge(_: Any, sheet: Any) -> None:
        sheet.merge_range("A3:B3", "6-01")

    content = workbook([HEADER_ZH, ["6-01", "本科", "女", "是", 12, 68000]], extra=merge)
    error = refused(content, "a.xlsx")
    assert "A3:B3" in error.message
    assert [(cell["row"], cell["column"]) for cell in error.cells] == [(3, "A")]


def test_a_validation_formula_in_the_sheet_extensions_is_not_a_cell_formula() -> None:
    extension = (
        b'<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
        b'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
        b'<x14:dataValidations count="1" '
        b'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
        b'<x14:dataValidation type="list"><x14:formula1><xm:f>Lists!$A$1:$A$6</xm:f>'
        b"</x14:formula1><xm:sqref>B2:B100</xm:sqref></x14:dataValidation>"
        b"</x14:dataValidations></ext></extLst>"
    )
    content = rewrite(
        workbook([HEADER_ZH, ["6-01", "本科", "女", "是", 12, 68000]]),
        SHEET,
        lambda xml: xml.replace(b"</worksheet>", extension + b"</worksheet>"),
    )
    assert read_rows(content, "a.xlsx", ROW_SCHEMA).rows[0][1]["education"] == "bachelor"


def test_a_doctype_in_the_sheet_is_refused() -> None:
    content = rewrite(
        workbook([HEADER_ZH]),
        SHEET,
        lambda xml: xml.replace(b"<worksheet", b'<!DOCTYPE x [<!ENTITY a "b">]><worksheet', 1),
    )
    assert "DOCTYPE" in refused(content, "a.xlsx").message


def _to_the_parser(xml: bytes) -> bytes:
    """The same sheet with two spaces in its cell tags: the fast scan hands it over."""
    return xml.replace(b'<c r="', b'<c  r="')


@pytest.mark.parametrize("reader", ["fast scan", "parser"])
def test_a_shared_text_counts_once_in_each_cell_that_shows_it(reader: str) -> None:
    content = workbook([HEADER_ZH, *[["备" * 10]] * 3])
    if reader == "parser":
        content = rewrite(content, SHEET, _to_the_parser)
    shown = sum(map(len, HEADER_ZH)) + 3 * 10
    assert (
        len(read_rows(content, "a.xlsx", ROW_SCHEMA, limits=SheetLimits(max_text_chars=shown)).rows)
        == 3
    )
    error = refused(content, "a.xlsx", limits=SheetLimits(max_text_chars=shown - 1))
    assert f"more than {shown - 1:,} characters" in error.message


@pytest.mark.parametrize("reader", ["fast scan", "parser"])
def test_inline_strings_count_with_the_shared_ones(reader: str) -> None:
    inline = b'<c r="A2" t="inlineStr"><is><t>' + b"x" * 1000 + b"</t></is></c>"
    content = rewrite(
        workbook([HEADER_ZH, ["6-01"]]),
        SHEET,
        lambda xml: re.sub(rb'<c r="A2"[^>]*><v>[0-9]+</v></c>', inline, xml),
    )
    if reader == "parser":
        content = rewrite(content, SHEET, _to_the_parser)
    assert read_rows(content, "a.xlsx", ROW_SCHEMA).rows[0][1]["occupation"] == "x" * 1000
    error = refused(content, "a.xlsx", limits=SheetLimits(max_text_chars=999))
    assert "text cells hold more than 999 characters" in error.message


def test_rows_over_the_limit_are_refused_before_calamine_reads_them(no_calamine: None) -> None:
    rows = [["6-01", "本科", "女", "是", 12, 68000 + n] for n in range(11)]
    content = workbook([HEADER_ZH, *rows])
    error = refused(content, "a.xlsx", limits=SheetLimits(max_rows=10))
    assert "more than 10 data rows" in error.message


def test_a_value_beyond_the_column_limit_is_refused(no_calamine: None) -> None:
    content = workbook([HEADER_ZH, ["6-01"]], extra=lambda _, sheet: sheet.write("XFD2", 1))
    assert "XFD" in refused(content, "a.xlsx").message


def test_the_first_visible_sheet_is_read() -> None:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    hidden = book.add_worksheet("旧数据")
    hidden.write_row(0, 0, ["不是表头"])
    hidden.hide()
    data = book.add_worksheet("本年")
    data.write_row(0, 0, ["职业代码", "工作月数", "年度应发工资"])
    data.write_row(1, 0, ["6-01", 12, 68000])
    data.activate()
    book.close()
    sheet = read_rows(buffer.getvalue(), "a.xlsx", ROW_SCHEMA)
    assert sheet.sheet == "本年"
    assert sheet.rows == [(2, {"occupation": "6-01", "months_worked": 12, "annual_pay": 68000})]


# --- far-away and empty rows ----------------------------------------------------------


def million_formatted_empty_rows(xml: bytes) -> bytes:
    """What Excel writes after a user formats whole rows: a claimed dimension down to row
    1,048,576 and an empty, styled row (with a styled blank cell) for each of them."""
    head, end, tail = xml.partition(b"</sheetData>")
    head = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:F1048576"/>', head)
    rows = b"".join(
        b'<row r="%d" s="1" customFormat="1"><c r="A%d" s="1"/></row>' % (n, n)
        for n in range(4, 1_048_577)
    )
    return head + rows + end + tail


def test_a_million_formatted_empty_rows_are_read_quickly() -> None:
    data = [
        HEADER_ZH,
        ["6-01", "本科", "女", "是", 12, 68000],
        ["6-02", "大专", "男", "否", 12, 50000],
    ]
    content = rewrite(workbook(data), SHEET, million_formatted_empty_rows)
    started = time.perf_counter()
    sheet = read_rows(content, "a.xlsx", ROW_SCHEMA)
    elapsed = time.perf_counter() - started
    assert [row for row, _ in sheet.rows] == [2, 3]
    assert elapsed < 10, f"{elapsed:.1f} s for 1,048,573 empty rows"


def test_a_value_a_million_rows_below_the_data_is_refused_before_calamine(
    no_calamine: None,
) -> None:
    content = workbook(
        [HEADER_ZH, ["6-01", "本科", "女", "是", 12, 68000]],
        extra=lambda _, sheet: sheet.write(1_000_000, 0, "合计"),
    )
    assert len(content) < 10_000
    error = refused(content, "a.xlsx")
    assert "Row 1000001" in error.message
    assert "999,998 empty rows" in error.message
    assert error.cells[0]["row"] == 1_000_001


def test_a_stray_value_within_the_cell_budget_becomes_a_row_of_its_own() -> None:
    content = workbook(
        [HEADER_ZH, ["6-01", "本科", "女", "是", 12, 68000]],
        extra=lambda _, sheet: sheet.write(4_999, 0, "合计"),
    )
    sheet = read_rows(content, "a.xlsx", ROW_SCHEMA)
    assert sheet.rows[-1] == (5_000, {"occupation": "合计"})


def prefixed(xml: bytes) -> bytes:
    """Every element with an ``x:`` prefix, as some .NET writers do."""
    xml = re.sub(rb"<(/?)(?=[A-Za-z])", rb"<\1x:", xml)
    return xml.replace(b'<x:worksheet xmlns="', b'<x:worksheet xmlns:x="')


def attributes_reordered(xml: bytes) -> bytes:
    return re.sub(rb'<c r="([A-Z]+[0-9]+)"( [st]="[^"]*")+', rb'<c\2 r="\1"', xml)


def without_cell_references(xml: bytes) -> bytes:
    """Cells located by their order in the row only, which the format allows."""
    return re.sub(rb' r="[A-Z]+[0-9]+"', b"", xml)


LAYOUTS = [prefixed, attributes_reordered, without_cell_references]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_other_sheet_layouts_read_the_same(layout: Callable[[bytes], bytes]) -> None:
    data = [HEADER_ZH, ["6-01", "本科", "女", "是", 12, 68000]]
    plain = read_rows(workbook(data), "a.xlsx", ROW_SCHEMA)
    assert read_rows(rewrite(workbook(data), SHEET, layout), "a.xlsx", ROW_SCHEMA) == plain


@pytest.mark.parametrize("layout", LAYOUTS)
def test_other_sheet_layouts_are_checked_the_same(
    layout: Callable[[bytes], bytes], no_calamine: None
) -> None:
    far = workbook([HEADER_ZH, ["6-01"]], extra=lambda _, sheet: sheet.write(1_000_000, 0, "x"))
    assert "Row 1000001" in refused(rewrite(far, SHEET, layout), "a.xlsx").message
    formula = workbook(
        [HEADER_ZH, ["6-01"]], extra=lambda _, sheet: sheet.write_formula("B2", "=1+1")
    )
    assert "B2" in refused(rewrite(formula, SHEET, layout), "a.xlsx").message


def test_a_malformed_cell_reference_is_refused_as_damaged() -> None:
    def malformed(xml: bytes) -> bytes:
        return attributes_reordered(xml).replace(b'r="B2"', b'r="B"')

    content = rewrite(workbook([HEADER_ZH, ["6-01", "本科"]]), SHEET, malformed)
    assert "damaged" in refused(content, "a.xlsx").message


# --- the template ---------------------------------------------------------------------


def test_a_title_two_columns_share_heads_the_second_column_with_its_key() -> None:
    schema = {
        "type": "object",
        "properties": {
            "base_pay": {"type": "number", "title": "工资"},
            "annual_pay": {"type": "number", "title": "工资"},
            "bonus": {"type": "number", "title": "base_pay"},
        },
    }
    assert column_labels(schema) == {
        "base_pay": "工资",
        "annual_pay": "annual_pay",
        "bonus": "bonus",
    }
    header = list(column_labels(schema).values())
    sheet = read_rows(workbook([header, [1, 2, 3]]), "a.xlsx", schema)
    assert sheet.rows == [(2, {"base_pay": 1, "annual_pay": 2, "bonus": 3})]
    template = template_workbook("测试", schema)
    assert read_rows(template, "t.xlsx", schema).columns == column_labels(schema)


def test_the_template_header_row_is_the_chinese_labels_and_reads_back_empty() -> None:
    template = template_workbook("企业薪酬调查", ROW_SCHEMA)
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(template))
    assert book.get_sheet_by_index(0).to_python() == [list(column_labels(ROW_SCHEMA).values())]
    assert book.get_sheet_by_index(0).to_python()[0][:3] == ["职业代码", "管理岗位等级", "学历"]
    sheet = read_rows(template, "template.xlsx", ROW_SCHEMA)
    assert (sheet.errors, sheet.rows) == ([], [])
    assert sheet.columns == column_labels(ROW_SCHEMA)


def test_the_template_has_drop_downs_number_limits_and_instructions() -> None:
    template = zipfile.ZipFile(io.BytesIO(template_workbook("企业薪酬调查", ROW_SCHEMA)))
    xml = template.read(SHEET).decode()
    choice_columns = [
        key
        for key, prop in ROW_SCHEMA["properties"].items()
        if "enum" in prop or prop.get("type") == "boolean"
    ]
    assert xml.count('type="list"') == len(choice_columns)
    months = re.search(r'<dataValidation type="whole"[^>]*sqref="K2:K100001".*?</data', xml)
    assert months is not None
    assert "<formula1>1</formula1><formula2>12</formula2>" in months.group(0)
    assert "<pane" in xml  # the header row stays in view
    book = python_calamine.CalamineWorkbook.from_filelike(
        io.BytesIO(template_workbook("企业薪酬调查", ROW_SCHEMA))
    )
    instructions = book.get_sheet_by_name("说明").to_python()
    assert instructions[0][0].startswith("企业薪酬调查")
    listed = {row[1]: row for row in instructions}
    assert set(ROW_SCHEMA["properties"]) <= set(listed)
    assert listed["months_worked"][2:4] == ["整数", "必填"]
    assert listed["months_worked"][5] == "1 ～ 12"
    assert "本科（bachelor）" in listed["education"][4]


def test_a_filled_template_with_chinese_labels_reads_back_into_valid_rows() -> None:
    header = list(column_labels(ROW_SCHEMA).values())
    worker = {
        "职业代码": "6-01-02-03",
        "学历": "本科",
        "技能等级或职称": "高级工（三级）",
        "性别": "女",
        "用工形式": "非全日制用工",
        "劳动合同类型": "无固定期限劳动合同",
        "是否工会会员": "是",
        "工作月数": 12,
        "周平均工作小时": 20,
        "年度应发工资": 68000,
        "基本工资": 48000,
    }
    content = workbook([header, [worker.get(label) for label in header]])
    sheet = read_rows(content, "filled.xlsx", ROW_SCHEMA)
    assert sheet.errors == []
    ((row_number, row),) = sheet.rows
    assert row_number == 2
    assert row == {
        "occupation": "6-01-02-03",
        "education": "bachelor",
        "skill_level": "skill_grade_3",
        "sex": "female",
        "employment_form": "part_time",
        "contract_type": "open_ended",
        "union_member": True,
        "months_worked": 12,
        "weekly_hours": 20,
        "annual_pay": 68000,
        "base_pay": 48000,
    }
    assert jsonschema_rs.Draft202012Validator(ROW_SCHEMA).is_valid(row)


def test_the_template_is_the_same_bytes_on_every_request() -> None:
    import zipfile

    from survey_service.collection.template import TEMPLATE_CREATED

    row_schema = {"type": "object", "title": "职工", "properties": {"pay": {"type": "integer"}}}
    made = template_workbook("薪酬调查", row_schema)
    core = zipfile.ZipFile(io.BytesIO(made)).read("docProps/core.xml").decode()
    assert (
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{TEMPLATE_CREATED:%Y-%m-%dT%H:%M:%SZ}' in core
    )
    assert template_workbook("薪酬调查", row_schema) == made
