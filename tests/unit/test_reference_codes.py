"""The code lists (districts, industries, occupations) and the code helpers built on them."""

from __future__ import annotations

import dataclasses
from importlib.resources import files

import pytest

from survey_service.reference.codes import (
    districts,
    industries,
    industry_division,
    industry_section,
    occupation_level,
    occupation_prefix,
    occupations,
)


def test_districts_are_the_city_its_four_county_units_and_the_new_district() -> None:
    assert list(districts()) == ["610200", "610202", "610203", "610204", "610222", "610271"]
    assert districts()["610204"].name == "耀州区"
    assert districts()["610204"].name_en == "Yaozhou District"
    assert {d.parent for code, d in districts().items() if code != "610200"} == {"610200"}


def test_new_district_has_the_local_code_610271_marked_unofficial() -> None:
    new_district = districts()["610271"]
    assert new_district.name == "铜川新区"
    assert new_district.level == "development_zone"
    assert new_district.official is False
    assert all(d.official for code, d in districts().items() if code != "610271")


def test_local_district_code_is_documented_in_sources() -> None:
    sources = files("survey_service.reference").joinpath("data", "SOURCES.md").read_text("utf-8")
    assert "610271" in sources
    assert "not* a GB/T 2260 code" in sources


def test_industries_are_20_sections_and_97_divisions() -> None:
    levels = [industry.level for industry in industries().values()]
    assert levels.count("section") == 20
    assert levels.count("division") == 97
    assert industries()["C"].parent is None
    assert industries()["30"].name == "非金属矿物制品业"


def test_every_industry_division_belongs_to_a_listed_section() -> None:
    for code, industry in industries().items():
        if industry.level == "division":
            assert industry.parent is not None
            assert industries()[industry.parent].level == "section", code


def test_occupations_are_8_major_and_79_middle_groups() -> None:
    levels = [occupation.level for occupation in occupations().values()]
    assert levels.count("major") == 8
    assert levels.count("middle") == 79
    assert occupations()["8"].name == "不便分类的其他从业人员"


def test_every_middle_occupation_group_sits_under_its_major_group() -> None:
    for code, occupation in occupations().items():
        if occupation.level == "middle":
            assert occupation.parent == code.split("-")[0]
            assert occupations()[occupation.parent].level == "major"


def test_code_lists_are_read_once_and_frozen() -> None:
    assert districts() is districts()
    assert industries() is industries()
    assert occupations() is occupations()
    with pytest.raises(dataclasses.FrozenInstanceError):
        districts()["610271"].official = True  # type: ignore[misc]


@pytest.mark.parametrize(
    ("code", "level"),
    [("6", "major"), ("6-01", "middle"), ("6-01-02", "minor"), ("6-01-02-03", "detailed")],
)
def test_occupation_level_follows_the_number_of_segments(code: str, level: str) -> None:
    assert occupation_level(code) == level


@pytest.mark.parametrize("code", ["", "6-1", "6-01-02-03-04", "6.01", "60"])
def test_occupation_level_of_a_malformed_code_is_an_error(code: str) -> None:
    with pytest.raises(ValueError, match="not an occupation code"):
        occupation_level(code)


@pytest.mark.parametrize(
    ("level", "prefix"),
    [("major", "6"), ("middle", "6-01"), ("minor", "6-01-02"), ("detailed", "6-01-02-03")],
)
def test_occupation_prefix_cuts_a_detailed_code_to_the_level(level: str, prefix: str) -> None:
    assert occupation_prefix("6-01-02-03", level) == prefix


def test_occupation_prefix_finer_than_the_code_is_an_error() -> None:
    with pytest.raises(ValueError, match="coarser"):
        occupation_prefix("6-01", "minor")
    with pytest.raises(ValueError, match="unknown occupation level"):
        occupation_prefix("6-01", "unit")


@pytest.mark.parametrize(
    ("code", "section"), [("C3011", "C"), ("3011", "C"), ("30", "C"), ("C", "C"), ("0111", "A")]
)
def test_industry_section_of_a_code(code: str, section: str) -> None:
    assert industry_section(code) == section


@pytest.mark.parametrize("code", ["A3011", "98", "U", "c30", "C3", ""])
def test_industry_section_of_an_unknown_or_inconsistent_code_is_an_error(code: str) -> None:
    with pytest.raises(ValueError, match="industry"):
        industry_section(code)


@pytest.mark.parametrize(("code", "division"), [("C3011", "30"), ("3011", "30"), ("C30", "30")])
def test_industry_division_of_a_code(code: str, division: str) -> None:
    assert industry_division(code) == division


@pytest.mark.parametrize("code", ["C", "3", "C30111"])
def test_industry_division_of_a_section_or_malformed_code_is_an_error(code: str) -> None:
    with pytest.raises(ValueError, match="not an industry code"):
        industry_division(code)
