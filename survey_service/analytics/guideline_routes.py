"""HTTP routes of the wage guidelines: read them (every signed-in role: a guideline is
public), enter, load from a sheet or remove them (admin)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import UploadFile
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromQuery, MultipartBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from survey_service.analytics import guidelines
from survey_service.analytics.guidelines import (
    GuidelineIn,
    GuidelineOut,
    GuidelineUpsertResult,
)
from survey_service.auth import principal_of, require
from survey_service.collection import uploads
from survey_service.deps import DB, PathId
from survey_service.forms.routes import decode_items
from survey_service.openapi import BEARER, body_of, problems
from survey_service.structs import Out

PathRegion = Annotated[str, PathParameter(pattern=r"^[1-9][0-9]{3}00$")]


class GuidelineList(Out):
    guidelines: list[GuidelineOut]  # newest year first


class GuidelineController(Controller):
    path = "/api/v1/wage-guidelines"
    tags = ["analytics"]
    security = BEARER

    @get(
        "/",
        guards=[require("admin", "analyst", "district", "enterprise")],
        responses=problems(400, 401, 403, 422),
    )
    async def list_guidelines(
        self,
        db: DB,
        year: Annotated[int | None, QueryParameter(ge=1990, le=2100)] = None,
        region: FromQuery[str | None] = None,
    ) -> GuidelineList:
        """The wage guidelines recorded, newest year first (`year`, `region` filter)."""
        async with db.read() as session:
            rows = await guidelines.list_guidelines(session, year=year, region=region)
        return GuidelineList(guidelines=[guidelines.guideline_out(r) for r in rows])

    @post(
        "/",
        guards=[require("admin")],
        status_code=HTTP_201_CREATED,
        operation_class=body_of(GuidelineIn | list[GuidelineIn]),
        responses={
            200: ResponseSpec(GuidelineUpsertResult, description="All replaced existing ones."),
            **problems(400, 401, 403, 413, 422),
        },
    )
    async def upsert(
        self, request: Request[Any, Any, Any], db: DB
    ) -> Response[GuidelineUpsertResult]:
        """Record guidelines, one object or a list (all or nothing); one of the same year
        and region is replaced. 201 when at least one is new, 200 when all replaced one."""
        items, indexed = decode_items(await request.body(), GuidelineIn)
        async with db.transaction() as session:
            result = await guidelines.record_guidelines(
                session, principal_of(request), items, indexed=indexed
            )
        return Response(result, status_code=HTTP_201_CREATED if result.created else HTTP_200_OK)

    @post("/import", status_code=HTTP_200_OK, guards=[require("admin")],
          responses=problems(400, 401, 403, 413, 422))  # fmt: skip
    async def import_sheet(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        data: MultipartBody[dict[str, UploadFile]],
    ) -> GuidelineUpsertResult:
        """Record guidelines from a .xlsx or .csv sheet (Chinese or English headers); any
        bad row stores nothing and is named by row and column."""
        sheet = await uploads.read_upload(uploads.the_file(data), guidelines.sheet_row_schema())
        items = guidelines.sheet_items(sheet)
        async with db.transaction() as session:
            return await guidelines.record_guidelines(
                session, principal_of(request), items, indexed=True
            )

    @delete(
        "/{year:int}/{region:str}",
        guards=[require("admin")],
        responses=problems(400, 401, 403, 404, 422),
    )
    async def remove(
        self, request: Request[Any, Any, Any], db: DB, year: PathId, region: PathRegion
    ) -> None:
        """Remove a guideline recorded in error."""
        async with db.transaction() as session:
            await guidelines.remove_guideline(session, principal_of(request), year, region)
