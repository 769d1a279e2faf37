"""The collective-contract page (``/admin/contracts``): the current records, a form to
record one (superseding the enterprise's current record), the contracts expiring soon and
the statements that disagree with the records. The same service calls as the API's; the
bureau sees the city, a district's staff their district."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.params import FromPath, FromQuery

from survey_service.auth import BUREAU_ROLES, Principal, audit, district_scope, recorder
from survey_service.collection import contracts
from survey_service.collection.contracts import ContractIn
from survey_service.deps import DB
from survey_service.errors import ServiceError, converted
from survey_service.local_time import local_today
from survey_service.web.admin_access import SIGN_IN, see_other
from survey_service.web.pages import page
from survey_service.web.sessions import csrf_token, signed_in
from survey_service.web.staff_access import field, field_errors, signed_post

CONTRACTS = "/admin/contracts"
_INTEGERS = ("term_months", "coverage_workers")
_TEXTS = ("uscc", "signed_on", "expires_on", "wage_clauses", "note")


def _from_post(posted: Any) -> dict[str, Any]:
    """The posted form as a ``ContractIn`` object: numbers as numbers where they read as
    one (else as typed, for the error), an empty optional field left out."""
    raw: dict[str, Any] = {"has_mechanism": field(posted, "has_mechanism") == "true"}
    for key in _TEXTS:
        if text := field(posted, key):
            raw[key] = text.upper() if key == "uscc" else text
    for key in (*_INTEGERS, "wage_growth_pct"):
        if text := field(posted, key):
            try:
                raw[key] = int(text) if key in _INTEGERS else float(text)
            except ValueError:
                raw[key] = text
    return raw


class ContractPageController(Controller):
    path = CONTRACTS
    tags = ["admin pages"]
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def show(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        year: FromQuery[int | None] = None,
        saved: FromQuery[str | None] = None,
    ) -> Response[Any]:
        principal = await signed_in(request, *BUREAU_ROLES)
        if principal is None:
            return see_other(SIGN_IN)
        return await _page(request, db, principal, year=year, saved=(saved or "")[:18])

    @post("/", media_type=MediaType.HTML)
    async def record(self, request: Request[Any, Any, Any], db: DB) -> Response[Any]:
        """Record an enterprise's mechanism and contract from the form."""
        sent = await signed_post(request, BUREAU_ROLES, SIGN_IN)
        if isinstance(sent, Response):
            return sent
        principal, posted = sent
        raw = _from_post(posted)
        try:
            item = converted(raw, ContractIn)
            async with db.transaction() as session:
                out = await contracts.record_contract(
                    session, item, district=district_scope(principal),
                    by=recorder(principal), today=_today(request),
                )  # fmt: skip
                audit(session, principal, "contract.record", f"enterprise:{out.uscc}")
        except ServiceError as exc:
            by_field, detail = field_errors(exc)
            return await _page(
                request, db, principal, status=exc.status_code, values=raw,
                errors=by_field, problem=detail,
            )  # fmt: skip
        return see_other(f"{CONTRACTS}?saved={out.uscc}")

    @post("/{uscc:str}/withdraw", media_type=MediaType.HTML)
    async def withdraw(
        self, request: Request[Any, Any, Any], db: DB, uscc: FromPath[str]
    ) -> Response[Any]:
        sent = await signed_post(request, BUREAU_ROLES, SIGN_IN)
        if isinstance(sent, Response):
            return sent
        principal, _ = sent
        try:
            async with db.transaction() as session:
                await contracts.withdraw_contract(session, uscc, district=district_scope(principal))
                audit(session, principal, "contract.withdraw", f"enterprise:{uscc.upper()}")
        except ServiceError as exc:
            return await _page(request, db, principal, status=exc.status_code, problem=exc.detail)
        return see_other(CONTRACTS)


def _today(request: Request[Any, Any, Any]) -> date:
    return local_today(request.app.state.settings.zone)


async def _page(
    request: Request[Any, Any, Any],
    db: DB,
    principal: Principal,
    *,
    status: int = 200,
    year: int | None = None,
    values: dict[str, Any] | None = None,
    **context: Any,
) -> Response[str]:
    today = _today(request)
    shown_year = year if year is not None and 2000 <= year <= 2100 else today.year
    scope = district_scope(principal)
    async with db.read() as session:
        current = await contracts.current_contracts(session, district=scope, today=today)
        soon = await contracts.expiring(session, district=scope, today=today, within_days=90)
        disagree = await contracts.mismatches(session, shown_year, district=scope, today=today)
    return page(
        request,
        "admin_contracts.html",
        status,
        contracts=current,
        expiring=soon,
        mismatches=disagree,
        year=shown_year,
        today=today.isoformat(),
        values=values or {"has_mechanism": True},
        csrf=csrf_token(request),
        **({"errors": {}, "problem": "", "saved": ""} | context),
    )
