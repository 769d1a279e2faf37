"""Payroll spreadsheets (.xlsx, .csv) read into employee rows, refusing hostile files early.

``read_rows`` turns an uploaded file into ``(row number, {key: value})`` pairs for one
form's row schema; the caller validates each row against that schema and maps a JSON
Pointer error back to ``(row, column)`` through ``SheetRows.locate``. Pure functions: no
database, no HTTP.

The order of work is cheapest first, so a hostile file costs little:

1. size, then magic bytes (a ZIP for .xlsx; OLE2 means a legacy .xls or an encrypted
   workbook; text for .csv);
2. the ZIP central directory only (member count, declared sizes, per-member compression
   ratio, encryption) before anything is decompressed;
3. each other part calamine will read (content types, relationships, workbook, styles,
   shared strings) through pyexpat as it is copied: a DOCTYPE is refused, and the shared
   strings are counted (texts, characters, each one's length) as they stream, never held;
4. one streaming pass over the first visible sheet's XML that refuses formulas, merged
   cells, too many rows or columns, too much text (each cell's shared string counted
   where it is shown: calamine copies it into each cell), and a used area too large for
   calamine, which holds the rectangle between the first and the last filled cell as a
   dense grid (a 6 KB file with one value in row 1,000,000 costs it 700 MB). Regular
   expressions count the cells in the layout Excel, WPS, xlsxwriter and openpyxl write;
   any other sheet goes through pyexpat (DOCTYPE refused), which reads every element at
   about twice the cost;
5. only then calamine, on a workbook rebuilt from the members read through zipfile's
   size-bounded, CRC-checked streams: calamine parses exactly the bytes that were
   checked, whatever its own ZIP reader would make of the original (duplicate member
   names, declared sizes that lie, members it was never meant to open).

A CSV is decoded, then read line by line, each line's length and fields bounded before the
csv module splits it.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import math
import posixpath
import re
import struct
import unicodedata
import zipfile
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from operator import itemgetter
from typing import IO, Any, TypedDict
from xml.parsers import expat

import charset_normalizer
import python_calamine
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeElementTree

from survey_service.forms.form_posts import json_type

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class SheetLimits:
    """What an upload may hold; everything beyond is refused before the costly work."""

    max_bytes: int = 50 * MiB
    max_rows: int = 100_000  # data rows, the header not counted
    max_columns: int = 200
    max_uncompressed: int = 200 * MiB  # sum of the ZIP members' declared sizes
    max_members: int = 10_000
    max_ratio: int = 200  # uncompressed / compressed, per member larger than 1 MiB
    # calamine holds the rectangle from the first to the last filled cell as a dense grid
    # (about 40 bytes a cell): 3,000,000 cells is 100,000 rows of 30 columns, ~120 MB.
    max_cells: int = 3_000_000
    # calamine holds every shared string before it reads a cell. A payroll's text cells are
    # codes and labels that repeat (Excel and WPS store each distinct text once): a
    # million strings of ten characters is far beyond one, and under 100 MB in calamine.
    max_shared_strings: int = 1_000_000
    max_shared_string_chars: int = 10_000_000
    # calamine gives each text cell its own copy of its shared string: a 201 KB workbook
    # whose 100,000 cells all show one string of 4,000 characters took 1.1 GB. The text
    # cells' characters, each reference counted, are bounded: 100,000 rows of ten text
    # cells of twenty characters make 20,000,000.
    max_text_chars: int = 20_000_000
    # A CSV line is bounded before it is split into fields: a payroll row is tens of
    # columns of short values, and a line of 10 million empty fields was 300 MB of lists.
    max_line_fields: int = 1_000  # empty fields included (Excel pads rows with them)
    max_line_chars: int = MiB


DEFAULT_LIMITS = SheetLimits()


class CellError(TypedDict):
    row: int
    column: str
    message: str
    message_zh: str


class RowWarning(TypedDict):
    row: int
    message: str
    message_zh: str


class _Absent:
    """The value of a cell left blank in a row (a key the row's record does not hold)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


class Records(Sequence[dict[str, Any]]):
    """Worker rows kept as one tuple each (a value per known column, ``ABSENT`` where the
    cell is blank) and handed out as ``{key: value}`` records only when asked for: 100,000
    rows of eleven columns are 15 MB as tuples and 65 MB as dicts."""

    __slots__ = ("keys", "values")

    def __init__(self, keys: Sequence[str], values: list[tuple[Any, ...]]) -> None:
        self.keys = tuple(keys)
        self.values = values

    def record(self, values: tuple[Any, ...]) -> dict[str, Any]:
        return {k: v for k, v in zip(self.keys, values, strict=True) if v is not ABSENT}

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self.record(values) for values in self.values[index]]
        return self.record(self.values[index])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return map(self.record, self.values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Records):
            return NotImplemented
        return list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def subset(self, indexes: Iterable[int]) -> Records:
        values = self.values
        return Records(self.keys, [values[i] for i in indexes])


@dataclass
class SheetRows:
    """The rows of one sheet, converted to the row schema's JSON types.

    ``numbers`` holds the 1-based spreadsheet row number of each of ``records``;
    ``columns`` maps a row key to its header as written in the file; ``sheet`` is the
    worksheet read (None for CSV).
    """

    numbers: list[int] = field(default_factory=list)
    records: Records = field(default_factory=lambda: Records((), []))
    errors: list[CellError] = field(default_factory=list)
    warnings: list[RowWarning] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    sheet: str | None = None

    @property
    def rows(self) -> list[tuple[int, dict[str, Any]]]:
        """Each row's number beside its record (built anew on each call)."""
        return list(zip(self.numbers, self.records, strict=True))

    def locate(self, index: int, key: str | None = None) -> tuple[int, str]:
        """The spreadsheet (row, column) of row ``index`` and its ``key``: what a JSON
        Pointer like ``/employees/5/annual_pay`` (index 5, key ``annual_pay``) names."""
        return self.numbers[index], self.columns.get(key, key) if key else ""


class SpreadsheetError(Exception):
    """A file refused as a whole; ``cells`` lists the offending cells when there are some."""

    def __init__(self, message: str, message_zh: str, cells: Sequence[CellError] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh
        self.cells = list(cells)


def read_rows(
    content: bytes,
    filename: str,
    row_schema: Mapping[str, Any],
    *,
    limits: SheetLimits = DEFAULT_LIMITS,
) -> SheetRows:
    """Read the first visible worksheet of an .xlsx, or a .csv, into rows of ``row_schema``
    (the JSON Schema of one row: ``properties`` with ``title``, ``x-en.title``,
    ``x-enum-labels``). Raises SpreadsheetError for a file that cannot or must not be read.
    """
    if not content:
        raise SpreadsheetError("The file is empty.", "文件为空。")
    if len(content) > limits.max_bytes:
        raise SpreadsheetError(
            f"The file is larger than {limits.max_bytes // MiB} MiB.",
            f"文件超过 {limits.max_bytes // MiB} MiB 的上限。",
        )
    columns = _Columns(row_schema)
    if _file_kind(content, filename) == "xlsx":
        sheet, grid = _xlsx_grid(content, limits)
        return _rows_from_grid(grid, columns, limits, sheet)
    return _rows_from_grid(_csv_grid(content, limits), columns, limits, None)


# --- what kind of file -----------------------------------------------------------------

_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_TEXT_EXTENSIONS = {"csv", "tsv", "txt"}
_SAVE_AS_XLSX = (
    "open it in Excel or WPS and save it as an Excel workbook (.xlsx)",
    "请用 Excel 或 WPS 打开后“另存为” Excel 工作簿（.xlsx）",
)


def _file_kind(content: bytes, filename: str) -> str:
    """``"xlsx"`` or ``"csv"``, from the content's magic bytes checked against the name."""
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    if content.startswith(_OLE2_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in content:
            raise SpreadsheetError(
                "The workbook is password-protected; remove the password and upload again.",
                "工作簿设置了打开密码，请取消密码后重新上传。",
            )
        raise SpreadsheetError(
            f"This is a legacy Excel 97-2003 (.xls) file: {_SAVE_AS_XLSX[0]}.",
            f"这是旧版 Excel 97-2003（.xls）文件，{_SAVE_AS_XLSX[1]}。",
        )
    is_zip = content.startswith(_ZIP_MAGIC)
    if extension in {"xlsx", "xlsm"}:
        if not is_zip:
            raise SpreadsheetError(
                f"The file is named .{extension} but is not an Excel workbook"
                f"{_looks_like(content)[0]}.",
                f"文件名为 .{extension}，但内容不是 Excel 工作簿{_looks_like(content)[1]}。",
            )
        return "xlsx"
    if extension in _TEXT_EXTENSIONS:
        if is_zip:
            raise SpreadsheetError(
                f"The file is named .{extension} but is an Excel workbook: name it .xlsx.",
                f"文件名为 .{extension}，但内容是 Excel 工作簿，请将扩展名改为 .xlsx。",
            )
        return "csv"
    if extension == "xls":
        raise SpreadsheetError(
            f"The file is named .xls but is not an Excel 97-2003 workbook"
            f"{_looks_like(content)[0]}: {_SAVE_AS_XLSX[0]}.",
            f"文件名为 .xls，但内容不是 Excel 97-2003 工作簿{_looks_like(content)[1]}，"
            f"{_SAVE_AS_XLSX[1]}。",
        )
    raise SpreadsheetError(
        f"Unsupported file type “{filename}”: upload an .xlsx or a .csv file.",
        f"不支持的文件类型“{filename}”，请上传 .xlsx 或 .csv 文件。",
    )


def _looks_like(content: bytes) -> tuple[str, str]:
    """A hint at what a misnamed file really is (payroll systems export HTML as .xls)."""
    head = content[:2048].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<table" in head:
        return " (it is a web page, as some payroll systems export)", "（实际是网页文件）"
    if content.startswith(_ZIP_MAGIC):
        return " (it is an .xlsx workbook)", "（实际是 .xlsx 工作簿）"
    if b"\x00" not in content[:2048]:
        return " (it looks like a text or CSV file)", "（看起来是文本或 CSV 文件）"
    return "", ""


# --- xlsx: the ZIP container -----------------------------------------------------------

_RATIO_FLOOR = MiB  # members smaller than this cannot make a bomb, whatever their ratio
_CHUNK = MiB


def _damaged(detail: str = "") -> SpreadsheetError:
    suffix = f" ({detail})" if detail else ""
    return SpreadsheetError(
        f"The workbook is damaged or not a valid .xlsx file{suffix}; {_SAVE_AS_XLSX[0]}.",
        f"工作簿已损坏或不是有效的 .xlsx 文件{suffix}，{_SAVE_AS_XLSX[1]}。",
    )


def _dtd_refused(name: str) -> SpreadsheetError:
    return _damaged(f"{name}: a DOCTYPE or entity declaration is not allowed")


def _declared_member_count(content: bytes) -> int | None:
    """The member count in the ZIP's end-of-central-directory record, read before zipfile
    builds one object per member (a 50 MiB file can declare a million)."""
    position = content.rfind(b"PK\x05\x06", max(0, len(content) - 22 - 0xFFFF))
    if position < 0 or position + 22 > len(content):
        return None
    (count,) = struct.unpack_from("<H", content, position + 10)
    return int(count)


def _open_zip(content: bytes, limits: SheetLimits) -> zipfile.ZipFile:
    """Open the ZIP and check its central directory; nothing is decompressed here."""
    count = _declared_member_count(content)
    if count is None:
        raise _damaged("no ZIP directory")
    if count > limits.max_members:
        raise SpreadsheetError(
            f"The workbook holds more than {limits.max_members:,} parts; refused.",
            f"工作簿内部文件超过 {limits.max_members:,} 个，拒绝读取。",
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise _damaged() from None
    members = archive.infolist()
    if len(members) > limits.max_members:
        raise SpreadsheetError(
            f"The workbook holds more than {limits.max_members:,} parts; refused.",
            f"工作簿内部文件超过 {limits.max_members:,} 个，拒绝读取。",
        )
    total = 0
    for member in members:
        if member.flag_bits & 0x1:
            raise SpreadsheetError(
                "The workbook is encrypted; remove the password and upload again.",
                "工作簿已加密，请取消密码后重新上传。",
            )
        if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _damaged(f"unusual compression in {member.filename}")
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > _RATIO_FLOOR and ratio > limits.max_ratio:
            raise SpreadsheetError(
                f"The workbook looks like a ZIP bomb: {member.filename} expands "
                f"{ratio:,.0f} times; refused.",
                f"工作簿疑似压缩炸弹：{member.filename} 解压后膨胀 {ratio:,.0f} 倍，拒绝读取。",
            )
    if total > limits.max_uncompressed:
        raise SpreadsheetError(
            f"The workbook expands to {total / MiB:,.0f} MiB, over the limit of "
            f"{limits.max_uncompressed // MiB} MiB; refused.",
            f"工作簿解压后 {total / MiB:,.0f} MiB，超过 {limits.max_uncompressed // MiB} MiB "
            "的上限，拒绝读取。",
        )
    return archive


_OTHER_OFFICE_FILES = {
    "xl/workbook.bin": ("a binary Excel workbook (.xlsb)", "二进制 Excel 工作簿（.xlsb）"),
    "word/document.xml": ("a Word document", "Word 文档"),
    "ppt/presentation.xml": ("a PowerPoint presentation", "PowerPoint 演示文稿"),
    "content.xml": ("an OpenDocument file", "OpenDocument 文件"),
}
_WORKSHEET_TYPE = "/relationships/worksheet"


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


_MAX_PART = 10 * MiB  # workbook.xml and its relationships list a few sheets


def _parse_part(archive: zipfile.ZipFile, name: str) -> Any:
    if archive.getinfo(name).file_size > _MAX_PART:
        raise _damaged(f"{name} is larger than {_MAX_PART // MiB} MiB")
    try:
        return SafeElementTree.fromstring(archive.read(name), forbid_dtd=True)
    except DefusedXmlException:
        raise _dtd_refused(name) from None
    except (
        SafeElementTree.ParseError,
        zipfile.BadZipFile,
        KeyError,
        ValueError,
        EOFError,
        OSError,
    ):
        raise _damaged(name) from None


@dataclass(frozen=True, slots=True)
class _WorkbookParts:
    sheet_name: str
    sheet_path: str
    shared_parts: tuple[str, ...]  # shared strings and styles, which calamine also reads


def _workbook_parts(archive: zipfile.ZipFile) -> _WorkbookParts:
    """The first visible worksheet, from xl/workbook.xml and its relationships."""
    names = set(archive.namelist())
    if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
        for part, (what, what_zh) in _OTHER_OFFICE_FILES.items():
            if part in names:
                raise SpreadsheetError(
                    f"The file is {what}, not an Excel workbook (.xlsx).",
                    f"文件是{what_zh}，不是 Excel 工作簿（.xlsx）。",
                )
        raise SpreadsheetError(
            "The file is a ZIP archive but not an Excel workbook (.xlsx).",
            "文件是 ZIP 压缩包，不是 Excel 工作簿（.xlsx）。",
        )
    if "xl/_rels/workbook.xml.rels" not in names:
        raise _damaged("no xl/_rels/workbook.xml.rels")
    targets: dict[str, tuple[str, str]] = {}
    for relation in _parse_part(archive, "xl/_rels/workbook.xml.rels"):
        if relation.get("TargetMode") == "External":
            continue
        target = relation.get("Target", "")
        path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        targets[relation.get("Id", "")] = (relation.get("Type", ""), posixpath.normpath(path))
    shared = tuple(
        path
        for kind, path in targets.values()
        if kind.endswith(("/sharedStrings", "/styles")) and path in names
    )
    for element in _parse_part(archive, "xl/workbook.xml").iter():
        if _local(element.tag) != "sheet" or element.get("state") in {"hidden", "veryHidden"}:
            continue
        relation_id = next((v for k, v in element.attrib.items() if _local(k) == "id"), "")
        kind, path = targets.get(relation_id, ("", ""))
        if not kind.endswith(_WORKSHEET_TYPE):  # a chart sheet or a macro sheet
            continue
        if path not in names:
            raise _damaged(f"no {path}")
        return _WorkbookParts(str(element.get("name", "")), path, shared)
    raise SpreadsheetError("The workbook has no visible worksheet.", "工作簿中没有可见的工作表。")


# --- xlsx: one pass over the sheet XML before calamine ---------------------------------

_CELL_REFERENCE = re.compile(r"([A-Z]{1,3})([0-9]{1,7})")
_MAX_LISTED = 20  # offending cells listed in one refusal


def column_letter(index: int) -> str:
    """``0`` -> ``"A"``, ``27`` -> ``"AB"``."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _column_number(letters: str) -> int:
    """``"A"`` -> 1, ``"AB"`` -> 28 (1-based, as in the sheet XML)."""
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


@dataclass
class _SheetShape:
    """Where a sheet's filled cells are (1-based), and what makes it unreadable."""

    filled_rows: set[int] = field(default_factory=set)
    first_column: int = 1 << 30
    last_column: int = 0
    formulas: list[tuple[int, int]] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)


def _too_much_text(limits: SheetLimits) -> SpreadsheetError:
    return SpreadsheetError(
        f"The sheet's text cells hold more than {limits.max_text_chars:,} characters (a "
        "shared text counted in every cell that shows it), far beyond a payroll's; refused.",
        f"工作表中文本单元格的字符总数（共享文本按引用次数计）超过 {limits.max_text_chars:,}，"
        "远超工资表所需，拒绝读取。",
    )


class _TextCount:
    """The characters calamine will hold for a sheet's text cells: a shared string's length
    (``lengths``, by index, from the shared strings part) for each cell that shows it."""

    def __init__(self, lengths: Sequence[int], limits: SheetLimits) -> None:
        self.lengths = lengths
        self.limits = limits
        self.chars = 0

    def add(self, chars: int) -> None:
        self.chars += chars
        if self.chars > self.limits.max_text_chars:
            raise _too_much_text(self.limits)

    def shared(self, indices: Iterable[bytes | str]) -> None:
        try:  # counted first: a payroll's cells show few distinct strings, many times
            shown = Counter(indices).items()
            self.add(sum(self.lengths[int(index)] * times for index, times in shown))
        except (IndexError, ValueError):
            raise _damaged("a cell shows a shared string that does not exist") from None


def _too_many_rows(limits: SheetLimits) -> SpreadsheetError:
    return SpreadsheetError(
        f"The sheet has more than {limits.max_rows:,} data rows; split it into several uploads.",
        f"工作表数据超过 {limits.max_rows:,} 行，请拆分后分批上传。",
    )


def _too_many_columns(limits: SheetLimits, cell: str) -> SpreadsheetError:
    return SpreadsheetError(
        f"{cell} holds a value beyond the limit of {limits.max_columns} columns.",
        f"{cell} 有内容，超出了 {limits.max_columns} 列的上限。",
    )


# Excel, WPS, xlsxwriter and openpyxl write every cell as <c r="B7" s="3" t="s">: the fast
# scan counts those with regular expressions, and hands any sheet that has something else
# (another attribute order or spacing, namespace prefixes, formulas, merged cells,
# comments, CDATA, a DOCTYPE) to the parser, which reads every element.
_CELL_TAG = re.compile(
    rb'<c r="([A-Z]{1,3})([0-9]{1,7})"(?: [a-z]{1,2}="[A-Za-z0-9]*")*(/?)>'
)  # letters, digits, and "/" when the cell is empty
_CELL_TAG_STARTS = (b"<c ", b"<c>", b"<c/")
_NOT_FOR_THE_FAST_SCAN = re.compile(rb"<(?:c[\t\r\n]|f[\s/>]|!)|:[cf][\s/>]|mergeCell")
# A shared-string cell's type and value (the string's index) as they write them: every
# ' t="s"' must be one, or the sheet goes to the parser.
_SHARED_CELL = re.compile(rb' t="s"(?: [a-z]{1,2}="[A-Za-z0-9]*")*><v>([0-9]{1,10})</v>')
_SHARED_TYPE = b' t="s"'
# An inline string (Apache POI's streaming writer uses them): its bytes, markup included,
# bound its characters.
_INLINE = re.compile(rb"<is>(.*?)</is>", re.DOTALL)
_MAX_TAG = MiB  # a longer run without "<" is no worksheet Excel writes


class _FastScan:
    """Regular expressions over the raw XML, more than twice as fast as pyexpat with a
    Python handler; ``shape`` is None when the sheet needs the parser."""

    def __init__(self, limits: SheetLimits, text: _TextCount) -> None:
        self.limits = limits
        self.text = text
        self.rows: set[bytes] = set()
        self.letters: set[bytes] = set()
        self.last_column = 0
        self.first_column = 1 << 30
        self.carry = b""
        self.needs_parser = False

    def feed(self, chunk: bytes) -> None:
        if self.needs_parser:
            return
        text = self.carry + chunk
        cut = text.rfind(b"<")  # tags hold no "<": everything before it is whole tags
        cell = text.rfind(b"<c ", 0, cut + 1)
        if cell >= 0 and b"</c>" not in text[cell:] and b"/>" not in text[cell:]:
            cut = cell  # an open cell waits for its value (a shared string's index)
        if cut < 0 or len(text) - cut > _MAX_TAG:
            raise _damaged("an element longer than 1 MiB")
        text, self.carry = text[:cut], text[cut:]
        self._scan(text)

    def _scan(self, text: bytes) -> None:
        cells = _CELL_TAG.findall(text)
        shared = _SHARED_CELL.findall(text)
        inline = _INLINE.findall(text) if b"<is>" in text else []
        if (
            _NOT_FOR_THE_FAST_SCAN.search(text)
            or len(cells) != sum(text.count(start) for start in _CELL_TAG_STARTS)
            or len(shared) != text.count(_SHARED_TYPE)
            or len(inline) != text.count(b"<is>")
        ):
            self.needs_parser = True
            return
        self.text.shared(shared)
        self.text.add(sum(map(len, inline)))
        filled = list(itertools.filterfalse(itemgetter(2), cells))
        self.rows.update(map(itemgetter(1), filled))
        if len(self.rows) > self.limits.max_rows + 1:  # the header, then max_rows rows
            raise _too_many_rows(self.limits)
        letters = set(map(itemgetter(0), filled)) - self.letters
        for found in letters:
            number = _column_number(found.decode())
            if number > self.limits.max_columns:
                raise _too_many_columns(self.limits, f"Column {found.decode()}")
            self.last_column = max(self.last_column, number)
            self.first_column = min(self.first_column, number)
        self.letters |= letters

    def shape(self) -> _SheetShape | None:
        if not self.needs_parser:
            self._scan(self.carry)
        if self.needs_parser:
            return None
        return _SheetShape({int(row) for row in self.rows}, self.first_column, self.last_column)


class _ParsedScan:
    """pyexpat handlers over a worksheet, for the sheets the fast scan hands over.

    Only start tags are handled (an end handler adds a third to the cost): a ``<v>`` or ``<is>``
    marks the current cell filled, and a formula is an ``<f>`` right after its ``<c>``,
    its first child in the schema (``<xm:f>`` in the sheet's extensions, which data
    validations use, is no cell formula). Text is read only where it counts: a shared
    string's index (the ``<v>`` of a ``t="s"`` cell, until the next element starts) and an
    inline string (what follows an ``<is>``, until the next cell or row).
    """

    def __init__(self, limits: SheetLimits, text: _TextCount, parser: Any) -> None:
        self.limits = limits
        self.text = text
        self.parser = parser
        self.cell_type: str | None = None
        self.index = ""  # the digits of a shared string's index, as they arrive
        self.inline = False
        self.shape = _SheetShape()
        self.row = 0
        self.column = 0
        self.previous = ""
        self.last_filled_row = 0
        self.columns: dict[str, int] = {}  # column letters -> number, a cache

    def start(self, name: str, attributes: dict[str, str]) -> None:
        if ":" in name:  # a prefixed SpreadsheetML element, e.g. <x:c>
            name = name.rpartition(":")[2]
        if self.index:
            self.end_text()
        if self.inline and (name == "c" or name == "row"):
            self.end_text()
        if name == "c":
            self.cell_type = attributes.get("t")
            reference = attributes.get("r")
            if reference is None:
                self.column += 1
            else:
                letters = reference.rstrip("0123456789")
                column = self.columns.get(letters)
                if column is None:
                    if not _CELL_REFERENCE.fullmatch(reference):
                        raise _damaged(f"cell reference {reference[:20]!r}")
                    column = self.columns[letters] = _column_number(letters)
                self.column = column
                self.row = int(reference[len(letters) :])
        elif name == "v" or name == "is":
            self._filled(self.row, self.column)
            if name == "is":
                self.inline = True
                self.parser.CharacterDataHandler = self._inline_text
            elif self.cell_type == "s":
                self.parser.CharacterDataHandler = self._index_text
        elif name == "row":
            number = attributes.get("r")
            self.row = int(number) if number and number.isdigit() else self.row + 1
            self.column = 0
        elif name == "f":
            if self.previous == "c" and len(self.shape.formulas) < _MAX_LISTED:
                self.shape.formulas.append((self.row, self.column))
        elif name == "mergeCell" and len(self.shape.merged) < _MAX_LISTED:
            self.shape.merged.append(attributes.get("ref", "?"))
        self.previous = name

    def _index_text(self, data: str) -> None:
        self.index += data

    def _inline_text(self, data: str) -> None:
        self.text.add(len(data))

    def end_text(self) -> None:
        """The shared string's index read, or the inline string ended: stop reading text."""
        self.parser.CharacterDataHandler = None
        if self.index:
            self.text.shared([self.index.strip()])
            self.index = ""
        self.inline = False

    def _filled(self, row: int, column: int) -> None:
        shape = self.shape
        if row != self.last_filled_row:
            self.last_filled_row = row
            shape.filled_rows.add(row)
            if len(shape.filled_rows) > self.limits.max_rows + 1:
                raise _too_many_rows(self.limits)
        if column > shape.last_column:
            if column > self.limits.max_columns:
                raise _too_many_columns(self.limits, f"Cell {column_letter(column - 1)}{row}")
            shape.last_column = column
        shape.first_column = min(shape.first_column, column)


def _xml_parser(name: str) -> expat.XMLParserType:
    """A bare pyexpat parser for the part ``name`` that refuses a DOCTYPE, and with it any
    entity declaration (what defusedxml refuses; its own ElementTree parser costs about
    three times as much per element)."""

    def refuse(*_: object) -> None:
        raise _dtd_refused(name)

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    return parser


class _PartScan:
    """pyexpat over one part handed to calamine, chunk by chunk as it is copied: a DOCTYPE
    anywhere is refused, and shared strings (``<si>`` items, the characters of their
    ``<t>`` texts) are counted as they stream past, so that calamine, which holds them all,
    never gets more than the limits. Every part is counted, whichever one the workbook's
    relationships call the shared strings: the others hold no ``<si>`` or ``<t>``."""

    def __init__(self, name: str, limits: SheetLimits) -> None:
        self.name = name
        self.limits = limits
        self.parser = _xml_parser(name)
        self.strings = self.chars = 0
        # Each shared string's characters, by index: 4 bytes a string (a list of ints was 36).
        self.lengths = array("I")
        self.in_text = False
        self.parser.buffer_text = True
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.CharacterDataHandler = self._text

    def feed(self, chunk: bytes, final: bool = False) -> None:
        try:
            self.parser.Parse(chunk, final)
        except expat.ExpatError as exc:
            raise _damaged(f"{self.name}: XML: {expat.ErrorString(exc.code)}") from None

    def close(self) -> None:
        self.feed(b"", True)

    def _start(self, name: str, _: dict[str, str]) -> None:
        name = name.rpartition(":")[2]
        if name == "si":
            self.lengths.append(0)
            self.strings += 1
            if self.strings > self.limits.max_shared_strings:
                limit = self.limits.max_shared_strings
                raise SpreadsheetError(
                    f"The workbook's shared strings hold more than {limit:,} texts, far "
                    "beyond a payroll's; refused.",
                    f"工作簿的共享字符串超过 {limit:,} 条，远超工资表所需，拒绝读取。",
                )
        elif name == "t":
            self.in_text = True

    def _end(self, name: str) -> None:
        if name.rpartition(":")[2] == "t":
            self.in_text = False

    def _text(self, data: str) -> None:
        if not self.in_text:
            return
        self.chars += len(data)
        if self.lengths:
            self.lengths[-1] += len(data)
        if self.chars > self.limits.max_shared_string_chars:
            limit = self.limits.max_shared_string_chars
            raise SpreadsheetError(
                f"The workbook's shared strings hold more than {limit:,} characters, far "
                "beyond a payroll's; refused.",
                f"工作簿的共享字符串超过 {limit:,} 个字符，远超工资表所需，拒绝读取。",
            )


def _parse_sheet(
    source: IO[bytes], name: str, limits: SheetLimits, text: _TextCount
) -> _SheetShape:
    parser = _xml_parser(name)
    parser.buffer_text = True
    scan = _ParsedScan(limits, text, parser)
    parser.StartElementHandler = scan.start
    try:
        while chunk := source.read(_CHUNK):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
        scan.end_text()
    except expat.ExpatError as exc:
        raise _damaged(f"XML: {expat.ErrorString(exc.code)}") from None
    except ValueError:  # a row or cell reference that is no number
        raise _damaged("a cell reference") from None
    return scan.shape


def _refuse_unreadable(shape: _SheetShape, limits: SheetLimits) -> None:
    """Formulas, merged cells, then a used area too large for calamine's dense grid."""
    if shape.formulas:
        listed = ", ".join(f"{column_letter(c - 1)}{r}" for r, c in shape.formulas)
        raise SpreadsheetError(
            f"The sheet holds formulas ({listed}); copy the cells and paste them as values "
            "only, then upload again.",
            f"工作表中含有公式（{listed}），请复制这些单元格后“选择性粘贴 → 数值”，再重新上传。",
            [
                _cell_error(
                    r,
                    column_letter(c - 1),
                    f"{column_letter(c - 1)}{r} holds a formula; paste its value instead.",
                    f"{column_letter(c - 1)}{r} 是公式，请改为粘贴数值。",
                )
                for r, c in shape.formulas
            ],
        )
    if shape.merged:
        listed = ", ".join(shape.merged)
        raise SpreadsheetError(
            f"The sheet has merged cells ({listed}); unmerge them so that every row is one "
            "worker, then upload again.",
            f"工作表中有合并单元格（{listed}），请取消合并，使每行对应一名职工后重新上传。",
            [_merged_error(reference) for reference in shape.merged],
        )
    if not shape.filled_rows:
        return
    first_row, last_row = min(shape.filled_rows), max(shape.filled_rows)
    height = last_row - first_row + 1
    width = shape.last_column - shape.first_column + 1
    if height * width <= limits.max_cells:
        return
    ordered = sorted(shape.filled_rows)
    before, after = max(
        itertools.pairwise(ordered), key=lambda pair: pair[1] - pair[0], default=(0, 0)
    )
    if after - before > _FAR_AWAY:
        raise SpreadsheetError(
            f"Row {after} holds values {after - before - 1:,} empty rows below the rest of "
            f"the data (row {before}); delete the stray cells or the empty rows and upload "
            "again.",
            f"第 {after} 行有内容，但与上方数据（第 {before} 行）之间隔了 "
            f"{after - before - 1:,} 个空行；请删除多余的单元格或空行后重新上传。",
            [_cell_error(after, "", "Values far below the data.", "此行远离其他数据。")],
        )
    raise SpreadsheetError(
        f"The sheet's data spans {height:,} rows by {width:,} columns, over the limit of "
        f"{limits.max_cells:,} cells.",
        f"工作表数据区域为 {height:,} 行 × {width:,} 列，超过 {limits.max_cells:,} "
        "个单元格的上限。",
    )


_FAR_AWAY = 1_000  # empty rows between two filled ones that make the second a stray


def _merged_error(reference: str) -> CellError:
    match = _CELL_REFERENCE.match(reference)
    row, column = (int(match[2]), match[1]) if match else (0, "")
    return _cell_error(
        row,
        column,
        f"Merged cells {reference} are not accepted.",
        f"不接受合并单元格 {reference}。",
    )


def _cell_error(row: int, column: str, message: str, message_zh: str) -> CellError:
    return {"row": row, "column": column, "message": message, "message_zh": message_zh}


def _copy_part(
    archive: zipfile.ZipFile,
    name: str,
    copy: zipfile.ZipFile,
    scan: Callable[[bytes], None] | None = None,
) -> None:
    """Copy one member through a size-bounded, CRC-checked stream, showing each chunk to
    ``scan`` on the way."""
    try:
        with archive.open(name) as source, copy.open(name, "w") as target:
            while chunk := source.read(_CHUNK):
                if scan is not None:
                    scan(chunk)
                target.write(chunk)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError):
        raise _damaged(name) from None


_Grid = Iterator[tuple[int, Sequence[Any]]]

# The parts calamine needs to open a workbook and read one sheet.
_PACKAGE_PARTS = (
    "[Content_Types].xml",
    "_rels/.rels",
    "xl/workbook.xml",
    "xl/_rels/workbook.xml.rels",
)


def _longest(lengths: list[array[int]]) -> Sequence[int]:
    """Each shared string's longest length among the parts that hold shared strings (one,
    unless the workbook is crafted: which one calamine reads is then not guessed)."""
    holding = [found for found in lengths if found]
    if len(holding) <= 1:
        return holding[0] if holding else []
    return [max(values) for values in itertools.zip_longest(*holding, fillvalue=0)]


def _xlsx_grid(content: bytes, limits: SheetLimits) -> tuple[str, _Grid]:
    archive = _open_zip(content, limits)
    parts = _workbook_parts(archive)
    names = set(archive.namelist())
    rebuilt = io.BytesIO()
    lengths: list[array[int]] = []
    # Level 1: calamine copies the whole file into memory, and a stored sheet is 8 times
    # the size of a deflated one; level 1 costs about 0.2 s for 50 MB of XML.
    with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as copy:
        for name in (*_PACKAGE_PARTS, *parts.shared_parts):
            if name in names:
                scan = _PartScan(name, limits)
                _copy_part(archive, name, copy, scan.feed)
                scan.close()
                lengths.append(scan.lengths)
        # The sheet: the fast scan hands anything with "<!" (a DOCTYPE) to the parser.
        fast = _FastScan(limits, _TextCount(_longest(lengths), limits))
        _copy_part(archive, parts.sheet_path, copy, fast.feed)
    shape = fast.shape()
    if shape is None:
        text = _TextCount(_longest(lengths), limits)
        with zipfile.ZipFile(rebuilt) as copied, copied.open(parts.sheet_path) as source:
            shape = _parse_sheet(source, parts.sheet_path, limits, text)
    _refuse_unreadable(shape, limits)
    rebuilt.seek(0)
    try:
        with python_calamine.CalamineWorkbook.from_filelike(rebuilt) as workbook:
            sheet = workbook.get_sheet_by_name(parts.sheet_name)
            # Row by row, from the sheet's first row and its first used column: the cells of
            # 100,000 rows as Python objects all at once were 100 MB beside the records.
            _, first_column = sheet.start or (0, 0)
            cells = sheet.iter_rows()
    except python_calamine.PasswordError:
        raise SpreadsheetError(
            "The workbook is password-protected; remove the password and upload again.",
            "工作簿设置了密码，请取消密码后重新上传。",
        ) from None
    except (python_calamine.CalamineError, ValueError, OverflowError) as exc:
        raise _damaged(str(exc)[:200]) from None

    def grid() -> _Grid:
        padding = [""] * first_column
        for offset, row in enumerate(cells):
            yield offset + 1, padding + row if first_column else row

    return parts.sheet_name, grid()


# --- csv -------------------------------------------------------------------------------

# C0 controls other than tab, line feed and carriage return: binary, or the wrong encoding.
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# GB18030 maps its unassigned codes to the private use area: a sign of the wrong encoding.
_PRIVATE_USE = re.compile(r"[\ue000-\uf8ff]")
_CONFIDENT_CHAOS = 0.1
_SNIFF_CHARS = 8192  # csv.Sniffer's regexes backtrack: keep its sample small
_DELIMITERS = ",\t;"


_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),  # Excel's "Unicode text"
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _decode_text(content: bytes) -> str:
    text = _decoded(content)
    if text is None:
        raise SpreadsheetError(
            "Unsupported encoding: the file is not UTF-8 or GBK/GB18030 text. In Excel use "
            "“Save As → CSV UTF-8”, or upload the .xlsx workbook.",
            "不支持的文件编码：文件不是 UTF-8 或 GBK/GB18030 文本。请在 Excel 中“另存为 → "
            "CSV UTF-8（逗号分隔）”，或直接上传 .xlsx 工作簿。",
        )
    return text


def _decoded(content: bytes) -> str | None:
    """UTF-8 (BOM or not) strictly, then GB18030 (a superset of GBK, what Excel writes on
    Chinese Windows), then charset-normalizer's guess only when it is confident."""
    for mark, encoding in _BYTE_ORDER_MARKS:
        if content.startswith(mark):
            return _try_decode(content[len(mark) :], encoding)
    for encoding in ("utf-8", "gb18030"):
        text = _try_decode(content, encoding)
        if text is not None:
            return text
    guess = charset_normalizer.from_bytes(content).best()
    if guess is None or guess.chaos > _CONFIDENT_CHAOS:
        return None
    return _try_decode(content, guess.encoding)


def _try_decode(content: bytes, encoding: str) -> str | None:
    try:
        text = content.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    if _NOT_TEXT.search(text) or (encoding == "gb18030" and _PRIVATE_USE.search(text)):
        return None
    return text


def _sniff_delimiter(text: str) -> str:
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        first_line = next((line for line in sample.splitlines() if line.strip()), "")
        counts = {delimiter: first_line.count(delimiter) for delimiter in _DELIMITERS}
        best = max(counts, key=lambda delimiter: counts[delimiter])
        return best if counts[best] else ","


_LINE_END = re.compile(r"\r\n|\r|\n")


def _csv_lines(text: str, delimiter: str, limits: SheetLimits) -> Iterator[str]:
    """The text's lines with their ends, each bounded in characters and fields before the
    csv module splits it (a line of 10 million empty fields was a list of 10 million), and
    sliced from the text one at a time (``io.StringIO`` held a copy of four bytes a
    character)."""
    start, number = 0, 0
    while start < len(text):
        number += 1
        end = _LINE_END.search(text, start, start + limits.max_line_chars + 2)
        if (end.start() if end else len(text)) - start > limits.max_line_chars:
            raise SpreadsheetError(
                f"Line {number} is longer than {limits.max_line_chars:,} characters; a "
                "payroll row is far shorter.",
                f"第 {number} 行超过 {limits.max_line_chars:,} 个字符，远超一行工资数据的长度。",
            )
        stop = end.end() if end else len(text)
        line = text[start:stop]
        if line.count(delimiter) >= limits.max_line_fields:
            raise SpreadsheetError(
                f"Line {number} has more than {limits.max_line_fields:,} columns (empty "
                f"ones included); a payroll row has at most {limits.max_columns}.",
                f"第 {number} 行超过 {limits.max_line_fields:,} 列（含空列），工资表每行最多 "
                f"{limits.max_columns} 列。",
            )
        yield line
        start = stop


def _csv_grid(content: bytes, limits: SheetLimits) -> _Grid:
    text = _decode_text(content)
    delimiter = _sniff_delimiter(text)
    reader = csv.reader(_csv_lines(text, delimiter, limits), delimiter=delimiter)
    try:
        for number, record in enumerate(reader, start=1):
            if len(record) > limits.max_columns and any(
                value.strip() for value in record[limits.max_columns :]
            ):
                raise SpreadsheetError(
                    f"Row {number} has more than {limits.max_columns} columns.",
                    f"第 {number} 行超过 {limits.max_columns} 列的上限。",
                )
            yield number, record
    except csv.Error as exc:
        raise SpreadsheetError(
            f"The CSV file cannot be read near line {reader.line_num}: {exc}.",
            f"CSV 文件第 {reader.line_num} 行附近无法读取：{exc}。",
        ) from None


# --- columns and values ----------------------------------------------------------------


def _label_key(text: str) -> str:
    """Labels compare after NFKC (full-width letters, digits and brackets become ASCII),
    case folding and whitespace collapsing."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


_INVISIBLE = "\u200b\ufeff"


def _cell_text(value: Any) -> str:
    """The text a cell shows, trimmed; numbers without a trailing ``.0``."""
    if isinstance(value, str):
        return value.strip().strip(_INVISIBLE).strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    if isinstance(value, date | time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
        return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return str(value)


_NUMBER = re.compile(
    r"[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]{1,3})?"
    r"|[+-]?\.[0-9]+"
)


def _parse_number(text: str) -> int | float | None:
    """``"68,000"``, ``"６８０００"``, ``"68000.0"``, ``"¥68,000"``, ``"68000元"`` -> 68000."""
    normal = unicodedata.normalize("NFKC", text).strip().removeprefix("¥").removesuffix("元")
    if len(normal) > 40 or not _NUMBER.fullmatch(normal):
        return None
    normal = normal.replace(",", "")
    if not any(mark in normal for mark in ".eE"):
        return int(normal)
    number = float(normal)
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _to_number(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        number = _parse_number(value)
        return _cell_text(value) if number is None else number
    return _cell_text(value)


_BOOLEANS = {
    **dict.fromkeys(("是", "true", "yes", "y", "1", "t"), True),
    **dict.fromkeys(("否", "false", "no", "n", "0", "f"), False),
}


def _to_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    text = _cell_text(value)
    found = _BOOLEANS.get(_label_key(text))
    return text if found is None else found


def _to_string(value: Any, date_only: bool) -> str:
    if date_only and isinstance(value, datetime) and value.time() == time(0):
        return value.date().isoformat()
    return _cell_text(value)


def _to_any(value: Any) -> Any:
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return _to_number(value)
    return _cell_text(value)


def _converter(prop: Mapping[str, Any]) -> Callable[[Any], Any]:
    """Cell value -> the property's JSON type; what does not convert passes through as
    trimmed text so that the schema validator reports it in its own words."""
    kind = json_type(prop)
    base: Callable[[Any], Any]
    if kind in {"integer", "number"}:
        base = _to_number
    elif kind == "boolean":
        base = _to_boolean
    elif kind == "string":
        date_only = prop.get("format") == "date"

        def base(value: Any) -> Any:
            return _to_string(value, date_only)

    else:
        base = _to_any
    values = prop.get("enum")
    if not isinstance(values, list):
        return base
    by_label: dict[str, Any] = {}
    labels = prop.get("x-enum-labels")
    labels = labels if isinstance(labels, Mapping) else {}
    # Values first, then Chinese labels, then English ones: an earlier meaning wins.
    for value in values:
        by_label.setdefault(_label_key(_cell_text(value)), value)
    for language in ("zh", "en"):
        for value in values:
            label = labels.get(str(value))
            if isinstance(label, Mapping) and isinstance(label.get(language), str):
                by_label.setdefault(_label_key(label[language]), value)

    def to_enum(value: Any) -> Any:
        found = by_label.get(_label_key(_cell_text(value)), _MISSING)
        return base(value) if found is _MISSING else found

    return to_enum


_MISSING = object()
_MEMO_SIZE = 4_096


def _memoized(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A column repeats few values (labels, 12 months, codes): convert each once."""
    memo: dict[Any, Any] = {}

    def cached(value: Any) -> Any:
        if value.__class__ is bool:  # True == 1 as a dict key
            return convert(value)
        found = memo.get(value, _MISSING)
        if found is _MISSING:
            found = convert(value)
            if len(memo) < _MEMO_SIZE:
                memo[value] = found
        return found

    return cached


@dataclass(frozen=True, slots=True)
class _Column:
    key: str
    label: str  # the Chinese title, or the key: the header the template writes
    convert: Callable[[Any], Any]


def row_properties(row_schema: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The row schema's properties, in order, each a mapping (an odd one is empty)."""
    properties = row_schema.get("properties")
    if not isinstance(properties, Mapping):
        return {}
    return {str(key): prop if isinstance(prop, Mapping) else {} for key, prop in properties.items()}


def column_labels(row_schema: Mapping[str, Any]) -> dict[str, str]:
    """Each row key's column header in the template: its Chinese ``title``, or the key
    when the title is missing, taken by an earlier column or another column's key."""
    properties = row_properties(row_schema)
    keys = {_label_key(key): key for key in properties}
    labels: dict[str, str] = {}
    taken: set[str] = set()
    for key, prop in properties.items():
        title = prop.get("title")
        label = title.strip() if isinstance(title, str) and title.strip() else key
        if _label_key(label) in taken or keys.get(_label_key(label), key) != key:
            label = key
        taken.add(_label_key(label))
        labels[key] = label
    return labels


class _Columns:
    """The row schema's properties, found by key, Chinese title or English title."""

    def __init__(self, row_schema: Mapping[str, Any]) -> None:
        properties = row_properties(row_schema)
        self.by_key: dict[str, _Column] = {}
        self.by_label: dict[str, _Column] = {}
        for key, label in column_labels(row_schema).items():
            self.by_key[key] = _Column(key, label, _memoized(_converter(properties[key])))
        english = {
            key: prop["x-en"].get("title")
            for key, prop in properties.items()
            if isinstance(prop.get("x-en"), Mapping)
        }
        # Keys first, then Chinese titles, then English titles: an earlier meaning wins.
        for names in (
            {key: key for key in self.by_key},
            {key: column.label for key, column in self.by_key.items()},
            english,
        ):
            for key, name in names.items():
                if isinstance(name, str) and name.strip():
                    self.by_label.setdefault(_label_key(name), self.by_key[key])
        required = row_schema.get("required")
        self.required = [
            key for key in (required if isinstance(required, list) else []) if key in self.by_key
        ]

    def find(self, header: str) -> _Column | None:
        return self.by_label.get(_label_key(header))


# --- from a grid of cells to rows ------------------------------------------------------

_MAX_WARNINGS = 1_000


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not _cell_text(value))


def _rows_from_grid(
    grid: _Grid, columns: _Columns, limits: SheetLimits, sheet: str | None
) -> SheetRows:
    result = SheetRows(sheet=sheet)
    header_row = 0
    by_position: dict[int, _Column] = {}
    slots: dict[int, int] = {}  # a known column's position -> its place in a row's tuple
    headed: set[int] = set()  # positions with a header, known or not
    headless_reported: set[int] = set()
    # Each distinct row once (its tuple is the stored one): the first row number it had.
    first_seen: dict[tuple[Any, ...], int] = {}
    duplicates = 0
    first_unlisted = 0  # the first duplicate row beyond _MAX_WARNINGS
    numbers, values = result.numbers, result.records.values
    width = 0
    for row_number, cells in grid:
        if not header_row:
            if all(_is_blank(value) for value in cells):
                continue
            header_row = row_number
            by_position, headed = _read_header(row_number, cells, columns, result)
            slots = {position: slot for slot, position in enumerate(sorted(by_position))}
            width = len(slots)
            result.records = Records([by_position[p].key for p in sorted(by_position)], values)
            continue
        record = [ABSENT] * width
        kept = False
        filled = False
        for position, value in enumerate(cells):
            if value == "" or value is None:
                continue
            column = by_position.get(position)
            if column is not None:
                converted = column.convert(value)
                if converted == "":  # only spaces
                    continue
                record[slots[position]] = converted
                kept = True
            elif _is_blank(value):
                continue
            elif position not in headed and position not in headless_reported:
                headless_reported.add(position)
                letter = column_letter(position)
                result.errors.append(
                    _cell_error(
                        row_number,
                        letter,
                        f"Column {letter} has values but no header.",
                        f"第 {letter} 列有数据但没有表头。",
                    )
                )
            filled = True
        if not filled:
            continue
        if len(numbers) >= limits.max_rows:
            raise _too_many_rows(limits)
        row = tuple(record)
        numbers.append(row_number)
        values.append(row)
        if not kept:
            continue
        earlier = first_seen.setdefault(row, row_number)
        if earlier != row_number:
            duplicates += 1
            if duplicates == _MAX_WARNINGS + 1:
                first_unlisted = row_number
            if duplicates <= _MAX_WARNINGS:
                result.warnings.append(
                    {
                        "row": row_number,
                        "message": f"Row {row_number} repeats row {earlier} exactly; kept, "
                        "as two workers may have the same pay.",
                        "message_zh": f"第 {row_number} 行与第 {earlier} 行完全相同；"
                        "已保留（两名职工可能工资相同），请确认不是重复录入。",
                    }
                )
    if not header_row:
        raise SpreadsheetError("The sheet is empty.", "工作表中没有数据。")
    if duplicates > _MAX_WARNINGS:
        result.warnings.append(
            {
                "row": first_unlisted,
                "message": f"From row {first_unlisted} on, {duplicates - _MAX_WARNINGS:,} "
                "more rows repeat earlier rows.",
                "message_zh": f"自第 {first_unlisted} 行起，另有 {duplicates - _MAX_WARNINGS:,} "
                "行与前面的行完全相同。",
            }
        )
    return result


def _read_header(
    row_number: int, cells: Sequence[Any], columns: _Columns, result: SheetRows
) -> tuple[dict[int, _Column], set[int]]:
    """Match the header cells to the row keys; fill ``result.columns`` and report unknown,
    repeated and missing columns against the header row."""
    by_position: dict[int, _Column] = {}
    headed: set[int] = set()
    for position, value in enumerate(cells):
        if _is_blank(value):
            continue
        header = _cell_text(value)
        headed.add(position)
        column = columns.find(header)
        if column is None:
            result.errors.append(
                _cell_error(
                    row_number,
                    header,
                    f"Unknown column “{header}”: the first row must hold the template's "
                    "column names (garbled names mean an unrecognised encoding).",
                    f"无法识别的列名“{header}”：第一行须为模板中的列名（列名乱码说明文件编码有误）。",
                )
            )
        elif column.key in result.columns:
            earlier = result.columns[column.key]
            result.errors.append(
                _cell_error(
                    row_number,
                    header,
                    f"Column “{header}” repeats column “{earlier}” ({column.key}).",
                    f"列“{header}”与列“{earlier}”重复（{column.key}）。",
                )
            )
        else:
            result.columns[column.key] = header
            by_position[position] = column
    for key in columns.required:
        if key not in result.columns:
            label = columns.by_key[key].label
            result.errors.append(
                _cell_error(
                    row_number,
                    label,
                    f"The required column “{label}” ({key}) is missing.",
                    f"缺少必填列“{label}”（{key}）。",
                )
            )
    return by_position, headed
