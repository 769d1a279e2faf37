"""The benches' synthetic salary surveys: the generator lives in
``survey_service.demo.synthetic`` (shared with ``python -m survey_service demo``); these are
its names, re-exported."""

from survey_service.demo.synthetic import (
    DISTRICTS,
    INDUSTRY_GROUPS,
    MAX_ANNUAL_PAY,
    MONTHLY_MINIMUM_WAGE,
    SEED,
    SURVEY_YEAR,
    PayGroup,
    annual_pay,
    employee,
    enterprise,
    make_rng,
    occupation_median,
    organisation_check_character,
    pay_parts,
    random_uscc,
    salary_document,
)

__all__ = [
    "DISTRICTS",
    "INDUSTRY_GROUPS",
    "MAX_ANNUAL_PAY",
    "MONTHLY_MINIMUM_WAGE",
    "SEED",
    "SURVEY_YEAR",
    "PayGroup",
    "annual_pay",
    "employee",
    "enterprise",
    "make_rng",
    "occupation_median",
    "organisation_check_character",
    "pay_parts",
    "random_uscc",
    "salary_document",
]
