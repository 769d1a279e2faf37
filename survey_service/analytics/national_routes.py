"""HTTP route of the national salary-survey layout export: the checked enterprise and
employee records as a zip of two CSV files or one XLSX, or the edit checks' result."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, get
from litestar.params import FromQuery, QueryParameter
from litestar.response import Response

from survey_service.analytics import national_export
from survey_service.auth import audit, district_scope, principal_of, require
from survey_service.deps import DB, PathId
from survey_service.downloads import ZIP, file_stream
from survey_service.openapi import BEARER, downloads, problems
from survey_service.structs import INT4_MAX, Out
from survey_service.tabular import XLSX

MEDIA_TYPES = {"csv": ZIP, "xlsx": XLSX}


class LayoutFailure(Out):
    """One record that fails one check: the enterprise, the employee's row (1-based; null
    for the enterprise's own record), the field and the rule, the value found."""

    uscc: str
    row: int | None
    path: str  # a JSON Pointer into the enterprise's document
    field: str
    field_zh: str  # the layout's name of the field
    rule: str
    keyword: str  # the rule again, as the other problems name it
    value: Any
    message: str
    message_zh: str


class LayoutCheckOut(Out):
    campaign_id: int
    year: int
    enterprises: int
    employees: int
    passed: bool
    failure_count: int
    failures: list[LayoutFailure]  # the first 1,000


class NationalLayoutController(Controller):
    path = "/api/v1/campaigns/{campaign_id:int}/national-layout"
    tags = ["analytics"]
    guards = [require("admin", "district")]
    security = BEARER

    @get(
        "/",
        operation_class=downloads(ZIP, XLSX),
        responses=problems(400, 401, 403, 404, 422),
    )
    async def national_layout(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        campaign_id: PathId,
        format: FromQuery[Literal["csv", "xlsx"]] = "csv",
        check_only: FromQuery[bool] = False,
        release: Annotated[int | None, QueryParameter(ge=1, le=INT4_MAX)] = None,
    ) -> Response[Any]:
        """A salary-survey campaign's records in the official enterprise salary survey
        layout (field order, codes and units of `reference/data/
        salary-survey-national-layout.json`): `format=csv`, a zip of `enterprise.csv` and
        `employee.csv` (UTF-8 with BOM), or `format=xlsx`, one workbook with a sheet each.

        Live data: the current revision of each submitted survey (accepted ones only when
        the campaign requires review); with `release=N`, the revisions release N's snapshot
        held that were submitted (and accepted) then. A district's staff get their
        district's enterprises. The official edit checks run first: when any record fails,
        nothing is exported and the answer is 422 `edit-checks-failed` listing the
        failures. `check_only=true` answers the checks' result as JSON instead of a file."""
        principal = principal_of(request)
        district = district_scope(principal)
        if check_only:
            result = await national_export.check_layout(db, campaign_id, district, release)
            return Response(
                LayoutCheckOut(
                    campaign_id=result.campaign_id,
                    year=result.year,
                    enterprises=result.enterprises,
                    employees=result.employees,
                    passed=result.passed,
                    failure_count=result.failure_count,
                    failures=[LayoutFailure(**f) for f in result.failures],
                )
            )
        found = await national_export.export_layout(db, campaign_id, district, format, release)
        try:
            async with db.transaction() as session:
                audit(session, principal, "national_layout.export", f"campaign:{campaign_id}",
                      format=format, district=district, release=release)  # fmt: skip
        except BaseException:
            found.path.unlink(missing_ok=True)
            raise
        return file_stream(found.path, found.name, MEDIA_TYPES[format])
