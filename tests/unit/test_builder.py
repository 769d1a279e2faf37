"""The form builder: palette fields -> JSON Schema 2020-12 + UI hints, checked by jsonschema-rs."""

from __future__ import annotations

from datetime import date
from typing import Any

import jsonschema_rs
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey_service.forms.builder import (
    BuilderError,
    BuiltForm,
    Label,
    SectionField,
    TableField,
    TextField,
    build_schema,
    check_builder_fields,
    check_date_limits,
    decode_builder_fields,
)

TITLE = Label(zh="企业薪酬调查", en="Enterprise salary survey")


def form(*fields: dict[str, Any]) -> BuiltForm:
    """Build from JSON, as the API receives builder fields."""
    return build_schema(decode_builder_fields(msgspec.json.encode(list(fields))), title=TITLE)


def validator(built: BuiltForm) -> jsonschema_rs.Draft202012Validator:
    assert jsonschema_rs.meta.is_valid(built.schema)
    return jsonschema_rs.Draft202012Validator(built.schema, validate_formats=True)


def errors(built: BuiltForm, document: Any) -> list[tuple[str, str]]:
    """(instance path as a pointer, keyword) of each error."""
    return [
        ("".join(f"/{p}" for p in e.instance_path), e.kind.name)
        for e in validator(built).iter_errors(document)
    ]


def issues(*fields: dict[str, Any]) -> list[tuple[str, str]]:
    decoded = decode_builder_fields(msgspec.json.encode(list(fields)))
    return [(i["path"], i["keyword"]) for i in check_builder_fields(decoded)]


def lbl(zh: str) -> dict[str, str]:
    return {"zh": zh}


YES_NO = [{"value": "yes", "label": {"zh": "是", "en": "Yes"}}, {"value": "no", "label": lbl("否")}]


# --- every palette type: a good value passes, a bad one fails ----------------------------

FIELD_CASES: list[tuple[dict[str, Any], Any, Any]] = [
    ({"type": "text", "max_length": 5}, "abc", "abcdef"),
    ({"type": "text", "pattern": r"^\d{6}$"}, "610202", "61020x"),
    ({"type": "text", "required": True}, "x", ""),
    ({"type": "number", "minimum": 0, "maximum": 168}, 44.5, 169),
    ({"type": "number", "integer": True}, 12, 12.5),
    ({"type": "money"}, 68000, -0.01),
    ({"type": "date"}, "2023-05-01", "2023-02-30"),
    ({"type": "single_choice", "choices": YES_NO}, "yes", "maybe"),
    ({"type": "multiple_choice", "choices": YES_NO}, ["yes", "no"], ["yes", "yes"]),
    ({"type": "multiple_choice", "choices": YES_NO, "max_selected": 1}, ["no"], ["yes", "no"]),
    ({"type": "likert"}, 5, 6),
    ({"type": "likert", "scale": 7}, 7, 2.5),
    (
        {"type": "table", "columns": [{"type": "number", "name": "a", "label": lbl("甲")}]},
        [{"a": 1}, {}],
        [{"a": 1, "b": 2}],
    ),
    (
        {
            "type": "table",
            "min_rows": 1,
            "columns": [{"type": "text", "name": "a", "label": lbl("甲")}],
        },
        [{"a": "x"}],
        [],
    ),
    (
        {"type": "section", "fields": [{"type": "text", "name": "a", "label": lbl("甲")}]},
        {"a": "x"},
        {"a": "x", "b": "y"},
    ),
]


@pytest.mark.parametrize(
    ("options", "good", "bad"),
    FIELD_CASES,
    ids=[f"{c[0]['type']}-{i}" for i, c in enumerate(FIELD_CASES)],
)
def test_each_field_type_accepts_a_good_answer_and_rejects_a_bad_one(
    options: dict[str, Any], good: Any, bad: Any
) -> None:
    built = form({"name": "answer", "label": lbl("问题"), **options})
    assert errors(built, {"answer": good}) == []
    assert errors(built, {"answer": bad}) != []


def test_a_form_refuses_answers_to_questions_it_does_not_ask() -> None:
    built = form({"type": "text", "name": "name", "label": lbl("名称")})
    assert errors(built, {"name": "x", "nickname": "y"}) == [("", "additionalProperties")]


def test_required_fields_must_be_present_and_others_may_be_absent() -> None:
    built = form(
        {"type": "text", "name": "name", "label": lbl("名称"), "required": True},
        {"type": "number", "name": "staff_count", "label": lbl("人数")},
    )
    assert errors(built, {"name": "x"}) == []
    assert errors(built, {"staff_count": 3}) == [("", "required")]


def test_required_multiple_choice_needs_at_least_one_selection_unless_min_is_given() -> None:
    required = form(
        {
            "type": "multiple_choice",
            "name": "m",
            "label": lbl("多选"),
            "required": True,
            "choices": YES_NO,
        }
    )
    assert errors(required, {"m": []}) == [("/m", "minItems")]
    allowed_empty = form(
        {
            "type": "multiple_choice",
            "name": "m",
            "label": lbl("多选"),
            "required": True,
            "min_selected": 0,
            "choices": YES_NO,
        }
    )
    assert errors(allowed_empty, {"m": []}) == []


# --- money --------------------------------------------------------------------------------


MONEY = form({"type": "money", "name": "annual_pay", "label": lbl("年薪"), "maximum": 1_600_000})


@pytest.mark.parametrize("amount", [1234.56, 0.3, 0.07, 19.99, 0, 4560, 1_600_000])
def test_money_accepts_whole_fen_amounts(amount: float) -> None:
    assert errors(MONEY, {"annual_pay": amount}) == []


@pytest.mark.parametrize(
    ("amount", "keyword"),
    [(1.005, "multipleOf"), (-1, "minimum"), (1_600_000.01, "maximum"), (0.001, "multipleOf")],
)
def test_money_rejects_fractions_of_a_fen_negatives_and_amounts_over_the_maximum(
    amount: float, keyword: str
) -> None:
    assert errors(MONEY, {"annual_pay": amount}) == [("/annual_pay", keyword)]


def test_money_judges_the_number_sent_so_an_unrounded_float_sum_is_rejected() -> None:
    # 0.1 + 0.2 is sent as 0.30000000000000004: a client must round to fen before sending.
    assert errors(MONEY, {"annual_pay": 0.1 + 0.2}) == [("/annual_pay", "multipleOf")]
    assert errors(MONEY, {"annual_pay": round(0.1 + 0.2, 2)}) == []


@settings(database=None, max_examples=500, deadline=None)
@given(fen=st.integers(min_value=0, max_value=160_000_000))
def test_money_accepts_every_whole_fen_amount_despite_binary_floats(fen: int) -> None:
    amount = float(f"{fen // 100}.{fen % 100:02d}")  # what a JSON parser makes of the text
    assert errors(MONEY, {"annual_pay": amount}) == []


def test_money_hints_two_decimals_in_yuan() -> None:
    hint = MONEY.ui["fields"]["/annual_pay"]
    assert hint["decimals"] == 2
    assert hint["unit"]["zh"] == "元"


def test_money_limit_with_fractions_of_a_fen_is_a_builder_error() -> None:
    assert issues({"type": "money", "name": "m", "label": lbl("金额"), "maximum": 10.005}) == [
        ("/fields/0/maximum", "decimals")
    ]


# --- dates --------------------------------------------------------------------------------


def test_date_limits_are_kept_as_annotations_and_ui_hints() -> None:
    built = form(
        {
            "type": "date",
            "name": "hired_on",
            "label": lbl("入职日期"),
            "min_date": "1960-01-01",
            "max_date": "2023-12-31",
        }
    )
    prop = built.schema["properties"]["hired_on"]
    assert (prop["format"], prop["x-min-date"], prop["x-max-date"]) == (
        "date",
        "1960-01-01",
        "2023-12-31",
    )
    hint = built.ui["fields"]["/hired_on"]
    assert (hint["min_date"], hint["max_date"]) == ("1960-01-01", "2023-12-31")
    # The schema alone cannot enforce the range ...
    assert errors(built, {"hired_on": "2024-01-01"}) == []
    # ... check_date_limits does.
    assert check_date_limits(built.schema, {"hired_on": "2023-12-31"}) == []
    [late] = check_date_limits(built.schema, {"hired_on": "2024-01-01"})
    assert (late["path"], late["keyword"]) == ("/hired_on", "x-max-date")
    [early] = check_date_limits(built.schema, {"hired_on": "1959-12-31"})
    assert (early["path"], early["keyword"]) == ("/hired_on", "x-min-date")


def test_date_limits_are_checked_in_every_table_row_and_leave_malformed_dates_to_format() -> None:
    built = form(
        {
            "type": "table",
            "name": "employees",
            "label": lbl("职工"),
            "columns": [
                {"type": "date", "name": "hired_on", "label": lbl("入职"), "max_date": "2023-12-31"}
            ],
        }
    )
    document = {
        "employees": [{"hired_on": "2020-01-01"}, {"hired_on": "2024-03-01"}, {"hired_on": "x"}]
    }
    found = check_date_limits(built.schema, document)
    assert [(e["path"], e["keyword"]) for e in found] == [("/employees/1/hired_on", "x-max-date")]
    assert errors(built, document) == [("/employees/2/hired_on", "format")]


def test_date_limits_must_be_iso_dates() -> None:
    field = {"type": "date", "name": "d", "label": lbl("日期"), "min_date": "2023-01-01"}
    [decoded] = decode_builder_fields(msgspec.json.encode([field]))
    assert getattr(decoded, "min_date", None) == date(2023, 1, 1)
    with pytest.raises(msgspec.ValidationError, match="Invalid RFC3339"):
        decode_builder_fields(msgspec.json.encode([{**field, "min_date": "2023-02-30"}]))


# --- show_if ------------------------------------------------------------------------------

OVERTIME = form(
    {
        "type": "single_choice",
        "name": "works_overtime",
        "label": lbl("是否加班"),
        "choices": YES_NO,
    },
    {
        "type": "number",
        "name": "overtime_hours",
        "label": lbl("每月加班小时"),
        "required": True,
        "show_if": {"field": "works_overtime", "equals": "yes"},
    },
)


def test_show_if_field_is_required_when_its_condition_holds() -> None:
    assert errors(OVERTIME, {"works_overtime": "yes"}) == [("", "required")]
    assert errors(OVERTIME, {"works_overtime": "yes", "overtime_hours": 20}) == []


def test_show_if_field_may_be_absent_when_its_condition_fails_or_is_unanswered() -> None:
    assert errors(OVERTIME, {"works_overtime": "no"}) == []
    assert errors(OVERTIME, {}) == []


def test_an_answer_to_a_hidden_field_is_rejected_at_that_field() -> None:
    assert errors(OVERTIME, {"works_overtime": "no", "overtime_hours": 20}) == [
        ("/overtime_hours", "falseSchema")
    ]
    assert errors(OVERTIME, {"overtime_hours": 20}) == [("/overtime_hours", "falseSchema")]


def test_show_if_conditions_never_enter_the_top_level_required_list() -> None:
    assert "required" not in OVERTIME.schema
    assert OVERTIME.ui["fields"]["/overtime_hours"]["show_if"] == {
        "field": "works_overtime",
        "path": "/works_overtime",
        "equals": "yes",
    }


def test_show_if_in_shows_the_field_for_any_listed_value() -> None:
    built = form(
        {"type": "likert", "name": "satisfaction", "label": lbl("满意度")},
        {
            "type": "text",
            "name": "why_unhappy",
            "label": lbl("原因"),
            "required": True,
            "show_if": {"field": "satisfaction", "in": [1, 2]},
        },
    )
    assert errors(built, {"satisfaction": 2}) == [("", "required")]
    assert errors(built, {"satisfaction": 1, "why_unhappy": "加班多"}) == []
    assert errors(built, {"satisfaction": 4, "why_unhappy": "x"}) == [
        ("/why_unhappy", "falseSchema")
    ]
    assert built.ui["fields"]["/why_unhappy"]["show_if"]["in"] == [1, 2]


def test_show_if_on_a_multiple_choice_holds_when_the_value_is_among_the_selected() -> None:
    built = form(
        {
            "type": "multiple_choice",
            "name": "benefits",
            "label": lbl("福利"),
            "choices": [
                {"value": "meals", "label": lbl("餐补")},
                {"value": "other", "label": lbl("其他")},
            ],
        },
        {
            "type": "text",
            "name": "other_benefit",
            "label": lbl("其他福利"),
            "required": True,
            "show_if": {"field": "benefits", "equals": "other"},
        },
    )
    assert errors(built, {"benefits": ["meals", "other"]}) == [("", "required")]
    assert errors(built, {"benefits": ["meals"]}) == []


def test_show_if_between_columns_applies_row_by_row() -> None:
    built = form(
        {
            "type": "table",
            "name": "employees",
            "label": lbl("职工"),
            "columns": [
                {
                    "type": "single_choice",
                    "name": "union_member",
                    "label": lbl("会员"),
                    "choices": YES_NO,
                },
                {
                    "type": "text",
                    "name": "union_card",
                    "label": lbl("会员证号"),
                    "required": True,
                    "show_if": {"field": "union_member", "equals": "yes"},
                },
            ],
        }
    )
    rows = [
        {"union_member": "yes", "union_card": "A1"},
        {"union_member": "no"},
        {"union_member": "yes"},
    ]
    assert errors(built, {"employees": rows}) == [("/employees/2", "required")]
    assert built.ui["fields"]["/employees/*/union_card"]["show_if"]["path"] == (
        "/employees/*/union_member"
    )


# --- nesting ------------------------------------------------------------------------------

NESTED = form(
    {"type": "single_choice", "name": "has_union", "label": lbl("是否建立工会"), "choices": YES_NO},
    {
        "type": "section",
        "name": "staff",
        "label": lbl("职工情况"),
        "required": True,
        "fields": [
            {"type": "number", "name": "count", "label": lbl("人数"), "integer": True},
            {
                "type": "table",
                "name": "employees",
                "label": lbl("职工名单"),
                "min_rows": 1,
                "columns": [
                    {"type": "money", "name": "annual_pay", "label": lbl("年薪"), "required": True},
                    {
                        "type": "text",
                        "name": "union_card",
                        "label": lbl("会员证号"),
                        "required": True,
                        "show_if": {"field": "has_union", "equals": "yes"},
                    },
                ],
            },
        ],
    },
)


def test_a_table_inside_a_section_validates_each_row() -> None:
    good = {"staff": {"count": 2, "employees": [{"annual_pay": 68000}, {"annual_pay": 52000.5}]}}
    assert errors(NESTED, good) == []
    bad = {"staff": {"count": 2, "employees": [{"annual_pay": 68000}, {"annual_pay": -5}, {}]}}
    assert errors(NESTED, bad) == [
        ("/staff/employees/1/annual_pay", "minimum"),
        ("/staff/employees/2", "required"),
    ]
    assert errors(NESTED, {"staff": {"employees": []}}) == [("/staff/employees", "minItems")]
    assert errors(NESTED, {"staff": {"employees": [{"annual_pay": 1}], "x": 1}}) == [
        ("/staff", "additionalProperties")
    ]


def test_a_column_can_depend_on_a_top_level_field_through_a_section() -> None:
    rows = [{"annual_pay": 1, "union_card": "A1"}, {"annual_pay": 2}]
    assert errors(NESTED, {"has_union": "yes", "staff": {"employees": rows}}) == [
        ("/staff/employees/1", "required")
    ]
    assert errors(NESTED, {"has_union": "no", "staff": {"employees": rows}}) == [
        ("/staff/employees/0/union_card", "falseSchema")
    ]
    assert NESTED.ui["fields"]["/staff/employees/*/union_card"]["show_if"]["path"] == "/has_union"


def test_ui_hints_are_keyed_by_instance_path_with_a_star_for_rows() -> None:
    assert NESTED.ui["order"] == ["has_union", "staff"]
    assert list(NESTED.ui["fields"]) == [
        "/has_union",
        "/staff",
        "/staff/count",
        "/staff/employees",
        "/staff/employees/*/annual_pay",
        "/staff/employees/*/union_card",
    ]
    assert NESTED.ui["fields"]["/staff"]["order"] == ["count", "employees"]
    assert NESTED.ui["fields"]["/staff/employees"]["order"] == ["annual_pay", "union_card"]


def test_every_palette_type_is_its_own_widget_and_the_schema_is_valid_2020_12() -> None:
    built = form(
        {"type": "text", "name": "t", "label": lbl("文本"), "multiline": True},
        {"type": "number", "name": "n", "label": lbl("数字")},
        {"type": "money", "name": "m", "label": lbl("金额")},
        {"type": "date", "name": "d", "label": lbl("日期")},
        {"type": "single_choice", "name": "s", "label": lbl("单选"), "choices": YES_NO},
        {"type": "multiple_choice", "name": "mc", "label": lbl("多选"), "choices": YES_NO},
        {
            "type": "likert",
            "name": "l",
            "label": lbl("量表"),
            "low_label": lbl("很不满意"),
            "high_label": lbl("很满意"),
        },
        {
            "type": "table",
            "name": "tb",
            "label": lbl("表格"),
            "columns": [{"type": "text", "name": "c", "label": lbl("列")}],
        },
        {
            "type": "section",
            "name": "sc",
            "label": lbl("分组"),
            "fields": [{"type": "text", "name": "f", "label": lbl("题")}],
        },
    )
    assert built.schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert jsonschema_rs.meta.is_valid(built.schema)
    widgets = {path: hint["widget"] for path, hint in built.ui["fields"].items()}
    assert widgets == {
        "/t": "text",
        "/n": "number",
        "/m": "money",
        "/d": "date",
        "/s": "single_choice",
        "/mc": "multiple_choice",
        "/l": "likert",
        "/tb": "table",
        "/tb/*/c": "text",
        "/sc": "section",
        "/sc/f": "text",
    }
    likert = built.ui["fields"]["/l"]
    assert (likert["scale"], likert["low_label"], likert["high_label"]) == (
        5,
        {"zh": "很不满意"},
        {"zh": "很满意"},
    )
    assert built.ui["fields"]["/t"]["multiline"] is True


# --- labels -------------------------------------------------------------------------------


def test_chinese_labels_are_titles_and_english_goes_to_x_en() -> None:
    built = form(
        {
            "type": "single_choice",
            "name": "has_union",
            "label": {"zh": "是否建立工会", "en": "Has a trade union"},
            "help": {"zh": "以工商登记为准", "en": "As registered"},
            "choices": YES_NO,
        },
        {"type": "text", "name": "note", "label": lbl("备注")},
    )
    assert (built.schema["title"], built.schema["x-en"]) == (
        "企业薪酬调查",
        {"title": "Enterprise salary survey"},
    )
    prop = built.schema["properties"]["has_union"]
    assert (prop["title"], prop["description"]) == ("是否建立工会", "以工商登记为准")
    assert prop["x-en"] == {"title": "Has a trade union", "description": "As registered"}
    assert prop["x-enum-labels"] == {"yes": {"zh": "是", "en": "Yes"}, "no": {"zh": "否"}}
    assert "x-en" not in built.schema["properties"]["note"]
    assert built.ui["fields"]["/has_union"]["help"] == {
        "zh": "以工商登记为准",
        "en": "As registered",
    }


# --- builder errors -----------------------------------------------------------------------


def test_duplicate_names_at_one_level_are_an_error_but_may_repeat_across_levels() -> None:
    assert issues(
        {"type": "text", "name": "name", "label": lbl("名称")},
        {"type": "text", "name": "name", "label": lbl("名称")},
    ) == [("/fields/1/name", "duplicate-name")]
    nested = {
        "type": "section",
        "name": "enterprise",
        "label": lbl("企业"),
        "fields": [
            {"type": "text", "name": "name", "label": lbl("名称")},
            {"type": "text", "name": "name", "label": lbl("名称")},
        ],
    }
    assert issues({"type": "text", "name": "name", "label": lbl("名称")}, nested) == [
        ("/fields/1/fields/1/name", "duplicate-name")
    ]


def test_show_if_naming_an_unknown_field_is_an_error() -> None:
    assert issues(
        {
            "type": "text",
            "name": "a",
            "label": lbl("甲"),
            "show_if": {"field": "nope", "equals": "x"},
        }
    ) == [("/fields/0/show_if/field", "show-if-unknown")]


@pytest.mark.parametrize(
    "fields",
    [
        [
            {
                "type": "text",
                "name": "a",
                "label": lbl("甲"),
                "show_if": {"field": "b", "equals": "x"},
            },
            {"type": "text", "name": "b", "label": lbl("乙")},
        ],
        [
            {
                "type": "text",
                "name": "a",
                "label": lbl("甲"),
                "show_if": {"field": "a", "equals": "x"},
            }
        ],
    ],
    ids=["later-field", "itself"],
)
def test_show_if_must_name_an_earlier_field(fields: list[dict[str, Any]]) -> None:
    assert issues(*fields) == [("/fields/0/show_if/field", "show-if-order")]


def test_a_nested_show_if_may_not_name_a_top_level_field_after_its_section() -> None:
    section = {
        "type": "section",
        "name": "s",
        "label": lbl("组"),
        "fields": [
            {
                "type": "text",
                "name": "a",
                "label": lbl("甲"),
                "show_if": {"field": "b", "equals": "x"},
            }
        ],
    }
    assert issues(section, {"type": "text", "name": "b", "label": lbl("乙")}) == [
        ("/fields/0/fields/0/show_if/field", "show-if-order")
    ]


@pytest.mark.parametrize(
    ("options", "path"),
    [
        ({"type": "text", "min_length": 5, "max_length": 3}, "/fields/0/min_length"),
        ({"type": "number", "minimum": 10, "maximum": 1.5}, "/fields/0/minimum"),
        ({"type": "money", "minimum": 100, "maximum": 10}, "/fields/0/minimum"),
        (
            {"type": "date", "min_date": "2024-01-01", "max_date": "2023-01-01"},
            "/fields/0/min_date",
        ),
        (
            {"type": "multiple_choice", "choices": YES_NO, "min_selected": 2, "max_selected": 1},
            "/fields/0/min_selected",
        ),
        (
            {
                "type": "table",
                "min_rows": 3,
                "max_rows": 2,
                "columns": [{"type": "text", "name": "c", "label": lbl("列")}],
            },
            "/fields/0/min_rows",
        ),
    ],
    ids=["text", "number", "money", "date", "multiple_choice", "table"],
)
def test_a_minimum_above_its_maximum_is_an_error(options: dict[str, Any], path: str) -> None:
    assert issues({"name": "f", "label": lbl("题"), **options}) == [(path, "range")]


def test_choices_with_a_repeated_value_are_an_error() -> None:
    choices = [*YES_NO, {"value": "yes", "label": lbl("是的")}]
    assert issues(
        {"type": "single_choice", "name": "c", "label": lbl("选"), "choices": choices}
    ) == [("/fields/0/choices/2/value", "duplicate-choice")]


def test_a_table_without_columns_and_a_section_without_fields_are_errors() -> None:
    table = TableField(name="employees", label=Label(zh="职工"), columns=[])
    section = SectionField(name="enterprise", label=Label(zh="企业"), fields=[])
    found = [(i["path"], i["keyword"]) for i in check_builder_fields([table, section])]
    assert ("/fields/0/columns", "empty") in found
    assert ("/fields/1/fields", "empty") in found
    with pytest.raises(msgspec.ValidationError, match=r"length >= 1"):
        decode_builder_fields(
            b'[{"type": "table", "name": "t", "label": {"zh": "x"}, "columns": []}]'
        )


def test_show_if_value_must_be_one_the_field_can_take() -> None:
    choice = {"type": "single_choice", "name": "c", "label": lbl("选"), "choices": YES_NO}
    likert = {"type": "likert", "name": "l", "label": lbl("量表")}

    def shown_if(condition: dict[str, Any]) -> dict[str, Any]:
        return {"type": "text", "name": "t", "label": lbl("题"), "show_if": condition}

    assert issues(choice, shown_if({"field": "c", "equals": "maybe"})) == [
        ("/fields/1/show_if/equals", "show-if-value")
    ]
    assert issues(likert, shown_if({"field": "l", "in": [1, 9]})) == [
        ("/fields/1/show_if/in", "show-if-value")
    ]
    assert issues(choice, shown_if({"field": "c", "equals": "yes", "in": ["no"]})) == [
        ("/fields/1/show_if", "show-if-value")
    ]
    assert issues(choice, shown_if({"field": "c"})) == [("/fields/1/show_if", "show-if-value")]


def test_a_pattern_that_is_not_a_regular_expression_is_an_error() -> None:
    assert issues({"type": "text", "name": "t", "label": lbl("题"), "pattern": "(["}) == [
        ("/fields/0/pattern", "pattern")
    ]


def test_fields_built_in_python_are_held_to_the_declared_constraints() -> None:
    found = check_builder_fields([TextField(name="Bad-Name", label=Label(zh="题"))])
    assert [(i["path"], i["keyword"]) for i in found] == [("/fields/0/name", "shape")]


def test_build_schema_refuses_bad_fields_with_every_problem_listed() -> None:
    fields = decode_builder_fields(
        msgspec.json.encode(
            [
                {"type": "text", "name": "a", "label": lbl("甲"), "min_length": 9, "max_length": 1},
                {"type": "text", "name": "a", "label": lbl("甲")},
            ]
        )
    )
    with pytest.raises(BuilderError) as caught:
        build_schema(fields, title=TITLE)
    assert [e["path"] for e in caught.value.errors] == ["/fields/0/min_length", "/fields/1/name"]
    assert all(e["message"] and e["message_zh"] for e in caught.value.errors)


# --- decoding -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "complaint"),
    [
        ({"type": "slider", "name": "a", "label": lbl("甲")}, "Invalid value 'slider'"),
        (
            {"type": "text", "name": "a", "label": lbl("甲"), "choices": YES_NO},
            "unknown field `choices`",
        ),
        ({"type": "text", "name": "1a", "label": lbl("甲")}, "matching regex"),
        (
            {"type": "single_choice", "name": "a", "label": lbl("甲")},
            "missing required field `choices`",
        ),
        ({"type": "text", "name": "a", "label": {"en": "A"}}, "missing required field `zh`"),
        ({"type": "likert", "name": "a", "label": lbl("甲"), "scale": 1}, ">= 2"),
    ],
    ids=["unknown-type", "foreign-option", "bad-name", "no-choices", "no-chinese", "scale"],
)
def test_builder_input_of_the_wrong_shape_is_refused_with_its_location(
    field: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(msgspec.ValidationError, match="at `\\$\\[0\\]") as caught:
        decode_builder_fields(msgspec.json.encode([field]))
    assert complaint in str(caught.value)


def test_show_if_in_is_spelled_in_in_json() -> None:
    [_, field] = decode_builder_fields(
        msgspec.json.encode(
            [
                {"type": "likert", "name": "l", "label": lbl("量表")},
                {
                    "type": "text",
                    "name": "t",
                    "label": lbl("题"),
                    "show_if": {"field": "l", "in": [1]},
                },
            ]
        )
    )
    assert field.show_if is not None
    assert field.show_if.in_ == [1]


def test_a_compact_date_is_left_to_the_format_check_not_reported_as_out_of_range() -> None:
    built = form({"type": "date", "name": "d", "label": lbl("日期"), "max_date": "2023-12-31"})
    assert check_date_limits(built.schema, {"d": "20240101"}) == []
    assert errors(built, {"d": "20240101"}) == [("/d", "format")]
