"""Typed loaders for the code lists in ``data/`` and the code helpers built on them.

Each list is read once (``functools.cache``) through ``importlib.resources``, so it works
from an installed wheel as well as from the source tree. The helpers raise ``ValueError``
on a code they cannot place; the format checkers in ``survey_service.forms.formats`` turn
that into ``False``.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

OCCUPATION_LEVELS = ("major", "middle", "minor", "detailed")

# "6", "6-01", "6-01-02", "6-01-02-03"; [0-9], not \d, which also matches non-ASCII digits.
_OCCUPATION_CODE = re.compile(r"[0-9](?:-[0-9]{2}){0,3}")
# A section letter alone, or 2-4 digits (division, group, class) with an optional section.
_INDUSTRY_CODE = re.compile(r"(?P<section>[A-T])|(?P<prefix>[A-T])?(?P<digits>[0-9]{2,4})")


@dataclass(frozen=True, slots=True)
class District:
    """A GB/T 2260 division of Tongchuan, or a local code (``official`` False)."""

    code: str
    name: str
    name_en: str
    level: str
    parent: str
    official: bool


@dataclass(frozen=True, slots=True)
class Industry:
    """A GB/T 4754-2017 section (letter, no parent) or division (two digits)."""

    code: str
    name: str
    level: str
    parent: str | None


@dataclass(frozen=True, slots=True)
class Occupation:
    """A 职业分类大典 (2022) major group ("6") or middle group ("6-01")."""

    code: str
    name: str
    level: str
    parent: str | None


def _rows(filename: str) -> list[dict[str, str]]:
    text = files("survey_service.reference").joinpath("data", filename).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@cache
def districts() -> dict[str, District]:
    """Tongchuan's districts by code, the city itself (610200) included."""
    return {
        row["code"]: District(
            code=row["code"],
            name=row["name"],
            name_en=row["name_en"],
            level=row["level"],
            parent=row["parent"],
            official=row["official"] == "true",
        )
        for row in _rows("districts-tongchuan.csv")
    }


@cache
def industries() -> dict[str, Industry]:
    """GB/T 4754-2017 sections (A-T) and divisions (01-97) by code."""
    return {
        row["code"]: Industry(row["code"], row["name"], row["level"], row["parent"] or None)
        for row in _rows("industries-gbt4754-2017-sections-divisions.csv")
    }


@cache
def occupations() -> dict[str, Occupation]:
    """职业分类大典 (2022) major and middle groups by code."""
    return {
        row["code"]: Occupation(row["code"], row["name"], row["level"], row["parent"] or None)
        for row in _rows("occupations-2022-major-middle.csv")
    }


def occupation_level(code: str) -> str:
    """The level of an occupation code from its shape alone: "major", "middle", "minor" or
    "detailed" ("6-01-02-03" -> "detailed"); whether the groups exist is not checked here."""
    if not _OCCUPATION_CODE.fullmatch(code):
        raise ValueError(f"not an occupation code: {code!r}")
    return OCCUPATION_LEVELS[code.count("-")]


def occupation_prefix(code: str, level: str) -> str:
    """The code cut to ``level``: ("6-01-02-03", "middle") -> "6-01"."""
    depth = OCCUPATION_LEVELS.index(occupation_level(code))
    if level not in OCCUPATION_LEVELS:
        raise ValueError(f"unknown occupation level: {level!r}")
    wanted = OCCUPATION_LEVELS.index(level)
    if wanted > depth:
        raise ValueError(f"{code!r} is coarser than the {level} level")
    return "-".join(code.split("-")[: wanted + 1])


def industry_division(code: str) -> str:
    """The two-digit division of a division, group or class: "C3011" -> "30"."""
    match = _INDUSTRY_CODE.fullmatch(code)
    if match is None or match["digits"] is None:
        raise ValueError(f"not an industry code below section level: {code!r}")
    return match["digits"][:2]


def industry_section(code: str) -> str:
    """The section letter of any known industry code: "C3011", "3011", "30" -> "C".

    Raises ValueError when the division is not in the list or a given section letter is
    not the division's own ("A3011").
    """
    match = _INDUSTRY_CODE.fullmatch(code)
    if match is None:
        raise ValueError(f"not an industry code: {code!r}")
    if match["section"] is not None:
        if match["section"] not in industries():
            raise ValueError(f"unknown industry section: {code!r}")
        return str(match["section"])
    division = industries().get(match["digits"][:2])
    if division is None or division.parent is None:
        raise ValueError(f"unknown industry division in {code!r}")
    prefix = match["prefix"]
    if prefix is not None and prefix != division.parent:
        raise ValueError(f"industry division {division.code} is in {division.parent}, not {prefix}")
    return division.parent
