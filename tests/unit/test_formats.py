"""The custom JSON Schema formats: uscc, division-code, industry-code, occupation-code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from survey_service.forms.formats import FORMAT_CHECKERS

is_uscc = FORMAT_CHECKERS["uscc"]
is_division_code = FORMAT_CHECKERS["division-code"]
is_industry_code = FORMAT_CHECKERS["industry-code"]
is_occupation_code = FORMAT_CHECKERS["occupation-code"]

FORMS_DIR = Path(__file__).resolve().parents[2] / "form_schemas"

# An independent recomputation of GB 32100-2015: the standard defines the weights as
# W_i = 3^(i-1) mod 31 and the characters' values as a table; a code is valid when the
# weighted sum over all 18 characters (the check character weighted 1) is 0 mod 31.
CHARACTER_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGHJKLMNPQRTUWXY", range(10, 31), strict=True)),
}
WEIGHTS_BY_POWER = [pow(3, i, 31) for i in range(17)] + [1]


def complete_with_check(first17: str) -> str:
    """Find, by trying all 31 characters, the one that makes the weighted sum 0 mod 31."""
    for candidate in CHARACTER_VALUES:
        code = first17 + candidate
        total = sum(CHARACTER_VALUES[c] * w for c, w in zip(code, WEIGHTS_BY_POWER, strict=True))
        if total % 31 == 0:
            return code
    raise AssertionError("no check character fits")


def test_uscc_weights_are_the_powers_of_three_modulo_31() -> None:
    assert WEIGHTS_BY_POWER[:17] == [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


# Published codes: the standard's own worked example (whose check character is 3), a worked
# example from a public explanation (check E), and two large companies' codes.
@pytest.mark.parametrize(
    "code",
    ["91350100M000100Y43", "91512081MA62K0260E", "914403001922038216", "9144030071526726XG"],
)
def test_published_uscc_is_accepted(code: str) -> None:
    assert is_uscc(code)


@pytest.mark.parametrize(
    "first17",
    [
        "91610200MA6Y2A3X2",  # a Tongchuan enterprise registered at city level
        "91610204MA6YABCDE",  # Yaozhou district
        "12610200435200001",  # a public institution (registration authority 1)
        "Y1610271000000000",  # authority "Y", under the new district's local code
        "9110000010000000W",
        "52610222MJY000000",
    ],
)
def test_uscc_with_independently_computed_check_character_is_accepted(first17: str) -> None:
    assert is_uscc(complete_with_check(first17))


def test_uscc_whose_check_value_is_31_uses_zero() -> None:
    # 31 - (sum mod 31) is 31 when the sum is a multiple of 31: the check character is "0".
    first17 = "00000000000000000"
    assert complete_with_check(first17) == first17 + "0"
    assert is_uscc(first17 + "0")


@given(
    st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=2, max_size=2),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=9, max_size=9),
    st.integers(min_value=0, max_value=17),
    st.integers(min_value=1, max_value=30),
)
def test_uscc_with_any_single_character_changed_is_rejected(
    head: str, division: str, body: str, position: int, shift: int
) -> None:
    code = complete_with_check(head + division + body)
    assert is_uscc(code)
    alphabet = "0123456789" if 2 <= position <= 7 else "0123456789ABCDEFGHJKLMNPQRTUWXY"
    changed = alphabet[(alphabet.index(code[position]) + shift) % len(alphabet)]
    if changed == code[position]:
        return
    assert not is_uscc(code[:position] + changed + code[position + 1 :])


def test_uscc_with_wrong_check_character_is_rejected() -> None:
    assert not is_uscc("91350100M000100Y4Z")  # the standard's own invalid example
    assert not is_uscc("914403001922038217")


def test_uscc_in_lowercase_is_rejected() -> None:
    assert is_uscc("9144030071526726XG")
    assert not is_uscc("9144030071526726xg")


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V"])
def test_uscc_with_a_forbidden_letter_is_rejected(letter: str) -> None:
    assert not is_uscc(f"91610200MA6Y2A3X2{letter}")
    assert not is_uscc(f"91610200M{letter}6Y2A3X20")


@pytest.mark.parametrize(
    "code", ["", "91440300192203821", "9144030019220382166", " 914403001922038216"]
)
def test_uscc_of_wrong_length_is_rejected(code: str) -> None:
    assert not is_uscc(code)


def test_uscc_with_a_letter_in_the_division_part_is_rejected() -> None:
    assert not is_uscc(complete_with_check("9161A200MA6Y2A3X2"))


def test_uscc_with_trailing_newline_or_fullwidth_digits_is_rejected() -> None:
    assert not is_uscc("914403001922038216\n")
    assert not is_uscc("９14403001922038216")


@pytest.mark.parametrize("code", ["610200", "610202", "610203", "610204", "610222", "610271"])
def test_every_listed_tongchuan_code_is_a_division_code(code: str) -> None:
    assert is_division_code(code)


@pytest.mark.parametrize("code", ["110101", "440300", "610113", "820000", "710000"])
def test_division_code_outside_tongchuan_is_accepted_by_structure(code: str) -> None:
    assert is_division_code(code)


@pytest.mark.parametrize(
    "code",
    [
        "000000",
        "101000",
        "160000",
        "660000",
        "991234",
        "61020",
        "6102020",
        "61020A",
        "６１０２０２",
    ],
)
def test_division_code_with_bad_structure_or_province_is_rejected(code: str) -> None:
    assert not is_division_code(code)


@pytest.mark.parametrize("code", ["C3011", "3011", "C301", "C30", "30", "C", "T", "A", "01", "97"])
def test_industry_code_with_listed_division_is_accepted(code: str) -> None:
    assert is_industry_code(code)


def test_industry_code_with_section_letter_of_another_section_is_rejected() -> None:
    assert is_industry_code("C3011")
    assert not is_industry_code("A3011")


@pytest.mark.parametrize(
    "code", ["00", "98", "9801", "U", "c3011", "C3", "3", "C30111", "CC30", "C-30", "", " 30"]
)
def test_industry_code_unknown_or_malformed_is_rejected(code: str) -> None:
    assert not is_industry_code(code)


@pytest.mark.parametrize(
    "code", ["6", "6-01", "6-01-02", "6-01-02-03", "2-99-00-00", "8", "8-00", "8-00-00-00"]
)
def test_occupation_code_with_listed_major_and_middle_groups_is_accepted(code: str) -> None:
    assert is_occupation_code(code)


@pytest.mark.parametrize("code", ["0", "9", "6-32", "7-05", "8-01", "1-07-01-01"])
def test_occupation_code_with_unlisted_group_is_rejected(code: str) -> None:
    assert not is_occupation_code(code)


@pytest.mark.parametrize(
    "code",
    ["", "6-1", "6-01-2", "6-01-02-03-04", "60102", "6-01-02-03 ", "6–01", "6-01-0a", "06-01"],
)
def test_malformed_occupation_code_is_rejected(code: str) -> None:
    assert not is_occupation_code(code)


@pytest.mark.parametrize("name", sorted(FORMAT_CHECKERS))
@pytest.mark.parametrize("value", [None, 610202, 6.0, b"610202", ["6-01"], {"code": "C30"}])
def test_checker_returns_false_on_a_non_string(name: str, value: Any) -> None:
    assert FORMAT_CHECKERS[name](value) is False


def test_bad_uscc_inside_a_document_is_a_format_error_in_jsonschema_rs() -> None:
    schema = {
        "type": "object",
        "properties": {
            "enterprise": {"type": "object", "properties": {"uscc": {"format": "uscc"}}}
        },
    }
    validator = jsonschema_rs.Draft202012Validator(
        schema, formats=FORMAT_CHECKERS, validate_formats=True
    )
    assert validator.is_valid({"enterprise": {"uscc": "914403001922038216"}})
    errors = list(validator.iter_errors({"enterprise": {"uscc": "914403001922038217"}}))
    assert len(errors) == 1
    assert errors[0].kind.name == "format"
    assert list(errors[0].instance_path) == ["enterprise", "uscc"]


def _formats_in(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["format"]} if isinstance(node.get("format"), str) else set()
        return found.union(*(_formats_in(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_formats_in(item) for item in node))
    return set()


def test_every_custom_format_of_the_shipped_forms_has_a_checker() -> None:
    standard = {"date", "date-time", "time", "email", "uri", "uuid", "duration", "hostname"}
    used: set[str] = set()
    for path in FORMS_DIR.glob("*.json"):
        used |= _formats_in(json.loads(path.read_text(encoding="utf-8"))["schema"])
    assert used - standard <= set(FORMAT_CHECKERS)
    assert {"uscc", "division-code", "industry-code"} <= used
