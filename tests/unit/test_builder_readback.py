"""Builder fields read back from the schema and hints they made: building them again makes
the same schema and hints, for every palette type, option and condition; a form written by
hand is said not to be the builder's, with the field that shows it."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from survey_service.forms.builder import Label, build_schema, decode_builder_fields
from survey_service.forms.builder_readback import (
    NotBuilderMade,
    description_of,
    fields_from_schema,
)
from tests.paths import PROJECT_ROOT

TITLE = Label(zh="职工之家问卷", en="Workers' home poll")
YES_NO = [
    {"value": "yes", "label": {"zh": "是", "en": "Yes"}},
    {"value": "no", "label": {"zh": "否"}},
]
EVERY_OPTION: list[dict[str, Any]] = [
    {"type": "single_choice", "name": "has_union", "label": {"zh": "有工会吗"}, "required": True,
     "choices": YES_NO, "help": {"zh": "按登记", "en": "As registered"}},
    {"type": "text", "name": "t", "label": {"zh": "文本", "en": "Text"}, "required": True,
     "max_length": 20, "pattern": "^[a-z]+$", "multiline": True,
     "show_if": {"field": "has_union", "equals": "yes"}},
    {"type": "text", "name": "t1", "label": {"zh": "一字"}, "min_length": 1},
    {"type": "number", "name": "n", "label": {"zh": "数字"}, "integer": True, "minimum": 1,
     "maximum": 9},
    {"type": "money", "name": "m", "label": {"zh": "金额"}, "minimum": 100.5, "maximum": 1000},
    {"type": "money", "name": "m0", "label": {"zh": "金额零起"}},
    {"type": "date", "name": "d", "label": {"zh": "日期"}, "min_date": "2024-01-01",
     "max_date": "2024-12-31"},
    {"type": "multiple_choice", "name": "mc", "label": {"zh": "多选"}, "choices": YES_NO,
     "required": True, "max_selected": 2},
    {"type": "multiple_choice", "name": "mc2", "label": {"zh": "多选二"}, "choices": YES_NO,
     "min_selected": 2, "show_if": {"field": "has_union", "in": ["yes", "no"]}},
    {"type": "likert", "name": "l", "label": {"zh": "量表"}, "scale": 7,
     "low_label": {"zh": "差"}, "high_label": {"zh": "好", "en": "good"}},
    {"type": "table", "name": "tb", "label": {"zh": "表格"}, "required": True, "max_rows": 5,
     "columns": [
         {"type": "text", "name": "c", "label": {"zh": "列"}},
         {"type": "money", "name": "pay", "label": {"zh": "工资"}, "required": True,
          "show_if": {"field": "has_union", "equals": "yes"}},
     ]},
    {"type": "section", "name": "sc", "label": {"zh": "分组"}, "fields": [
        {"type": "number", "name": "count", "label": {"zh": "人数"}},
        {"type": "table", "name": "rows", "label": {"zh": "名单"}, "min_rows": 2,
         "columns": [{"type": "date", "name": "since", "label": {"zh": "入职"}}]},
        {"type": "likert", "name": "mood", "label": {"zh": "心情"},
         "show_if": {"field": "count", "equals": 3}},
    ]},
]  # fmt: skip


def _built(raw: list[dict[str, Any]], description: Label | None = None) -> Any:
    fields = decode_builder_fields(json.dumps(raw))
    return build_schema(fields, title=TITLE, description=description)


def test_every_option_of_every_type_reads_back_to_the_same_form() -> None:
    built = _built(EVERY_OPTION, Label(zh="说明", en="About"))
    again = build_schema(
        fields_from_schema(built.schema, built.ui),
        title=TITLE,
        description=Label(zh="说明", en="About"),
    )
    assert again.schema == built.schema
    assert again.ui == built.ui
    assert description_of(built.schema) == ("说明", "About")


def test_the_fields_read_back_are_the_fields_given_where_the_form_tells_them_apart() -> None:
    read = fields_from_schema(*_parts(_built(EVERY_OPTION)))
    given = msgspec.to_builtins(decode_builder_fields(json.dumps(EVERY_OPTION)))
    back = msgspec.to_builtins(read)
    assert back == given


def _parts(built: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    return built.schema, built.ui


@pytest.mark.parametrize("key", ["salary-survey", "worker-satisfaction"])
def test_a_form_written_by_hand_is_not_the_builders(key: str) -> None:
    document = json.loads((PROJECT_ROOT / "form_schemas" / f"{key}.json").read_text())
    with pytest.raises(NotBuilderMade):
        fields_from_schema(document["schema"], document.get("ui") or {})


def test_a_schema_without_hints_names_its_first_field() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    with pytest.raises(NotBuilderMade) as raised:
        fields_from_schema(schema, {"fields": {}, "order": ["a"]})
    assert raised.value.path == "/a"
    assert description_of(schema) == (None, None)
