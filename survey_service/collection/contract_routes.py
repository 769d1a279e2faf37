"""HTTP routes of the collective-contract records: the bureau (the whole city) and a
district's staff (their district) read and record them; nobody else."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from survey_service.auth import (
    BUREAU_ROLES,
    audit,
    district_scope,
    principal_of,
    recorder,
    require,
)
from survey_service.collection import contracts
from survey_service.collection.contracts import ContractIn, ContractOut, Mismatch
from survey_service.deps import DB, Config
from survey_service.local_time import local_today
from survey_service.openapi import BEARER, problems
from survey_service.structs import Out

Year = Annotated[int, QueryParameter(ge=2000, le=2100, description="the campaigns' year")]
Within = Annotated[int, QueryParameter(ge=1, le=3660, description="days from today")]


class ContractList(Out):
    contracts: list[ContractOut]


class MismatchList(Out):
    mismatches: list[Mismatch]


class ContractController(Controller):
    path = "/api/v1/collective-contracts"
    tags = ["enterprises"]
    guards = [require(*BUREAU_ROLES)]
    security = BEARER

    @get("/", responses=problems(401, 403))
    async def list_contracts(
        self, request: Request[Any, Any, Any], db: DB, app_settings: Config
    ) -> ContractList:
        """Every enterprise's current record (a district's staff: their district's)."""
        async with db.read() as session:
            found = await contracts.current_contracts(
                session,
                district=district_scope(principal_of(request)),
                today=local_today(app_settings.zone),
            )
        return ContractList(contracts=found)

    @post("/", status_code=HTTP_201_CREATED, responses=problems(400, 401, 403, 404, 413, 422))
    async def record(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        app_settings: Config,
        data: JSONBody[ContractIn],
    ) -> ContractOut:
        """Record an enterprise's mechanism and contract: it supersedes the enterprise's
        current record (kept, with the time it stopped holding). The expiry follows from
        the signing date and the term when not given."""
        principal = principal_of(request)
        async with db.transaction() as session:
            out = await contracts.record_contract(
                session,
                data,
                district=district_scope(principal),
                by=recorder(principal),
                today=local_today(app_settings.zone),
            )
            audit(session, principal, "contract.record", f"enterprise:{out.uscc}")
        return out

    @get("/expiring", responses=problems(400, 401, 403, 422))
    async def expiring(
        self, request: Request[Any, Any, Any], db: DB, app_settings: Config, within: Within = 90
    ) -> ContractList:
        """Contracts in force that expire within `within` days, soonest first."""
        async with db.read() as session:
            found = await contracts.expiring(
                session,
                district=district_scope(principal_of(request)),
                today=local_today(app_settings.zone),
                within_days=within,
            )
        return ContractList(contracts=found)

    @get("/mismatches", responses=problems(400, 401, 403, 422))
    async def mismatches(
        self, request: Request[Any, Any, Any], db: DB, app_settings: Config, year: Year
    ) -> MismatchList:
        """Where the enterprise's survey or self-assessment of the year's campaigns, or the
        registry's flag, says otherwise than the records: for follow-up."""
        async with db.read() as session:
            found = await contracts.mismatches(
                session,
                year,
                district=district_scope(principal_of(request)),
                today=local_today(app_settings.zone),
            )
        return MismatchList(mismatches=found)

    @get("/{uscc:str}", responses=problems(400, 401, 403, 404))
    async def history(
        self, request: Request[Any, Any, Any], db: DB, app_settings: Config, uscc: FromPath[str]
    ) -> ContractList:
        """Every record of the enterprise, the latest first (the current one has no
        `superseded_at`)."""
        async with db.read() as session:
            found = await contracts.contract_history(
                session,
                uscc,
                district=district_scope(principal_of(request)),
                today=local_today(app_settings.zone),
            )
        return ContractList(contracts=found)

    @delete("/{uscc:str}", status_code=HTTP_204_NO_CONTENT, responses=problems(400, 401, 403, 404))
    async def withdraw(
        self, request: Request[Any, Any, Any], db: DB, uscc: FromPath[str]
    ) -> Response[None]:
        """The enterprise's current record no longer holds (it was recorded in error); it
        is kept, superseded."""
        principal = principal_of(request)
        async with db.transaction() as session:
            await contracts.withdraw_contract(session, uscc, district=district_scope(principal))
            audit(session, principal, "contract.withdraw", f"enterprise:{uscc.upper()}")
        return Response(None, status_code=HTTP_204_NO_CONTENT)
