"""The shipped forms in ``form_schemas/``: their file format, that their schemas are valid
JSON Schema 2020-12, that realistic documents pass and typical mistakes fail at the right
place, and that their UI hints and rules agree with their schemas."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

FORMS_DIR = Path(__file__).resolve().parents[2] / "form_schemas"

KINDS = {
    "salary-survey": "salary-survey",
    "worker-satisfaction": "poll",
    "worker-commitments": "poll",
    "enterprise-self-assessment": "self-assessment",
}
SIX_DUTIES = ["contracts", "wages", "social_insurance", "safety", "democracy", "rights"]
# The workers' six commitments (职工"六要"), the notice's counterpart of the six duties.
SIX_COMMITMENTS = ["dedication", "devotion", "skills", "discipline", "ideas", "rights"]
WIDGETS = {
    "text",
    "number",
    "money",
    "date",
    "single_choice",
    "multiple_choice",
    "likert",
    "table",
    "section",
    "textarea",
    "nps",
}

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def with_uscc_check(first17: str) -> str:
    """Append the GB 32100-2015 check character to the first 17 characters of a code."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return first17 + USCC_ALPHABET[(31 - total % 31) % 31]


USCC = with_uscc_check("91610200MA6Y2A3X2")


def load(key: str) -> dict[str, Any]:
    form: dict[str, Any] = json.loads((FORMS_DIR / f"{key}.json").read_text(encoding="utf-8"))
    return form


def validator(key: str) -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(load(key)["schema"])


def pointer(parts: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def error_places(key: str, document: Any) -> set[tuple[str, str]]:
    """(JSON Pointer, keyword) of every error; a missing property is placed at the property."""
    places = set()
    for error in validator(key).iter_errors(document):
        parts = list(error.instance_path)
        details = error.kind.as_dict()
        if error.kind.name == "required":
            parts.append(details["property"])
        places.add((pointer(parts), error.kind.name))
    return places


def resolve(schema: dict[str, Any], path: str) -> dict[str, Any] | None:
    """The subschema that an instance path (``*`` for any array index) points at, or None.

    Follows local ``$ref``s and looks into ``allOf`` branches and their ``then``/``else``."""
    node: dict[str, Any] | None = schema
    for step in path.strip("/").split("/") if path.strip("/") else []:
        node = _child(node, schema, step) if node is not None else None
    return node


def _definition(root: dict[str, Any], ref: str) -> dict[str, Any]:
    """The subschema a local ``$ref`` such as ``#/$defs/evidence`` names."""
    target: Any = root
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    assert isinstance(target, dict)
    return target


def _expand(node: dict[str, Any], root: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        yield from _expand(_definition(root, ref), root)
    for branch in node.get("allOf", []):
        yield from _expand(branch, root)
        for key in ("then", "else"):
            if key in branch:
                yield from _expand(branch[key], root)


def _child(node: dict[str, Any], root: dict[str, Any], step: str) -> dict[str, Any] | None:
    for candidate in _expand(node, root):
        if step == "*" and isinstance(candidate.get("items"), dict):
            items: dict[str, Any] = candidate["items"]
            return items
        found = candidate.get("properties", {}).get(step)
        if isinstance(found, dict):  # not the `false` that forbids a hidden answer
            return found
    return None


def walk_properties(
    node: Any, root: dict[str, Any], path: str = ""
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (instance path, schema) of a named property, through items, $refs and allOf."""
    if not isinstance(node, dict):
        return
    for candidate in _expand(node, root):
        for name, prop in candidate.get("properties", {}).items():
            if not isinstance(prop, dict):  # the `false` that forbids a hidden answer
                continue
            yield f"{path}/{name}", prop
            yield from walk_properties(prop, root, f"{path}/{name}")
        if isinstance(candidate.get("items"), dict):
            yield from walk_properties(candidate["items"], root, f"{path}/*")


# ---------------------------------------------------------------- realistic documents


def salary_document() -> dict[str, Any]:
    return {
        "enterprise": {
            "uscc": USCC,
            "name": "铜川市耀州建材有限责任公司",
            "legal_representative": "王建国",
            "contact_name": "李娟",
            "contact_phone": "0919-6182345",
            "district": "610204",
            "industry": "C3011",
            "ownership": "limited_liability",
            "size_class": "medium",
            "above_designated_size": True,
            "staff_count": 230,
            "average_headcount": 226,
            "agency_workers": 12,
            "months_operating": 12,
            "wage_bill": 16380000,
            "has_union": True,
            "has_collective_contract": True,
            "survey_year": 2023,
        },
        "employees": [
            {
                "occupation": "6-15-01-01",
                "job_level": "non_management",
                "education": "upper_secondary",
                "skill_level": "skill_grade_3",
                "sex": "male",
                "birth_year": 1985,
                "work_start_year": 2004,
                "employment_form": "full_time",
                "contract_type": "open_ended",
                "union_member": True,
                "months_worked": 12,
                "weekly_hours": 44,
                "annual_pay": 68000,
                "base_pay": 48000,
                "bonus": 12000,
                "allowances": 6000,
                "overtime_pay": 2000,
            },
            {
                "occupation": "2-02-06-03",
                "job_level": "middle_management",
                "education": "bachelor",
                "skill_level": "title_intermediate",
                "sex": "female",
                "birth_year": 1990,
                "work_start_year": 2012,
                "employment_form": "full_time",
                "contract_type": "fixed_term",
                "union_member": True,
                "months_worked": 12,
                "weekly_hours": 40,
                "annual_pay": 96500.5,
                "base_pay": 60000,
                "bonus": 30000.5,
                "allowances": 6500,
                "overtime_pay": 0,
            },
            {
                "occupation": "4-07-05-01",
                "education": "junior_secondary_or_less",
                "employment_form": "part_time",
                "contract_type": "none",
                "months_worked": 7,
                "weekly_hours": 20,
                "annual_pay": 15400,
            },
            {"occupation": "1-06", "months_worked": 12, "annual_pay": 310000},
        ],
    }


def api_md_example_document() -> dict[str, Any]:
    """The example of API.md "The salary-survey document", literally; only its placeholders
    ("91610200...", "...") are replaced by real values."""
    return {
        "enterprise": {
            "uscc": USCC,
            "name": "铜川示例水泥有限公司",
            "district": "610202",
            "industry": "C3011",
            "ownership": "private",
            "staff_count": 230,
            "has_union": True,
        },
        "employees": [
            {
                "occupation": "6-01-02-03",
                "education": "upper_secondary",
                "skill_level": "skill_grade_4",
                "months_worked": 12,
                "annual_pay": 68000,
                "base_pay": 48000,
                "bonus": 12000,
                "allowances": 6000,
                "overtime_pay": 2000,
                "weekly_hours": 44,
            }
        ],
    }


def poll_document() -> dict[str, Any]:
    answers = {
        "contract_1": 5,
        "contract_2": 4,
        "wage_1": 4,
        "wage_2": 2,
        "insurance_1": 5,
        "insurance_2": 3,
        "safety_1": 4,
        "safety_2": 4,
        "democracy_1": 3,
        "democracy_2": 3,
        "rights_1": 2,
        "rights_2": 4,
    }
    return {
        **answers,
        "overall_satisfaction": 4,
        "recommend": 8,
        "comment": "希望夏天高温岗位能按时发放防暑降温费。",
    }


def assessment_document() -> dict[str, Any]:
    return {
        "enterprise": {"uscc": USCC, "name": "铜川市耀州建材有限责任公司"},
        "contact": {"name": "李娟", "phone": "13909191234"},
        "assessment_year": 2023,
        "contracts": {
            "signing_rate": {"answer": 98.5, "evidence": "2023年劳动合同台账"},
            "signed_within_month": {"answer": True},
            "employment_filed": {"answer": True, "evidence": "用工备案回执"},
        },
        "wages": {
            "average_wage_growth": {"answer": "5_to_8", "evidence": "2022、2023年工资报表"},
            "wage_negotiation": {"answer": True, "evidence": "2023年工资专项集体合同"},
            "paid_on_time": {"answer": True},
            "minimum_wage_met": {"answer": True},
        },
        "social_insurance": {
            "coverage_rate": {"answer": 96, "evidence": "社保缴费明细"},
            "full_contribution_base": {"answer": False},
        },
        "safety": {
            "safety_training": {"answer": True, "evidence": "三级安全教育记录"},
            "protective_equipment": {"answer": True},
            "accidents": {"answer": "minor_injuries", "evidence": "工伤认定决定书"},
        },
        "democracy": {
            "workers_congress": {"answer": True, "evidence": "第三届职代会决议"},
            "open_affairs": {"answer": True},
            "rules_consulted": {"answer": True},
        },
        "rights": {
            "overtime_paid": {"answer": True},
            "annual_leave_rate": {"answer": 80},
            "women_protection": {"answer": "special_contract"},
            "hardship_support": {"answer": True, "evidence": "困难职工帮扶基金管理办法"},
        },
        "vetoes": {
            "wage_arrears": False,
            "illegal_employment": False,
            "serious_accident": False,
            "child_labour": False,
            "unpaid_social_insurance": True,
            "unpaid_social_insurance_details": "3名新入职职工试用期未参保，已于2023年10月补缴。",
        },
    }


def commitments_document() -> dict[str, Any]:
    keys = [f"{d}_{n}" for d in SIX_COMMITMENTS for n in (1, 2)]
    return {k: 1 + i % 5 for i, k in enumerate(keys)} | {"comment": "希望多组织技能培训。"}


DOCUMENTS: dict[str, Callable[[], dict[str, Any]]] = {
    "salary-survey": salary_document,
    "worker-satisfaction": poll_document,
    "worker-commitments": commitments_document,
    "enterprise-self-assessment": assessment_document,
}


# ---------------------------------------------------------------- the files


@pytest.mark.parametrize("key", KINDS)
def test_form_file_has_the_shipped_keys_kind_and_bilingual_texts(key: str) -> None:
    form = load(key)
    assert set(form) == {"key", "kind", "title", "description", "schema", "ui", "rules"}
    assert form["key"] == key
    assert form["kind"] == KINDS[key]
    for text in (form["title"], form["description"]):
        assert re.search(r"[\u4e00-\u9fff]", text["zh"])
        assert text["en"]
    assert form["schema"]["title"] == form["title"]["zh"]
    assert form["schema"]["x-en"]["title"] == form["title"]["en"]


@pytest.mark.parametrize("key", KINDS)
def test_form_file_is_utf8_with_real_chinese_and_two_space_indent(key: str) -> None:
    text = (FORMS_DIR / f"{key}.json").read_text(encoding="utf-8")
    assert "\\u" not in text
    assert re.search(r"[\u4e00-\u9fff]", text)
    assert text.splitlines()[1].startswith('  "')


@pytest.mark.parametrize("key", KINDS)
def test_schema_is_valid_under_the_2020_12_meta_schema(key: str) -> None:
    schema = load(key)["schema"]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert jsonschema_rs.meta.is_valid(schema)


@pytest.mark.parametrize("key", KINDS)
def test_schema_refers_only_to_its_own_defs(key: str) -> None:
    text = json.dumps(load(key)["schema"])
    refs = re.findall(r'"\$(?:ref|dynamicRef)": "([^"]*)"', text)
    assert all(ref.startswith("#/$defs/") for ref in refs), refs


@pytest.mark.parametrize("key", KINDS)
def test_every_property_has_a_chinese_title_and_english_annotation(key: str) -> None:
    schema = load(key)["schema"]
    for path, prop in walk_properties(schema, schema):
        # a bare $ref (the evidence field) takes its title from $defs
        described = next(c for c in _expand(prop, schema) if "title" in c)
        assert re.search(r"[\u4e00-\u9fff]", described["title"]), path
        assert described["x-en"]["title"], path
        if "description" in described:
            assert described["x-en"]["description"], path


@pytest.mark.parametrize("key", KINDS)
def test_every_enum_value_has_chinese_and_english_labels(key: str) -> None:
    schema = load(key)["schema"]
    for path, prop in walk_properties(schema, schema):
        if "enum" in prop:
            labels = prop["x-enum-labels"]
            assert set(labels) == set(prop["enum"]), path
            assert all(label["zh"] and label["en"] for label in labels.values()), path


# ---------------------------------------------------------------- valid documents


@pytest.mark.parametrize("key", KINDS)
def test_realistic_document_is_valid(key: str) -> None:
    document = DOCUMENTS[key]()
    assert error_places(key, document) == set()


def test_api_md_example_document_is_a_valid_salary_survey() -> None:
    assert error_places("salary-survey", api_md_example_document()) == set()


def test_salary_survey_keeps_every_field_name_of_the_api_contract() -> None:
    schema = load("salary-survey")["schema"]
    enterprise = schema["properties"]["enterprise"]["properties"]
    row = schema["properties"]["employees"]["items"]["properties"]
    assert set(api_md_example_document()["enterprise"]) <= set(enterprise)
    assert set(api_md_example_document()["employees"][0]) <= set(row)


def test_salary_survey_requires_only_the_core_fields() -> None:
    schema = load("salary-survey")["schema"]
    enterprise = schema["properties"]["enterprise"]
    row = schema["properties"]["employees"]["items"]
    assert set(enterprise["required"]) == {"uscc", "name", "district", "industry", "staff_count"}
    assert set(row["required"]) == {"occupation", "months_worked", "annual_pay"}
    minimal = {
        "enterprise": {
            "uscc": USCC,
            "name": "铜川市王益区便民超市",
            "district": "610202",
            "industry": "F52",
            "staff_count": 3,
        },
        "employees": [{"occupation": "4-01", "months_worked": 12, "annual_pay": 30000}],
    }
    assert error_places("salary-survey", minimal) == set()


def test_new_district_local_code_is_accepted_by_the_salary_survey() -> None:
    document = salary_document()
    document["enterprise"]["district"] = "610271"
    assert error_places("salary-survey", document) == set()


def test_poll_comment_and_assessment_evidence_may_be_left_out() -> None:
    poll = poll_document()
    del poll["comment"]
    assert error_places("worker-satisfaction", poll) == set()
    assessment = assessment_document()
    for duty in SIX_DUTIES:
        for item in assessment[duty].values():
            item.pop("evidence", None)
    assert error_places("enterprise-self-assessment", assessment) == set()


def test_documents_with_correct_formats_pass_the_service_format_checkers() -> None:
    formats = pytest.importorskip("survey_service.forms.formats")
    for key, make_document in [*DOCUMENTS.items(), ("salary-survey", api_md_example_document)]:
        checked = jsonschema_rs.Draft202012Validator(
            load(key)["schema"], formats=formats.FORMAT_CHECKERS, validate_formats=True
        )
        errors = [
            (pointer(e.instance_path), e.message) for e in checked.iter_errors(make_document())
        ]
        assert errors == [], key


# ---------------------------------------------------------------- invalid documents


_DELETE = object()


def _set(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    document = copy.deepcopy(document)
    *parents, last = path.strip("/").split("/")
    node: Any = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is _DELETE:
        del node[last]
    else:
        node[int(last) if isinstance(node, list) else last] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("/employees/0/months_worked", 13, ("/employees/0/months_worked", "maximum")),
        ("/employees/0/months_worked", 0, ("/employees/0/months_worked", "minimum")),
        ("/employees/0/annual_pay", -1, ("/employees/0/annual_pay", "minimum")),
        ("/employees/1/annual_pay", 1600001, ("/employees/1/annual_pay", "maximum")),
        ("/employees/0/anual_pay", 68000, ("/employees/0", "additionalProperties")),
        ("/employees/0/occupation", _DELETE, ("/employees/0/occupation", "required")),
        ("/employees/0/education", "本科", ("/employees/0/education", "enum")),
        ("/employees/0/weekly_hours", 90, ("/employees/0/weekly_hours", "maximum")),
        ("/employees/0/bonus", -500, ("/employees/0/bonus", "minimum")),
        ("/employees/0/annual_pay", "68000元", ("/employees/0/annual_pay", "type")),
        ("/employees/2/weekly_hours", _DELETE, ("/employees/2/weekly_hours", "required")),
        ("/employees", [], ("/employees", "minItems")),
        ("/enterprise/uscc", _DELETE, ("/enterprise/uscc", "required")),
        ("/enterprise/district", "610100", ("/enterprise/district", "enum")),
        ("/enterprise/size_class", "大型", ("/enterprise/size_class", "enum")),
        ("/enterprise/contact_phone", "6182345", ("/enterprise/contact_phone", "pattern")),
        ("/enterprise/staff_count", 0, ("/enterprise/staff_count", "minimum")),
    ],
)
def test_invalid_salary_survey_fails_at_the_offending_field(
    path: str, value: Any, expected: tuple[str, str]
) -> None:
    assert expected in error_places("salary-survey", _set(salary_document(), path, value))


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("/contract_1", 6, ("/contract_1", "maximum")),
        ("/wage_2", 0, ("/wage_2", "minimum")),
        ("/safety_1", 3.5, ("/safety_1", "type")),
        ("/recommend", 11, ("/recommend", "maximum")),
        ("/overall_satisfaction", _DELETE, ("/overall_satisfaction", "required")),
        ("/rights_2", _DELETE, ("/rights_2", "required")),
        ("/comment", "很" * 501, ("/comment", "maxLength")),
        ("/phone", "13909191234", ("", "additionalProperties")),
    ],
)
def test_invalid_poll_answer_fails_at_the_offending_question(
    path: str, value: Any, expected: tuple[str, str]
) -> None:
    assert expected in error_places("worker-satisfaction", _set(poll_document(), path, value))


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("/vetoes/child_labour", _DELETE, ("/vetoes/child_labour", "required")),
        ("/vetoes/wage_arrears", "否", ("/vetoes/wage_arrears", "type")),
        (
            "/vetoes/unpaid_social_insurance_details",
            _DELETE,
            ("/vetoes/unpaid_social_insurance_details", "required"),
        ),
        ("/contracts/signing_rate/answer", 101, ("/contracts/signing_rate/answer", "maximum")),
        ("/wages/average_wage_growth/answer", "12%", ("/wages/average_wage_growth/answer", "enum")),
        ("/safety/accidents/answer", _DELETE, ("/safety/accidents/answer", "required")),
        ("/democracy/open_affairs/note", "x", ("/democracy/open_affairs", "additionalProperties")),
        ("/contact/phone", "12345", ("/contact/phone", "pattern")),
        ("/enterprise/uscc", _DELETE, ("/enterprise/uscc", "required")),
        ("/vetoes/child_labour_details", "无", ("/vetoes/child_labour_details", "falseSchema")),
    ],
)
def test_invalid_self_assessment_fails_at_the_offending_item(
    path: str, value: Any, expected: tuple[str, str]
) -> None:
    document = _set(assessment_document(), path, value)
    assert expected in error_places("enterprise-self-assessment", document)


@pytest.mark.parametrize("phone", ["13909191234", "0919-6182345", "09196182345", "029-88881234"])
def test_contact_phone_accepts_mainland_mobiles_and_landlines(phone: str) -> None:
    document = _set(assessment_document(), "/contact/phone", phone)
    assert error_places("enterprise-self-assessment", document) == set()


# ---------------------------------------------------------------- the salary survey


def test_salary_row_titles_are_unique_chinese_column_labels() -> None:
    row = load("salary-survey")["schema"]["properties"]["employees"]["items"]
    titles = [prop["title"] for prop in row["properties"].values()]
    assert len(titles) == len(set(titles))
    assert all(re.search(r"[\u4e00-\u9fff]", title) and len(title) <= 12 for title in titles)
    assert row["additionalProperties"] is False


def test_salary_schema_and_rules_share_the_official_edit_checks() -> None:
    form = load("salary-survey")
    row = form["schema"]["properties"]["employees"]["items"]["properties"]
    checks = form["rules"]["edit_checks"]
    assert checks == {
        "min_core_pay": 4560,
        "max_annual_pay": 1600000,
        "annual_table_min_months": 12,
    }
    assert row["annual_pay"]["maximum"] == checks["max_annual_pay"]
    assert form["rules"]["outlier"] == {"method": "log-median-ratio", "factor": 4}


def test_minimum_wage_periods_follow_each_other_and_every_district_has_a_class() -> None:
    form = load("salary-survey")
    minimum_wage = form["rules"]["minimum_wage"]
    periods = minimum_wage["periods"]
    assert [p["from"] for p in periods] == ["2021-05-01", "2023-05-01", "2026-01-01"]
    assert periods[-1]["to"] is None
    assert [p["monthly"]["3"] for p in periods] == [1750, 1950, 2140]
    assert periods[-1]["hourly"] == {"1": 23, "2": 21.7, "3": 20.7}
    districts = form["schema"]["properties"]["enterprise"]["properties"]["district"]["enum"]
    assert set(minimum_wage["district_class"]) == set(districts)
    assert all(cls in periods[0]["monthly"] for cls in minimum_wage["district_class"].values())


# ---------------------------------------------------------------- the worker poll


IDENTIFYING = re.compile(r"name|phone|mobile|email|mail|birth|address|wechat|gender|sex|dept")


def test_poll_asks_nothing_that_identifies_a_worker() -> None:
    schema = load("worker-satisfaction")["schema"]
    names = [path.rsplit("/", 1)[1] for path, _ in walk_properties(schema, schema)]
    assert names
    for name in names:
        assert not IDENTIFYING.search(name), name
        assert "id" not in name.split("_"), name
    assert schema["additionalProperties"] is False


def test_poll_has_two_likert_questions_per_duty_and_takes_two_minutes() -> None:
    form = load("worker-satisfaction")
    properties = form["schema"]["properties"]
    dimensions = form["rules"]["dimensions"]
    assert list(dimensions) == SIX_DUTIES
    likert = {n for n, p in properties.items() if "x-likert" in p}
    in_dimensions = [item for d in dimensions.values() for item in d["items"]]
    assert sorted(in_dimensions) == sorted(likert - {"overall_satisfaction"})
    assert all(2 <= len(d["items"]) <= 3 for d in dimensions.values())
    assert len(properties) <= 16
    for name in likert:
        assert properties[name]["type"] == "integer"
        assert (properties[name]["minimum"], properties[name]["maximum"]) == (1, 5)
        assert "enum" not in properties[name]


def test_poll_requires_every_closed_question_but_not_the_comment() -> None:
    form = load("worker-satisfaction")
    required = set(form["schema"]["required"])
    assert required == set(form["schema"]["properties"]) - {"comment"}


def test_poll_rules_carry_the_scoring_bands_and_anonymity_thresholds() -> None:
    rules = load("worker-satisfaction")["rules"]
    assert (rules["favourable"], rules["neutral"], rules["unfavourable"]) == ([4, 5], [3], [1, 2])
    assert rules["recommend"] == {"promoters": [9, 10], "detractors": [0, 6]}
    assert rules["anonymity"] == {"min_group": 5, "min_group_comments": 10}


def test_poll_screens_are_one_per_duty_then_overall_with_an_anonymity_notice() -> None:
    ui = load("worker-satisfaction")["ui"]
    assert [g["key"] for g in ui["groups"]] == [*SIX_DUTIES, "overall"]
    assert ui["groups"][-1]["fields"] == ["/overall_satisfaction", "/recommend", "/comment"]
    assert "5" in ui["anonymity_notice"]["zh"]
    assert "10" in ui["anonymity_notice"]["zh"]
    assert ui["anonymity_notice"]["en"]


# ---------------------------------------------------------------- the self-assessment


def test_assessment_item_points_add_up_to_max_score() -> None:
    rules = load("enterprise-self-assessment")["rules"]
    points = [item["points"] for d in rules["duties"].values() for item in d["items"].values()]
    assert sum(points) == rules["max_score"] == 100
    for duty in rules["duties"].values():
        assert duty["weight"] == sum(item["points"] for item in duty["items"].values())


def test_assessment_rules_score_exactly_the_schema_items() -> None:
    form = load("enterprise-self-assessment")
    schema = form["schema"]
    duties = form["rules"]["duties"]
    assert list(duties) == SIX_DUTIES
    for duty, duty_rules in duties.items():
        assert 2 <= len(duty_rules["items"]) <= 4
        assert set(duty_rules["items"]) == set(schema["properties"][duty]["properties"])
        for item, item_rules in duty_rules["items"].items():
            answer = resolve(schema, f"/{duty}/{item}/answer")
            assert answer is not None
            evidence = resolve(schema, f"/{duty}/{item}/evidence")
            assert evidence is not None
            score = item_rules["score"]
            if score == "boolean":
                assert answer["type"] == "boolean"
            elif score["type"] == "percent":
                assert (answer["type"], answer["minimum"], answer["maximum"]) == ("number", 0, 100)
                assert score["zero_at"] < score["full_at"] <= 100
            else:
                assert score["type"] == "choice"
                assert set(score["points"]) == set(answer["enum"])
                assert max(score["points"].values()) == item_rules["points"]


def test_assessment_grades_descend_to_zero_and_every_veto_caps_the_grade() -> None:
    form = load("enterprise-self-assessment")
    rules = form["rules"]
    assert [(g["grade"], g["min_score"]) for g in rules["grades"]] == [
        ("A", 90),
        ("B", 75),
        ("C", 60),
        ("D", 0),
    ]
    vetoes = form["schema"]["properties"]["vetoes"]
    assert set(rules["vetoes"]) == set(vetoes["required"])
    assert set(rules["vetoes"]) == {
        "wage_arrears",
        "illegal_employment",
        "serious_accident",
        "child_labour",
        "unpaid_social_insurance",
    }
    for key, veto in rules["vetoes"].items():
        assert vetoes["properties"][key]["type"] == "boolean"
        assert veto["cap_grade"] in {g["grade"] for g in rules["grades"]}
        assert veto["zh"]
        assert veto["en"]


# ---------------------------------------------------------------- UI hints


@pytest.mark.parametrize("key", KINDS)
def test_every_ui_path_points_at_a_real_schema_property(key: str) -> None:
    form = load(key)
    schema, ui = form["schema"], form["ui"]
    assert ui["order"] == list(schema["properties"])
    group_keys = {g["key"] for g in ui["groups"]}
    for path, field in ui["fields"].items():
        assert resolve(schema, path) is not None, path
        assert field["widget"] in WIDGETS, path
        assert field["label"]["zh"], path
        assert field["label"]["en"], path
        assert field["group"] in group_keys, path
        if "show_if" in field:
            assert resolve(schema, field["show_if"]["field"]) is not None, path
    for group in ui["groups"]:
        assert group["title"]["zh"]
        assert group["title"]["en"]
        for path in group["fields"]:
            assert path in ui["fields"], path


@pytest.mark.parametrize("key", KINDS)
def test_ui_required_marks_match_the_schema(key: str) -> None:
    form = load(key)
    schema = form["schema"]
    for path, field in form["ui"]["fields"].items():
        parent_path, name = path.rsplit("/", 1)
        parent = resolve(schema, parent_path)
        assert parent is not None, path
        required = set(parent.get("required", []))
        if "$ref" in parent:
            required |= set(_definition(schema, parent["$ref"]).get("required", []))
        if "show_if" in field:  # required only while shown, through if/then
            assert name not in required, path
        else:
            assert field.get("required", False) == (name in required), path


def test_the_commitments_poll_scores_the_six_commitments_and_asks_nothing_identifying() -> None:
    form = load("worker-commitments")
    assert list(form["rules"]["dimensions"]) == SIX_COMMITMENTS
    names = [d["zh"] for d in form["rules"]["dimensions"].values()]
    assert names == [
        "工作要敬业",
        "岗位要奉献",
        "技能要提升",
        "纪律要遵守",
        "发展要献策",
        "维权要理性",
    ]
    scored = [k for d in form["rules"]["dimensions"].values() for k in d["items"]]
    assert sorted(scored) == sorted(k for k in form["schema"]["properties"] if k != "comment")
    assert form["rules"]["anonymity"] == load("worker-satisfaction")["rules"]["anonymity"]
