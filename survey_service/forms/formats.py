"""The custom JSON Schema formats of the shipped forms, as plain checkers for jsonschema-rs.

Each checker takes the instance string and returns True or False; jsonschema-rs lets an
exception from a checker escape validation, so anything malformed (a non-string included)
is False, never an error.

- ``uscc``: the 18-character unified social credit code of GB 32100-2015, check character
  included.
- ``division-code``: a 6-digit GB/T 2260 code. Any code in the districts list is accepted
  (the local 610271 and the city code 610200 included). Codes outside Tongchuan are accepted
  too, since an enterprise registered elsewhere may operate here; for them only the
  structure is checked: six digits under one of the 34 province-level prefixes.
- ``industry-code``: GB/T 4754-2017, a section letter, or a division, group or class with an
  optional section letter ("C3011", "3011", "C30", "30"); the division must be in the list
  and belong to the given section.
- ``occupation-code``: 职业分类大典 2022, "6" to "6-01-02-03"; the major and middle groups
  must be in the list, the minor and detailed levels are checked by structure only.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from survey_service.reference.codes import (
    districts,
    industry_section,
    occupation_level,
    occupation_prefix,
    occupations,
)

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, Z, S, V
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# 1: registration authority, 2: organisation category, 3-8: division code of the registering
# authority (100000 for national registrations, hence digits only, not the province check),
# 9-17: organisation code, 18: check character.
_USCC = re.compile(r"[0-9A-HJ-NP-RTUW-Y]{2}[0-9]{6}[0-9A-HJ-NP-RTUW-Y]{10}")

PROVINCE_PREFIXES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23"}
    | {"31", "32", "33", "34", "35", "36", "37"}
    | {"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54"}
    | {"61", "62", "63", "64", "65", "71", "81", "82"}
)
_DIVISION = re.compile(r"[0-9]{6}")


def uscc_check_character(first17: str) -> str:
    """The GB 32100-2015 check character of the first 17 characters of a code.

    Raises ValueError unless ``first17`` is 17 characters of the code's alphabet.
    """
    total = sum(
        USCC_ALPHABET.index(char) * weight
        for char, weight in zip(first17, USCC_WEIGHTS, strict=True)
    )
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_uscc(value: object) -> bool:
    """An 18-character unified social credit code whose check character is right."""
    if not isinstance(value, str) or not _USCC.fullmatch(value):
        return False
    return uscc_check_character(value[:17]) == value[17]


def is_division_code(value: object) -> bool:
    """A Tongchuan district in the list, or any structurally valid GB/T 2260 code."""
    if not isinstance(value, str):
        return False
    if value in districts():
        return True
    return _DIVISION.fullmatch(value) is not None and value[:2] in PROVINCE_PREFIXES


def is_industry_code(value: object) -> bool:
    """A GB/T 4754-2017 code whose division is listed (and in the section given, if any).

    The list stops at divisions, so a group or class (3 or 4 digits) is accepted whenever
    its division exists.
    """
    if not isinstance(value, str):
        return False
    try:
        industry_section(value)
    except ValueError:
        return False
    return True


def is_occupation_code(value: object) -> bool:
    """A 职业分类大典 2022 code whose major (and middle) group is listed."""
    if not isinstance(value, str):
        return False
    try:
        level = occupation_level(value)
        known = occupations()
        if occupation_prefix(value, "major") not in known:
            return False
        return level == "major" or occupation_prefix(value, "middle") in known
    except ValueError:
        return False


FORMAT_CHECKERS: dict[str, Callable[[str], bool]] = {
    "uscc": is_uscc,
    "division-code": is_division_code,
    "industry-code": is_industry_code,
    "occupation-code": is_occupation_code,
}

# What a person is told when a value has the wrong format: the format's name and an example
# (Chinese, English). Formats not listed here are named by their key.
FORMAT_HELP: dict[str, tuple[str, str, str]] = {
    "uscc": ("统一社会信用代码", "unified social credit code", "91610200MA6X0AB105"),
    "division-code": ("行政区划代码", "division code", "610202"),
    "industry-code": ("行业代码（GB/T 4754-2017）", "industry code (GB/T 4754-2017)", "C3011"),
    "occupation-code": ("职业代码（《职业分类大典》2022）", "occupation code (2022)", "6-01-02-03"),
    "date": ("日期", "date", "2024-01-31"),
    "email": ("电子邮箱", "e-mail address", "name@example.cn"),
}
