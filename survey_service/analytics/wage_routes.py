"""HTTP route of the wage reference tables: JSON, CSV or XLSX."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

import anyio
from litestar import Controller, Request, get
from litestar.params import FromQuery
from litestar.response import Response, Stream

from survey_service.analytics import exports
from survey_service.analytics.wage_dimensions import FILTERS
from survey_service.analytics.wage_reads import LIVE, WageAsk, read_wage_table
from survey_service.analytics.wages import WageTable
from survey_service.auth import require
from survey_service.deps import DB, PathId, Releases, WageTables
from survey_service.openapi import BEARER, downloads, problems

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Format = Literal["json", "csv", "xlsx"]


def _format(request: Request[Any, Any, Any], asked: Format | None) -> Format:
    if asked is not None:
        return asked
    accept = request.headers.get("accept", "")
    if "text/csv" in accept:
        return "csv"
    return "xlsx" if XLSX in accept else "json"


async def file_chunks(path: Path) -> AsyncIterator[bytes]:
    try:
        async with await anyio.open_file(path, "rb") as handle:
            while chunk := await handle.read(64 * 1024):
                yield chunk
    finally:
        await anyio.Path(path).unlink(missing_ok=True)


class WageBenchmarkController(Controller):
    path = "/api/v1/campaigns/{campaign_id:int}/benchmarks"
    tags = ["analytics"]
    guards = [require("admin", "analyst", "district")]
    security = BEARER

    @get(
        "/wages",
        operation_class=downloads("text/csv; charset=utf-8", XLSX),
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def wages(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        release_store: Releases,
        wage_tables: WageTables,
        campaign_id: PathId,
        by: FromQuery[str | None] = None,
        measure: FromQuery[Literal["annual", "monthly"]] = "annual",
        weighted: FromQuery[bool | None] = None,
        suppress: FromQuery[bool] = True,
        release: FromQuery[str | None] = None,
        format: FromQuery[Format | None] = None,
        occupation: FromQuery[str | None] = None,
        industry: FromQuery[str | None] = None,
        district: FromQuery[str | None] = None,
        size_class: FromQuery[str | None] = None,
        ownership: FromQuery[str | None] = None,
        education: FromQuery[str | None] = None,
        skill_level: FromQuery[str | None] = None,
        job_level: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """Wage reference table of a salary-survey campaign: per group, contributing
        enterprises and workers, P10/P25/P50/P75/P90 and mean pay, suppressed where
        disclosure control says so (`suppress=false`: admins only, audited); `by` lists the
        dimensions (`occupation`, `occupation_major|middle|minor|detailed`, `industry`,
        `industry_division`, `district`, `size_class`, `ownership`, `education`,
        `skill_level`, `job_level`), the other parameters filter.

        The figures come from a release (`release=N`; by default the latest): analysts on
        a campaign without one get 409. `release=live` (admins) computes today's data,
        and only there may `suppress=false` be asked for (audited); an admin asking
        `suppress=false` without `release`, or reading a campaign not yet released, gets
        the live view. A table a release does not answer is 400, with the reason."""
        given = dict(zip(FILTERS, (occupation, industry, district, size_class, ownership,
                                   education, skill_level, job_level), strict=True))  # fmt: skip
        ask = WageAsk(
            by=by,
            measure=measure,
            weighted=weighted,
            suppress=suppress,
            release=release,
            filters={name: value for name, value in given.items() if value is not None},
        )
        table = await read_wage_table(
            db, release_store, wage_tables, request.state.principal,
            campaign_id, ask,
        )  # fmt: skip
        chosen = _format(request, format)
        name = _file_name(table)
        if chosen == "csv":
            return Stream(
                exports.csv_stream(table),
                media_type="text/csv",  # Litestar adds "; charset=utf-8" to a text type
                headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
            )
        if chosen == "xlsx":
            handle, raw = tempfile.mkstemp(suffix=".xlsx")
            os.close(handle)
            path = Path(raw)
            try:
                await anyio.to_thread.run_sync(exports.write_xlsx, path, table)
            except BaseException:
                await anyio.Path(path).unlink(missing_ok=True)
                raise
            return Stream(
                file_chunks(path),
                media_type=XLSX,
                headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
            )
        return Response({"rows": table.rows, "rules": table.rules, "meta": table.meta})


def _file_name(table: WageTable) -> str:
    """``wages-{year}-{campaign}-r{number}``, or ``-live`` for the live figures."""
    release = table.meta.get("release")
    suffix = f"r{release['number']}" if release else LIVE
    return f"wages-{table.campaign.year}-{table.campaign.id}-{suffix}"
