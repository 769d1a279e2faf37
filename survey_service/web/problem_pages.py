"""``/problems`` and ``/problems/<slug>``: the catalogue of problem types
(``survey_service.problems``), so that every problem's ``type`` dereferences. JSON by
default; an HTML page, Chinese first, for a browser (``Accept: text/html``). Public: no
token, no session."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.enums import MediaType
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath

from survey_service.errors import not_found
from survey_service.openapi import HTML, downloads, problems
from survey_service.problems import CATALOGUE, PROBLEMS_PATH, ProblemType
from survey_service.structs import Out
from survey_service.web.pages import page


class ProblemTypeOut(Out):
    """One problem type: ``type`` is what a problem+json body carries."""

    type: str
    slug: str
    status: int
    title: str
    title_zh: str
    description: str


class ProblemCatalogueOut(Out):
    problems: list[ProblemTypeOut]


def _out(found: ProblemType) -> ProblemTypeOut:
    return ProblemTypeOut(
        type=found.uri,
        slug=found.slug,
        status=found.status,
        title=found.title,
        title_zh=found.title_zh,
        description=found.description,
    )


def _wants_html(request: Request[Any, Any, Any]) -> bool:
    """A browser's ``Accept`` prefers HTML; a client's (or ``*/*``, or none) gets JSON."""
    offered = [MediaType.JSON.value, MediaType.HTML.value]
    return request.accept.best_match(offered) == MediaType.HTML.value


def _documented(body: type[Out], *errors: int) -> dict[int, ResponseSpec]:
    """The JSON answer's shape (the route answers a ``Response``, JSON or HTML)."""
    ok = ResponseSpec(data_container=body, description="JSON, or an HTML page for a browser.")
    return {200: ok, **problems(*errors)}


@get(
    PROBLEMS_PATH,
    tags=["service"],
    operation_class=downloads(HTML),
    responses=_documented(ProblemCatalogueOut),
)
async def problem_catalogue(request: Request[Any, Any, Any]) -> Response[Any]:
    """Every problem type the service answers with: its `type` URI, status and titles, and
    what it means."""
    if _wants_html(request):
        return page(request, "problems.html", problems=list(CATALOGUE.values()), one=False)
    return Response(ProblemCatalogueOut(problems=[_out(p) for p in CATALOGUE.values()]))


@get(
    f"{PROBLEMS_PATH}/{{slug:str}}",
    tags=["service"],
    operation_class=downloads(HTML),
    responses=_documented(ProblemTypeOut, 400, 404),
)
async def problem_type(request: Request[Any, Any, Any], slug: FromPath[str]) -> Response[Any]:
    """One problem type, by the slug its `type` URI ends with."""
    found = next((p for p in CATALOGUE.values() if p.slug == slug), None)
    if found is None:
        raise not_found(f"Problem type {slug!r}")
    if _wants_html(request):
        return page(request, "problems.html", problems=[found], one=True)
    return Response(_out(found))
