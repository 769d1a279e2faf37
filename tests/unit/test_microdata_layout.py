"""The microdata tables of a form built in the builder, whatever its titles: nested objects
flattened under their parent's title, a $ref resolved, each array of objects its own table,
names fit for Stata, and sheet names Excel accepts (read back with calamine)."""

from __future__ import annotations

import io
from pathlib import Path

from python_calamine import CalamineWorkbook

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
