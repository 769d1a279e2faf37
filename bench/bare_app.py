"""The ASGI app that ``bench.form_fetch`` serves: the project's own app, unchanged, plus one
bare route ``GET /bench/bare`` that answers the salary-survey schema from bytes held in
memory (read once at start-up): no dependency injection, no form cache, no database.

Serve with ``uvicorn --factory bench.bare_app:create`` (``SURVEY_*`` settings as usual).
"""

from __future__ import annotations

from pathlib import Path

import msgspec
from litestar import Litestar, Response, get
from litestar.handlers import HTTPRouteHandler

from survey_service.app import create_app
from survey_service.forms.registry import read_form_files
from survey_service.settings import Settings

BARE_PATH = "/bench/bare"
FORM_KEY = "salary-survey"
MEDIA_TYPE = "application/schema+json"


def schema_body(form_schemas_dir: Path, key: str = FORM_KEY) -> bytes:
    """The bytes ``GET /api/v1/forms/{key}/schema`` sends: the schema, msgspec-encoded."""
    for form in read_form_files(form_schemas_dir):
        if form.key == key:
            return msgspec.json.encode(form.schema)
    raise LookupError(f"no form {key!r} in {form_schemas_dir}")


def bare_route(body: bytes) -> HTTPRouteHandler:
    @get(BARE_PATH, media_type=MEDIA_TYPE, include_in_schema=False)
    async def bare() -> Response[bytes]:
        return Response(body, media_type=MEDIA_TYPE)

    return bare


def create() -> Litestar:
    settings = Settings.from_env()
    app = create_app(settings)
    app.register(bare_route(schema_body(settings.form_schemas_dir)))
    return app
