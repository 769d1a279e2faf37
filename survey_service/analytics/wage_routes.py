"""HTTP route of the wage reference tables: JSON, CSV or XLSX."""

from __future__ import annotations

import dataclasses
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
from survey_service.analytics.release_store import latest_wage_number, release_wage_table
from survey_service.analytics.table_cache import WageTableCache
from survey_service.analytics.wage_dimensions import FILTERS, filter_dimension, filter_value
from survey_service.analytics.wage_dimensions import parse_by as _parse_by
from survey_service.analytics.wages import (
    SettingsError,
    WageQuery,
    WageTable,
    check_query,
    load_campaign,
)
from survey_service.auth import Principal, audit, require
from survey_service.deps import DB, PathId, Releases
from survey_service.errors import ServiceError, not_found
from survey_service.openapi import BEARER, downloads, problems
from survey_service.structs import INT4_MAX

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Format = Literal["json", "csv", "xlsx"]
LIVE = "live"


def _release_number(raw: str | None) -> int | None:
    """``release=N`` as a number; None for ``live``."""
    if raw is None or raw == LIVE:
        return None
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= INT4_MAX:
        raise ServiceError(
            "bad-request", f"release must be a release number or {LIVE!r}, not {raw!r}"
        )
    return int(raw)


def _format(request: Request[Any, Any, Any], asked: Format | None) -> Format:
    if asked is not None:
        return asked
    accept = request.headers.get("accept", "")
    if "text/csv" in accept:
        return "csv"
    return "xlsx" if XLSX in accept else "json"


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    try:
        async with await anyio.open_file(path, "rb") as handle:
            while chunk := await handle.read(64 * 1024):
                yield chunk
    finally:
        await anyio.Path(path).unlink(missing_ok=True)


class WageBenchmarkController(Controller):
    path = "/api/v1/campaigns/{campaign_id:int}/benchmarks"
    tags = ["analytics"]
    guards = [require("admin", "analyst")]
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
        principal: Principal = request.state.principal
        admin = principal.role == "admin"
        if not suppress and not admin:
            raise ServiceError(
                "forbidden", "Only an admin may ask for figures without disclosure control."
            )
        if release == LIVE and not admin:
            raise ServiceError(
                "forbidden", "Only an admin may read the live figures; analysts read releases."
            )
        number = _release_number(release)
        if number is not None and not suppress:
            raise ServiceError(
                "bad-request", f"suppress=false is for release={LIVE} only: a release is protected."
            )
        given = dict(zip(FILTERS, (occupation, industry, district, size_class, ownership,
                                   education, skill_level, job_level), strict=True))  # fmt: skip
        try:
            filters = {
                filter_dimension(name, value): filter_value(name, value)
                for name, value in given.items()
                if value is not None
            }
            query = WageQuery(_parse_by(by), filters, measure, weighted, suppress)
            check_query(query)
        except ValueError as exc:
            raise ServiceError("bad-request", str(exc)) from None
        async with db.read() as session:
            campaign = await load_campaign(session, campaign_id)
            if campaign is None:
                raise not_found(f"Campaign {campaign_id}")
            if number is None and release is None and suppress:
                number = await latest_wage_number(session, campaign_id)
                if number is None and not admin:
                    detail = f"campaign {campaign_id} has no release yet"
                    raise ServiceError("no-release-yet", detail)
            try:
                if number is None:
                    tables: WageTableCache = request.app.state.wage_tables
                    live = await tables.table(session, campaign, query)
                    table = dataclasses.replace(live, meta=live.meta | {"release": None})
                else:
                    table = await release_wage_table(
                        session, release_store, campaign, number, query, detailed=admin
                    )
            except SettingsError as exc:
                detail = f"The campaign's settings do not allow this table: {exc}"
                raise ServiceError("unprocessable", detail) from None
        if not suppress:
            async with db.transaction() as session:
                audit(
                    session, principal, "benchmark.wages.unsuppressed", f"campaign:{campaign_id}",
                    by=query.by, filters=query.filters, measure=measure,
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
                _file_chunks(path),
                media_type=XLSX,
                headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
            )
        return Response({"rows": table.rows, "rules": table.rules, "meta": table.meta})


def _file_name(table: WageTable) -> str:
    """``wages-{year}-{campaign}-r{number}``, or ``-live`` for the live figures."""
    release = table.meta.get("release")
    suffix = f"r{release['number']}" if release else LIVE
    return f"wages-{table.campaign.year}-{table.campaign.id}-{suffix}"
