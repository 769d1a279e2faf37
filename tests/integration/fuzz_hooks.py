"""Schemathesis hooks for tests/integration/test_openapi_fuzz.py (loaded by the CLI through
the ``hooks`` setting).

Litestar converts a JSON body to the handler's type in msgspec's lax mode: a number sent
as a string (``"2023"``), ``0``/``1`` or ``"true"`` for a boolean, ``5.0`` for a whole
number are read as meant. Such a body breaks the document's types, so schemathesis counts
its acceptance as "invalid data accepted". Only that difference is forgiven here: a
failure is dropped when the body is refused by msgspec's strict conversion and accepted by
its lax one (lax mode differs from strict only in those conversions; every constraint is
checked in both), i.e. when nothing but a lenient reading of a scalar let it in.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import msgspec
import schemathesis
from litestar.routes import HTTPRoute
from schemathesis.core.failures import AcceptedNegativeData

from survey_service.app import create_app
from survey_service.settings import Settings


@cache
def body_types() -> dict[str, Any]:
    """``"POST /api/v1/forms"`` -> the handler's body type, for the JSON bodies."""
    app = create_app(Settings(var_dir=Path("/nonexistent"), session_secret="not used"))
    types: dict[str, Any] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            data = handler.parsed_fn_signature.parameters.get("data")
            if data is None or not isinstance(data.annotation, type):
                continue
            if issubclass(data.annotation, msgspec.Struct):
                for method in handler.http_methods:
                    types[f"{method} {route.path_format}"] = data.annotation
    return types


def read_only_leniently(body: Any, body_type: Any) -> bool:
    try:
        msgspec.convert(body, body_type, strict=True)
    except msgspec.ValidationError:
        pass
    else:
        return False
    try:
        msgspec.convert(body, body_type, strict=False)
    except msgspec.ValidationError:
        return False
    return True


@schemathesis.hook
def filter_failure(
    context: schemathesis.HookContext,
    failure: Any,
    case: schemathesis.Case,
    response: schemathesis.Response,
) -> bool:
    if not isinstance(failure, AcceptedNegativeData):
        return True
    body_type = body_types().get(case.operation.label)
    return body_type is None or not read_only_leniently(case.body, body_type)
