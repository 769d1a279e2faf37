"""The microdata tables of a form built in the builder, whatever its titles: nested objects
flattened under their parent's title, a $ref resolved, each array of objects its own table,
names fit for Stata, and sheet names Excel accepts (read back with calamine)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from survey_service.collection import microdata
from survey_service.collection.microdata import TableWriter, layout, rows_of

ITEM = {"type": "object", "properties": {"amount": {"type": "number", "title": "金额"}}}
SCHEMA = {
    "type": "object",
    "$defs": {"yes": {"type": "boolean", "title": "是否"}},
    "properties": {
        "firm": {
            "type": "object",
            "title": "单位",
            "properties": {
                "kind": {"type": "string", "title": "类型", "enum": ["a", "b"],
                         "x-enum-labels": {"a": {"zh": "甲类"}, "b": {"zh": "乙类"}}},
                "a_very_long_property_name_beyond_the_limit": {"$ref": "#/$defs/yes"},
            },
        },
        "income": {"type": "array", "title": "收入/支出[明细]", "items": ITEM},
        "spending": {"type": "array", "title": "收入/支出[明细]", "items": ITEM},
        "tags": {"type": "array", "title": "标签", "items": {"type": "string"}},
    },
}  # fmt: skip


def test_a_builders_form_becomes_tables_excel_and_stata_accept(tmp_path: Path) -> None:
    tables = layout(SCHEMA)
    assert [t.name for t in tables] == ["submissions", "income", "spending"]
    main = {v.name: v for v in tables[0].variables}
    assert main["firm_kind"].label == "单位 - 类型"
    assert main["firm_kind"].choices == (("a", "甲类"), ("b", "乙类"))
    long = next(v for v in main.values() if v.path[-1].startswith("a_very_long"))
    assert (long.kind, long.label, len(long.name) <= 31) == ("boolean", "单位 - 是否", True)
    assert main["tags"].kind == "text"
    document = {"firm": {"kind": "b"}, "income": [{"amount": 1.5}, {"amount": 2}],
                "spending": [], "tags": ["x", "y"]}  # fmt: skip
    rows = list(rows_of(tables, {"id": "s1"}, document))
    assert [t for t, _ in rows] == [0, 1, 1]
    path = tmp_path / "out.xlsx"
    writer = TableWriter(path, "xlsx", tables)
    for table, cells in rows:
        writer.add(table, [cells])
    writer.close()
    book = CalamineWorkbook.from_filelike(io.BytesIO(path.read_bytes()))
    assert book.sheet_names == ["问卷", "收入_支出_明细_", "收入_支出_明细__2", "说明"]
    first = book.get_sheet_by_name("问卷").to_python()
    assert "乙类" in first[1]
    assert "x;y" in first[1]
    writer = TableWriter(tmp_path / "out.zip", "dta", tables)
    for table, cells in rows:
        writer.add(table, [cells])
    writer.close()
    assert (tmp_path / "out.zip").stat().st_size > 0


LONG = "您所在企业近三年来是否按照集体合同约定的工资增长幅度，" * 4  # over 80 characters
HOSTILE_SCHEMA = {
    "type": "object",
    "properties": {
        "in": {"type": "string", "title": LONG},  # Stata reserved
        "to": {"type": "number", "title": "到"},  # SPSS reserved
        "str5": {"type": "string", "title": "字"},
        "Age": {"type": "integer", "title": "年龄"},
        "age": {"type": "integer", "title": "年龄二"},
        "grade": {"type": "number", "title": "等级", "enum": [1.5, 2],
                  "x-enum-labels": {"1.5": {"zh": "一级半"}, "2": {"zh": "二级"}}},
        "staff": {"type": "array", "title": "Staff", "items": ITEM},
        "staff2": {"type": "array", "title": "staff", "items": ITEM},
        "emoji": {"type": "array", "title": "𠀀" * 40, "items": ITEM},
    },
}  # fmt: skip


def test_reserved_words_case_and_long_labels_pass_into_every_format(tmp_path: Path) -> None:
    import pyreadstat

    tables = layout(HOSTILE_SCHEMA)
    names = [v.name for v in tables[0].variables]
    assert {"in_v", "to_v", "str5_v"} <= set(names)
    assert len({n.lower() for n in names}) == len(names)
    document = {"in": "甲", "to": 3, "str5": "x", "Age": 30, "age": 31, "grade": 2.0,
                "staff": [{"amount": 1}], "staff2": [{"amount": 2}],
                "emoji": [{"amount": 3}]}  # fmt: skip
    rows = list(rows_of(tables, {"id": "s1"}, document))
    for fmt in ("xlsx", "sav", "dta"):
        path = tmp_path / f"out.{fmt}.{'xlsx' if fmt == 'xlsx' else 'zip'}"
        writer = TableWriter(path, fmt, tables)
        for table, cells in rows:
            writer.add(table, [cells])
        writer.close()
        if fmt == "xlsx":
            book = CalamineWorkbook.from_filelike(io.BytesIO(path.read_bytes()))
            assert len({n.lower() for n in book.sheet_names}) == len(book.sheet_names)
            first = book.get_sheet_by_name("问卷").to_python()
            assert "二级" in first[1]  # 2.0 is the choice 2
            continue
        import zipfile

        with zipfile.ZipFile(path) as archive:
            archive.extract(f"submissions.{fmt}", tmp_path)
        read = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
        frame, meta = read(str(tmp_path / f"submissions.{fmt}"), output_format="dict")
        assert frame["grade"] == [2]
        labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
        assert labels["in_v"].startswith(LONG[:40])
        if fmt == "dta":
            assert len(labels["in_v"]) == 80


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_a_large_table_comes_in_parts_that_append_to_the_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    import zipfile

    import pyreadstat

    monkeypatch.setattr(microdata, "PART_ROWS", 4)
    tables = layout(SCHEMA)
    path = tmp_path / "out.zip"
    writer = TableWriter(path, fmt, tables)  # type: ignore[arg-type]
    sent = []
    for n in range(5):  # five surveys of two income rows each: ten rows, parts of 4, 4, 2
        document = {"firm": {"kind": "a"}, "income": [{"amount": n}, {"amount": n + 0.5}]}
        for table, cells in rows_of(tables, {"id": f"s{n}"}, document):
            writer.add(table, [cells])
        sent += [n, n + 0.5]
    writer.close()
    with zipfile.ZipFile(path) as archive:
        names = sorted(archive.namelist())
        archive.extractall(tmp_path)
    assert names == sorted(
        [f"income_part{i}.{fmt}" for i in (1, 2, 3)]
        + [f"spending.{fmt}", f"submissions_part1.{fmt}", f"submissions_part2.{fmt}"]
    )
    read = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    amounts = []
    for i in (1, 2, 3):
        frame, _ = read(str(tmp_path / f"income_part{i}.{fmt}"), output_format="dict")
        amounts += list(frame["amount"])
    assert amounts == sent
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("out.") and p != path]
