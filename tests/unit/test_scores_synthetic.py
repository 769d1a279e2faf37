"""The one seeded generator: same seed, same city and documents; every document valid
against the shipped forms; the benches' names are its names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec

import bench.data
from survey_service.demo import synthetic
from survey_service.forms.validation import compile_schema
from tests.paths import PROJECT_ROOT


def _form(key: str) -> dict[str, Any]:
    form: dict[str, Any] = json.loads(Path(PROJECT_ROOT, "form_schemas", f"{key}.json").read_text())
    return form


def _documents(seed: int) -> bytes:
    rng = synthetic.make_rng(seed)
    firms = synthetic.city(rng, 12)
    poll, assessment = _form("worker-satisfaction"), _form("enterprise-self-assessment")
    documents = [
        [f.registry() for f in firms],
        [synthetic.firm_salary_document(rng, f, year=2023, n_rows=5) for f in firms],
        [synthetic.poll_answer(rng, poll["schema"], f.climate) for f in firms],
        [synthetic.self_assessment(rng, f, assessment["rules"], year=2023) for f in firms],
    ]
    return msgspec.json.encode(documents)


def test_the_same_seed_gives_the_same_city_and_documents() -> None:
    assert _documents(3) == _documents(3)
    assert _documents(3) != _documents(4)


def test_the_city_has_distinct_enterprises_in_every_district() -> None:
    firms = synthetic.city(synthetic.make_rng(1), 200)
    assert len({f.uscc for f in firms}) == len({f.name for f in firms}) == 200
    assert {f.district for f in firms} == set(synthetic.DISTRICT_WEIGHTS)
    assert all(f.has_union for f in firms if f.has_collective_contract)
    assert {f.size_class for f in firms} >= {"micro", "small", "medium"}


def test_every_generated_document_satisfies_its_shipped_form() -> None:
    rng = synthetic.make_rng(5)
    firms = synthetic.city(rng, 60)
    salary, poll, assessment = (
        _form(k) for k in ("salary-survey", "worker-satisfaction", "enterprise-self-assessment")
    )
    checks = [
        (salary, [synthetic.firm_salary_document(rng, f, year=2022, n_rows=8) for f in firms]),
        (poll, [synthetic.poll_answer(rng, poll["schema"], f.climate) for f in firms * 5]),
        (
            assessment,
            [synthetic.self_assessment(rng, f, assessment["rules"], year=2023) for f in firms],
        ),
    ]
    for form, documents in checks:
        validator = compile_schema(form["schema"])
        for document in documents:
            assert validator.is_valid(document), list(validator.iter_errors(document))[:2]


def test_an_earlier_year_pays_less_by_the_factor_given() -> None:
    firm = synthetic.city(synthetic.make_rng(2), 1)[0]
    now = synthetic.firm_salary_document(synthetic.make_rng(9), firm, year=2023, n_rows=400)
    before = synthetic.firm_salary_document(
        synthetic.make_rng(9), firm, year=2022, n_rows=400, pay_factor=0.8
    )
    ratio = before["enterprise"]["wage_bill"] / now["enterprise"]["wage_bill"]
    assert 0.78 < ratio < 0.85  # the minimum-wage floor lifts a few of the lowest rows


def test_the_benches_use_the_one_generator() -> None:
    assert bench.data.salary_document is synthetic.salary_document
    assert bench.data.make_rng is synthetic.make_rng
    assert set(bench.data.__all__) <= set(dir(synthetic))


def _reversed_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reversed_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reversed_keys(v) for v in value]
    return value


def test_documents_do_not_depend_on_the_key_order_the_form_comes_back_in() -> None:
    # PostgreSQL's JSONB gives a form's objects back in an order of its own.
    poll, assessment = _form("worker-satisfaction"), _form("enterprise-self-assessment")
    firm = synthetic.city(synthetic.make_rng(8), 1)[0]
    outputs = []
    for poll_schema, rules in (
        (poll["schema"], assessment["rules"]),
        (_reversed_keys(poll["schema"]), _reversed_keys(assessment["rules"])),
    ):
        rng = synthetic.make_rng(8)
        answers = [synthetic.poll_answer(rng, poll_schema, firm.climate) for _ in range(20)]
        document = synthetic.self_assessment(rng, firm, rules, year=2023)
        outputs.append(msgspec.json.encode([answers, document], order="sorted"))
    assert outputs[0] == outputs[1]
