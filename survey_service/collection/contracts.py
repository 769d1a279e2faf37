"""Collective contracts as the bureau records them: per enterprise, whether it has a standing
wage-negotiation mechanism (工资集体协商机制) and a signed collective wage contract, with the
signing date, the term and expiry, the workers it covers and the pay growth it agrees.

One record per enterprise is current. Recording again (a correction, a renewal) supersedes
the current record; withdrawing supersedes it with nothing. Records are never edited, so
``contracts_in_force`` can count as things were known at any past instant, which is what
participation as of a date needs.

The enterprise states the same facts itself: its salary survey (``enterprise.
has_collective_contract``, a contract in force in the survey's year) and its
self-assessment (``wages.wage_negotiation``: negotiated and signed in the year), and the
registry's import carries a flag too. ``mismatches`` lists where they disagree with the
record, for follow-up.

The functions take ``district``: the part of the city the caller may see and record (None:
the whole city); an enterprise outside it is treated as unknown.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any

import msgspec
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.collection.enterprises import enterprise_in_scope
from survey_service.db.models import (
    Campaign,
    CollectiveContract,
    Enterprise,
    Form,
    FormVersion,
    Submission,
    utcnow,
)
from survey_service.errors import not_found, unprocessable
from survey_service.structs import Body, Out

Note = Annotated[str, msgspec.Meta(max_length=500)]


class ContractIn(Body, kw_only=True, forbid_unknown_fields=True):
    uscc: Annotated[str, msgspec.Meta(min_length=18, max_length=18)]
    has_mechanism: bool
    signed_on: date | None = None  # null: no contract signed
    term_months: Annotated[int, msgspec.Meta(ge=1, le=120)] | None = None
    expires_on: date | None = None  # from signed_on and term_months when not given
    coverage_workers: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)] | None = None
    wage_growth_pct: Annotated[float, msgspec.Meta(ge=-50, le=100)] | None = None
    wage_clauses: Annotated[str, msgspec.Meta(max_length=1000)] | None = None
    note: Note | None = None


class ContractOut(Out, kw_only=True):
    id: int
    uscc: str
    name: str
    district: str
    has_mechanism: bool
    signed_on: date | None
    term_months: int | None
    expires_on: date | None
    coverage_workers: int | None
    wage_growth_pct: float | None
    wage_clauses: str | None
    note: str | None
    in_force: bool  # a mechanism and a signed contract holding today
    recorded_by: str
    recorded_at: datetime
    superseded_at: datetime | None


class Statement(Out, kw_only=True):
    """What one source says of the contract, and what the bureau's record says of the same
    time: the statement's year for a survey (its campaign's data year), today for the
    registry's flag."""

    source: str  # salary-survey | self-assessment | registry
    campaign_id: int | None
    year: int | None
    says: bool
    record: bool


class Mismatch(Out, kw_only=True):
    uscc: str
    name: str
    district: str
    statements: list[Statement]  # those that disagree with the record


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _error(path: str, message: str, message_zh: str) -> dict[str, Any]:
    return {"path": path, "message": message, "message_zh": message_zh, "keyword": "range"}


def _checked(item: ContractIn, enterprise: Enterprise, today: date) -> date | None:
    """The expiry (given, or from the term), after the checks a single field cannot make."""
    errors: list[dict[str, Any]] = []
    expires = item.expires_on
    if item.signed_on is None:
        if expires is not None or item.term_months is not None:
            errors.append(_error("/signed_on", "a term or expiry needs the signing date",
                                 "填写期限或到期日时须填写签订日期"))  # fmt: skip
    else:
        if item.signed_on > today:
            errors.append(_error("/signed_on", "signed in the future", "签订日期晚于今天"))
        if expires is None and item.term_months is not None:
            expires = _add_months(item.signed_on, item.term_months) - timedelta(days=1)
        if expires is not None and expires <= item.signed_on:
            errors.append(_error("/expires_on", "expires before it was signed",
                                 "到期日须晚于签订日期"))  # fmt: skip
    staff = enterprise.staff_count
    if item.coverage_workers is not None and staff is not None and item.coverage_workers > staff:
        errors.append(_error("/coverage_workers", f"more than the enterprise's {staff} staff",
                             f"覆盖人数超过企业职工人数 {staff}"))  # fmt: skip
    if errors:
        raise unprocessable("The contract record does not hold together.", errors)
    return expires


async def _current(session: AsyncSession, enterprise_id: int) -> CollectiveContract | None:
    found: CollectiveContract | None = await session.scalar(
        select(CollectiveContract).where(
            CollectiveContract.enterprise_id == enterprise_id,
            CollectiveContract.superseded_at.is_(None),
        )
    )
    return found


async def record_contract(
    session: AsyncSession, item: ContractIn, *, district: str | None, by: str, today: date
) -> ContractOut:
    """Record the enterprise's contract state, superseding its current record."""
    enterprise = await enterprise_in_scope(session, item.uscc.upper(), district=district)
    expires = _checked(item, enterprise, today)
    now = utcnow()
    await session.execute(
        update(CollectiveContract)
        .where(
            CollectiveContract.enterprise_id == enterprise.id,
            CollectiveContract.superseded_at.is_(None),
        )
        .values(superseded_at=now)
    )
    row = CollectiveContract(
        enterprise_id=enterprise.id,
        has_mechanism=item.has_mechanism,
        signed_on=item.signed_on,
        term_months=item.term_months,
        expires_on=expires,
        coverage_workers=item.coverage_workers,
        wage_growth_pct=item.wage_growth_pct,
        wage_clauses=item.wage_clauses,
        note=item.note,
        recorded_by=by,
        recorded_at=now,
        superseded_at=None,
    )
    session.add(row)
    await session.flush()
    return contract_out(row, enterprise, today)


async def withdraw_contract(session: AsyncSession, uscc: str, *, district: str | None) -> None:
    """The enterprise's current record no longer holds (recorded in error): 404 when none."""
    enterprise = await enterprise_in_scope(session, uscc.upper(), district=district)
    current = await _current(session, enterprise.id)
    if current is None:
        raise not_found(f"A contract record of {enterprise.uscc}")
    current.superseded_at = utcnow()
    await session.flush()


def holds(row: CollectiveContract, first: date, last: date) -> bool:
    """A mechanism and a signed contract holding on some day from ``first`` to ``last``."""
    return (
        row.has_mechanism
        and row.signed_on is not None
        and row.signed_on <= last
        and (row.expires_on is None or row.expires_on >= first)
    )


def in_force(row: CollectiveContract, on: date) -> bool:
    return holds(row, on, on)


def contract_out(row: CollectiveContract, enterprise: Enterprise, today: date) -> ContractOut:
    return ContractOut(
        id=row.id,
        uscc=enterprise.uscc,
        name=enterprise.name,
        district=enterprise.district,
        has_mechanism=row.has_mechanism,
        signed_on=row.signed_on,
        term_months=row.term_months,
        expires_on=row.expires_on,
        coverage_workers=row.coverage_workers,
        wage_growth_pct=row.wage_growth_pct,
        wage_clauses=row.wage_clauses,
        note=row.note,
        in_force=in_force(row, today),
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
        superseded_at=row.superseded_at,
    )


def _known_at(at: datetime) -> Any:
    return and_(
        CollectiveContract.recorded_at <= at,
        or_(CollectiveContract.superseded_at.is_(None), CollectiveContract.superseded_at > at),
    )


async def contracts_in_force(session: AsyncSession, on: date, known_at: datetime) -> set[int]:
    """The enterprises that, by the records known at ``known_at``, had a negotiation
    mechanism and a signed contract holding on ``on``."""
    rows = await session.scalars(select(CollectiveContract).where(_known_at(known_at)))
    return {row.enterprise_id for row in rows if in_force(row, on)}


async def current_contracts(
    session: AsyncSession, *, district: str | None, today: date
) -> list[ContractOut]:
    """Every enterprise's current record, by district and credit code."""
    query = (
        select(CollectiveContract, Enterprise)
        .join(Enterprise, Enterprise.id == CollectiveContract.enterprise_id)
        .where(CollectiveContract.superseded_at.is_(None))
        .order_by(Enterprise.district, Enterprise.uscc)
    )
    if district is not None:
        query = query.where(Enterprise.district == district)
    return [contract_out(c, e, today) for c, e in await session.execute(query)]


async def contract_history(
    session: AsyncSession, uscc: str, *, district: str | None, today: date
) -> list[ContractOut]:
    """Every record of the enterprise, the latest first."""
    enterprise = await enterprise_in_scope(session, uscc.upper(), district=district)
    rows = await session.scalars(
        select(CollectiveContract)
        .where(CollectiveContract.enterprise_id == enterprise.id)
        .order_by(CollectiveContract.recorded_at.desc(), CollectiveContract.id.desc())
    )
    return [contract_out(row, enterprise, today) for row in rows]


async def expiring(
    session: AsyncSession, *, district: str | None, today: date, within_days: int
) -> list[ContractOut]:
    """Contracts in force today that expire within ``within_days`` days, soonest first."""
    until = today + timedelta(days=within_days)
    found = [
        c
        for c in await current_contracts(session, district=district, today=today)
        if c.in_force and c.expires_on is not None and c.expires_on <= until
    ]
    return sorted(found, key=lambda c: (c.expires_on or today, c.uscc))


@dataclass(frozen=True, slots=True)
class _Said:
    source: str
    campaign_id: int | None
    data_year: int
    says: bool


def _statement(kind: str, data: dict[str, Any]) -> bool | None:
    """What a submitted document says of the contract (None: it does not say)."""
    if kind == "salary-survey":
        said = (data.get("enterprise") or {}).get("has_collective_contract")
    else:
        said = ((data.get("wages") or {}).get("wage_negotiation") or {}).get("answer")
    return said if isinstance(said, bool) else None


async def mismatches(
    session: AsyncSession, year: int, *, district: str | None, today: date
) -> list[Mismatch]:
    """The enterprises whose statements for ``year``'s campaigns (salary survey and
    self-assessment, each about its campaign's data year) or whose registry flag disagree
    with the bureau's records."""
    query = (
        select(Submission.enterprise_id, Submission.campaign_id, Campaign.year, Form.kind,
               Submission.data)
        .join(Campaign, Submission.campaign_id == Campaign.id)
        .join(FormVersion, Campaign.form_version_id == FormVersion.id)
        .join(Form, FormVersion.form_id == Form.id)
        .where(
            Campaign.campaign_year == year,
            Submission.status == "submitted",
            Submission.enterprise_id.is_not(None),
            Form.kind.in_(("salary-survey", "self-assessment")),
        )
    )  # fmt: skip
    said: dict[int, list[_Said]] = {}
    for enterprise_id, campaign_id, data_year, kind, data in await session.execute(query):
        says = _statement(kind, data)
        if says is not None and enterprise_id is not None:
            said.setdefault(enterprise_id, []).append(_Said(kind, campaign_id, data_year, says))
    enterprises_q = select(Enterprise)
    if district is not None:
        enterprises_q = enterprises_q.where(Enterprise.district == district)
    registered = {e.id: e for e in await session.scalars(enterprises_q)}
    records: dict[int, list[CollectiveContract]] = {}
    current = select(CollectiveContract).where(CollectiveContract.superseded_at.is_(None))
    if district is not None:
        current = current.join(Enterprise).where(Enterprise.district == district)
    for row in await session.scalars(current):
        records.setdefault(row.enterprise_id, []).append(row)
    out: list[Mismatch] = []
    for enterprise_id, enterprise in registered.items():
        mine = records.get(enterprise_id, [])
        statements = [
            Statement(source=s.source, campaign_id=s.campaign_id, year=s.data_year,
                      says=s.says, record=not s.says)
            for s in said.get(enterprise_id, [])
            if s.says != any(holds(r, date(s.data_year, 1, 1), date(s.data_year, 12, 31))
                             for r in mine)
        ]  # fmt: skip
        now_in_force = any(in_force(r, today) for r in mine)
        if enterprise.has_collective_contract != now_in_force:
            statements.append(
                Statement(source="registry", campaign_id=None, year=None,
                          says=enterprise.has_collective_contract, record=now_in_force)
            )  # fmt: skip
        if statements:
            out.append(
                Mismatch(
                    uscc=enterprise.uscc,
                    name=enterprise.name,
                    district=enterprise.district,
                    statements=statements,
                )
            )
    out.sort(key=lambda m: (m.district, m.uscc))
    return out
