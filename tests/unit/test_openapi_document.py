"""The OpenAPI document names every answer a route can give, in the shape it has: a route
added without its errors, or with a guard but no security requirement, fails here (the
schemathesis run in tests/integration/test_openapi_fuzz.py checks the live answers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute

from survey_service.app import create_app
from survey_service.errors import PROBLEM_JSON
from survey_service.openapi import BEARER, HTML
from survey_service.problems import CATALOGUE
from survey_service.settings import Settings
from survey_service.structs import INT4_MAX

METHODS = ("get", "put", "post", "delete", "patch")
# Routes that never look their path parameter up (the thank-you page thanks any link).
NO_LOOKUP = {"GET /p/{link}/thanks"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Litestar:
    var_dir: Path = tmp_path_factory.mktemp("var")
    return create_app(Settings(var_dir=var_dir))


@pytest.fixture(scope="module")
def document(app: Litestar) -> dict[str, Any]:
    schema: dict[str, Any] = app.openapi_schema.to_schema()
    return schema


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {path}", item[method]


def guarded_handlers(app: Litestar) -> Iterator[tuple[str, HTTPRouteHandler]]:
    """Every documented handler whose guards include an ``auth.require`` guard."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.include_in_schema:
                continue
            names = [getattr(g, "__name__", "") for g in handler.resolve_guards()]
            if any(name.startswith("require_") for name in names):
                for method in handler.http_methods:
                    yield f"{method} {route.path_format}", handler


def test_every_error_answer_is_documented_as_problem_json(document: dict[str, Any]) -> None:
    wrong = {
        f"{name} {status}": sorted(response.get("content", {}))
        for name, op in operations(document)
        for status, response in op["responses"].items()
        if int(status) >= 400
        # The poll pages answer a person with an HTML page.
        and set(response.get("content", {})) != {PROBLEM_JSON}
        and not (name.split()[1].startswith("/p/") and set(response["content"]) == {HTML})
    }
    assert wrong == {}


def test_the_problem_shape_names_status_title_detail_and_errors(document: dict[str, Any]) -> None:
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"status", "title", "detail"}
    assert "errors" in problem["properties"]
    assert "additionalProperties" not in problem  # a problem may carry more members


def test_the_problem_type_is_one_of_the_catalogue_each_described(
    document: dict[str, Any],
) -> None:
    documented = document["components"]["schemas"]["Problem"]["properties"]["type"]
    (choice,) = documented["oneOf"]
    assert choice["enum"] == [entry.uri for entry in CATALOGUE.values()]
    lines = documented["description"].splitlines()
    for entry in CATALOGUE.values():
        assert f"- `{entry.uri}` ({entry.status}, {entry.title}): {entry.description}" in lines
    assert "/problems" in document["paths"]
    assert "/problems/{slug}" in document["paths"]


def test_guarded_routes_name_the_bearer_scheme_and_document_401_and_403(
    app: Litestar, document: dict[str, Any]
) -> None:
    ops = dict(operations(document))
    missing = {
        name: sorted({"401", "403"} - set(ops[name]["responses"]))
        + ([] if ops[name].get("security") == BEARER else ["security"])
        for name, _ in guarded_handlers(app)
    }
    assert {name: gaps for name, gaps in missing.items() if gaps} == {}
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An admin, analyst or invitation (enterprise) token.",
    }


def test_only_guarded_routes_ask_for_a_token(app: Litestar, document: dict[str, Any]) -> None:
    guarded = {name for name, _ in guarded_handlers(app)}
    asking = {name for name, op in operations(document) if op.get("security")}
    assert asking == guarded


def test_routes_with_a_path_parameter_document_not_found(document: dict[str, Any]) -> None:
    missing = [
        name
        for name, op in operations(document)
        if "{" in name and "404" not in op["responses"] and name not in NO_LOOKUP
    ]
    assert missing == []


def test_routes_with_a_body_document_malformed_oversized_and_invalid_bodies(
    document: dict[str, Any],
) -> None:
    missing = {
        name: sorted({"400", "413", "422"} - set(op["responses"]))
        for name, op in operations(document)
        if "requestBody" in op
    }
    assert {name: gaps for name, gaps in missing.items() if gaps} == {}


def _checked(parameter: dict[str, Any]) -> bool:
    """A query parameter, or a path parameter with a type or range to check."""
    return parameter["in"] == "query" or parameter["schema"].get("type") == "integer"


def test_routes_with_checked_parameters_document_invalid_values(document: dict[str, Any]) -> None:
    missing = [
        name
        for name, op in operations(document)
        if any(_checked(p) for p in op.get("parameters", [])) and "422" not in op["responses"]
    ]
    assert missing == []


def test_integer_path_parameters_are_bounded_by_the_database_integer(
    document: dict[str, Any],
) -> None:
    unbounded = {
        f"{name} {p['name']}": (p["schema"].get("minimum"), p["schema"].get("maximum"))
        for name, op in operations(document)
        for p in op.get("parameters", [])
        if p["in"] == "path"
        and p["schema"].get("type") == "integer"
        and (p["schema"].get("minimum"), p["schema"].get("maximum")) != (1, INT4_MAX)
    }
    assert unbounded == {}
