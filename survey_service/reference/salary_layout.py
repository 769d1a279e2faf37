"""The official record layout of the enterprise salary survey, as data
(``data/salary-survey-national-layout.json``): the enterprise record's and the employee
record's fields in the layout's order, each with its official Chinese name, where our
salary-survey document holds it (a JSON Pointer, ``*`` for every employee), its unit and
its code list; the code lists (our value -> the layout's code); and the plausibility
bounds of the edit checks that the form's ``rules`` do not carry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any, Literal

FieldKind = Literal[
    "uscc", "text", "division", "industry", "occupation", "code", "integer", "hours", "money"
]


@dataclass(frozen=True, slots=True)
class LayoutField:
    name_zh: str
    source: str  # "/enterprise/uscc", "/employees/*/sex"
    kind: FieldKind
    unit: str | None = None
    codes: str | None = None  # the code list's name
    required: bool = False
    min: float | None = None  # the range a number must lie in
    max: float | None = None

    # Derived from ``source`` by the loader: the key in its object of the document
    # ("sex"), and whether that object is the enterprise's.
    key: str = ""
    of_enterprise: bool = False


@dataclass(frozen=True, slots=True)
class SalaryLayout:
    enterprise: tuple[LayoutField, ...]
    employee: tuple[LayoutField, ...]
    codes: dict[str, dict[str, str]]
    plausibility: dict[str, int]


def _field(raw: dict[str, Any]) -> LayoutField:
    source = raw["source"]
    return LayoutField(
        **raw, key=source.rsplit("/", 1)[1], of_enterprise=source.startswith("/enterprise/")
    )


@cache
def salary_layout() -> SalaryLayout:
    raw = json.loads(
        files("survey_service.reference")
        .joinpath("data", "salary-survey-national-layout.json")
        .read_text(encoding="utf-8")
    )
    return SalaryLayout(
        enterprise=tuple(_field(f) for f in raw["enterprise"]),
        employee=tuple(_field(f) for f in raw["employee"]),
        codes=raw["codes"],
        plausibility=raw["plausibility"],
    )
