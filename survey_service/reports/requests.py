"""Asking for a report and finding one a principal may read: the rules the API's routes
and the pages share (an analyst's page asks for the wage guide as the API would)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from survey_service.auth import Principal, audit
from survey_service.db.engine import Database
from survey_service.db.models import Campaign, Report
from survey_service.errors import ServiceError, not_found
from survey_service.reports import jobs
from survey_service.reports.kinds import report_params, stamped


@dataclass(frozen=True, slots=True)
class Asked:
    """A report asked for: the stored one when the same request on unchanged data was
    made before (``reused``), else the new one, queued."""

    report: Report
    reused: bool


# The reports that hold an enterprise's own figures, and what each role may ask for of them.
OWN_FIGURES = frozenset({"enterprise", "negotiation-brief"})
ASKED_FOR_ITSELF = {"enterprise": OWN_FIGURES, "negotiator": frozenset({"negotiation-brief"})}


def may_read(principal: Principal, row: Report) -> bool:
    """Admins read every report. Analysts read the city-wide ones (never an enterprise's
    own figures, nor the annex naming enterprises); an enterprise its own reports of the
    campaign its token is for, its union's negotiator only its brief."""
    if principal.role == "admin":
        return True
    if principal.role == "analyst":
        return row.kind not in OWN_FIGURES and not row.params.get("annex")
    return (
        row.kind in ASKED_FOR_ITSELF.get(principal.role, ())
        and row.enterprise_id == principal.enterprise_id
        and row.params.get("campaign_id") == principal.campaign_id
    )


async def readable_report(
    db: Database, principal: Principal, report_id: str, *, with_pdf: bool
) -> Report:
    """The report, when ``principal`` may read it; 404 otherwise (never saying it exists)."""
    try:
        rid = str(uuid.UUID(report_id))
    except ValueError:
        raise not_found("Report") from None
    async with db.read() as session:
        row = await jobs.load_report(session, rid, with_pdf=with_pdf)
    if row is None or not may_read(principal, row):
        raise not_found("Report")
    return row


async def ask_report(
    db: Database,
    queue: jobs.Queue,
    principal: Principal,
    kind: str,
    raw: dict[str, Any],
) -> Asked:
    """Ask for a report of ``kind`` with ``raw`` parameters (``campaign_id``,
    ``enterprise``, ``year``, ``annex``; None for absent) as ``principal`` may: 403 for a
    report of another's figures, 404 for another's enterprise or campaign, 422 for
    parameters the kind does not take. A participation report asked for by campaign is
    the report of the campaign's year."""
    raw = dict(raw)
    if principal.role in ASKED_FOR_ITSELF:
        if kind not in ASKED_FOR_ITSELF[principal.role]:
            raise ServiceError(
                "forbidden",
                f"This token may ask only for {', '.join(sorted(ASKED_FOR_ITSELF[principal.role]))}"
                " of its own enterprise.",
            )
        if raw.get("campaign_id") not in (None, principal.campaign_id):
            raise not_found(f"Campaign {raw['campaign_id']}")  # its token is for another
        raw["campaign_id"] = principal.campaign_id
    elif principal.role == "analyst" and kind in OWN_FIGURES:
        raise ServiceError(
            "forbidden", "This report holds an enterprise's own figures: not for analysts."
        )
    if kind == "participation" and raw.get("campaign_id") is not None:
        raw["year"] = await _year_of_campaign(db, raw["campaign_id"], raw.get("year"))
    params = report_params(kind, {k: v for k, v in raw.items() if v is not None})
    if params.get("annex") and principal.role != "admin":
        raise ServiceError("forbidden", "The annex of missing enterprises is for admins.")
    enterprise_id = await _check_subject(db, principal, params)
    key = jobs.params_key(kind, params)
    version = await jobs.data_version(db)
    async with db.transaction() as session:
        existing = await jobs.reusable_report(session, key, version)
        if existing is not None:
            return Asked(existing, reused=True)
        row = Report(
            id=str(uuid.uuid4()),
            kind=kind,
            params=stamped(kind, params),
            params_key=key,
            data_version=version,
            status="queued",
            enterprise_id=enterprise_id,
            requested_by=principal.token_id,
        )
        session.add(row)
        await session.flush()
        audit(session, principal, "report.request", f"report:{row.id}", type=kind)
    await queue.enqueue(row.id)
    return Asked(row, reused=False)


async def _year_of_campaign(db: Database, campaign_id: int, year: int | None) -> int:
    """A participation report asked for by campaign: the campaign's year (the report is
    the year's, over all its campaigns)."""
    async with db.read() as session:
        campaign = await session.get(Campaign, campaign_id)
    if campaign is None:
        raise not_found(f"Campaign {campaign_id}")
    if year is not None and year != campaign.campaign_year:
        raise ServiceError(
            "unprocessable",
            f"Campaign {campaign_id} belongs to {campaign.campaign_year}, not to {year}.",
        )
    return campaign.campaign_year


async def _check_subject(db: Database, principal: Principal, params: dict[str, Any]) -> int | None:
    """The campaign must exist; an enterprise report names a registered enterprise, and an
    enterprise's own token only its own. Returns the enterprise's id."""
    async with db.read() as session:
        if "campaign_id" in params and await session.get(Campaign, params["campaign_id"]) is None:
            raise not_found(f"Campaign {params['campaign_id']}")
        if "enterprise" not in params:
            return None
        enterprise_id = await jobs.enterprise_id(session, params["enterprise"])
    if enterprise_id is None or (
        principal.role in ASKED_FOR_ITSELF and enterprise_id != principal.enterprise_id
    ):
        raise not_found(f"Enterprise {params['enterprise']}")
    return int(enterprise_id)
