"""The negotiation brief (工资集体协商参考): for one enterprise and one released salary
campaign, each of its occupations' pay (its own quartiles and mean, from its own survey in
the release) beside the released reference for that occupation in the city, in its industry
and in its size class, its own change since its previous survey, and the year's wage
guideline applied to its own median as a worked example.

Who reads it: the enterprise, its union's negotiator (a token for that enterprise and
campaign) and admins; never analysts, who read only what is published. Every figure of
other enterprises comes from the release's tables as an analyst downloads them, so from the
release's protection: a hidden cell is hidden here too.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import msgspec
import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.analytics import guidelines, wages
from survey_service.analytics.disclosure import ALL, SettingsError
from survey_service.analytics.release_store import (
    ReleaseStore,
    latest_wage_number,
    release_wage_table,
)
from survey_service.analytics.wage_columns import dimension_codes
from survey_service.analytics.wage_dimensions import code_name, enum_labels
from survey_service.analytics.wage_release import WageRelease, own_annual_pay
from survey_service.auth import Principal, audit, issue_token
from survey_service.db.models import AccessToken, Enterprise, utcnow
from survey_service.errors import ServiceError, not_found
from survey_service.structs import Body

# Occupations by middle class (中类, "6-01"): the level negotiations and the published
# tables work at, where a detailed code would leave most cells hidden.
BY = "occupation_middle"
OWN = ("p25", "p50", "p75", "mean")
# The enterprise's own figures of fewer workers are not printed: a brief goes to the
# union's side too, and a group of one is one colleague's pay.
MIN_OWN_WORKERS = 3
REFERENCE = ("n_enterprises", "n_workers", "p25", "p50", "p75", "mean")
# The released tables a brief quotes: by occupation in the city, and crossed with the
# enterprise's industry section and with its size class.
SCOPES = (("city", None), ("industry", "industry"), ("size", "size_class"))


async def salary_campaign(session: AsyncSession, campaign_id: int) -> wages.CampaignInfo:
    campaign = await wages.load_campaign(session, campaign_id)
    if campaign is None or campaign.form_kind != "salary-survey":
        raise not_found(f"Salary campaign {campaign_id}")
    return campaign


def _own_group(release: WageRelease, enterprise_id: int, dimension: str) -> str | None:
    """The group of ``dimension`` the enterprise's workers fall in in the release (None:
    not stated)."""
    columns = release.columns
    mine = np.flatnonzero(columns.enterprise == enterprise_id)
    if not mine.size:
        return None
    groups, index = dimension_codes(columns, dimension)
    return groups[int(np.bincount(index[mine]).argmax())]


def _reference(row: dict[str, Any] | None) -> dict[str, Any]:
    """A released cell as the brief quotes it: its figures, or that it is not published."""
    if row is None:
        return {"published": False, "reason": "no such cell in the release"}
    if row["suppressed"]:
        return {"published": False, "reason": row.get("suppression_reason")}
    return {"published": True} | {name: row[name] for name in REFERENCE}


def _growth(now: float, before: float | None) -> float | None:
    return None if not before else round((now / before - 1) * 100, 1)


async def negotiation_brief(
    session: AsyncSession, store: ReleaseStore, campaign_id: int, uscc: str
) -> dict[str, Any]:
    """The brief of enterprise ``uscc`` from campaign ``campaign_id``'s latest release."""
    campaign = await salary_campaign(session, campaign_id)
    found = await session.scalar(select(Enterprise).where(Enterprise.uscc == uscc))
    if found is None:
        raise not_found(f"Enterprise {uscc}")
    number = await latest_wage_number(session, campaign.id)
    if number is None:
        raise ServiceError("conflict", f"Campaign {campaign.id} has no release yet.")
    release = await store.wages(session, campaign.id, number)
    own, totals = own_annual_pay(release, found.id, BY)
    if not own:
        raise ServiceError(
            "conflict",
            f"The release {number} of campaign {campaign.id} holds no full-year worker of "
            "this enterprise.",
        )
    # The enterprise's industry and size class as its workers are counted in the release
    # (the registry's when it submitted), so its cells are the ones it is counted in.
    picks = {name: _own_group(release, found.id, name) for name in ("industry", "size_class")}
    # None: the enterprise's industry or size class is not known, so no cell is its own.
    references: dict[str, dict[str, dict[str, Any]] | None] = {}
    meta: dict[str, Any] = {}
    for scope, dimension in SCOPES:
        if dimension is not None and picks[dimension] is None:
            references[scope] = None
            continue
        by = [BY] + ([dimension] if dimension else [])
        try:
            table = await release_wage_table(
                session, store, campaign, number, wages.WageQuery(by=by), detailed=False
            )
        except (SettingsError, ValueError) as exc:
            raise ServiceError("conflict", f"The release cannot answer {by}: {exc}") from None
        meta = meta or table.meta
        references[scope] = {
            r[BY]: r
            for r in table.rows
            if r[BY] != ALL and (dimension is None or r[dimension] == picks[dimension])
        }
    before = await _previous_own(session, store, campaign, found.id)
    guideline = await guidelines.guideline_for(session, campaign.campaign_year)
    labels = enum_labels(campaign.schema)
    occupations = []
    for row in own:
        code = row["occupation"]
        shown = row["n"] >= MIN_OWN_WORKERS
        earlier = before.get(code) if shown else None
        occupations.append(
            {
                "occupation": code,
                "occupation_name": code_name("occupation", code, labels) if code else "未注明中类",
                "own": {"n": row["n"], "shown": shown}
                | ({name: row[name] for name in OWN} if shown else {}),
                "previous_own": earlier,
                "own_growth_pct": None if earlier is None else {
                    "p50": _growth(row["p50"], earlier["p50"]),
                    "mean": _growth(row["mean"], earlier["mean"]),
                },
                "reference": {
                    scope: _reference(cells.get(code)) if cells is not None
                    else {"published": False, "reason": "the enterprise's class is not known"}
                    for scope, cells in references.items()
                },
                "guideline_applied": [
                    {"name": line.name, "name_en": line.name_en, "pct": line.pct,
                     "amount": line.amount}
                    for line in guidelines.applied(guideline, row["p50"])
                ] if guideline is not None and shown else [],
            }
        )  # fmt: skip
    release_meta = meta["release"]
    return {
        "campaign": {
            "id": campaign.id, "title": campaign.title, "year": campaign.year,
            "campaign_year": campaign.campaign_year,
        },
        "release": {
            "number": release_meta["number"], "created_at": release_meta["created_at"],
            "content_hash": release_meta["content_hash"],
            "during_collection": bool(release_meta["during_collection"]),
        },
        "enterprise": {
            "uscc": found.uscc, "name": found.name, "district": found.district,
            "industry": found.industry, "industry_section": picks["industry"],
            "size_class": picks["size_class"],
        },
        "previous_campaign": meta.get("previous_campaign"),
        "workers": totals,
        "guideline": msgspec.to_builtins(guidelines.guideline_out(guideline))
        if guideline
        else None,
        "occupations": occupations,
        "rules": {
            "annual_min_months": release.rules["annual_min_months"],
            "occupation_level": BY, "min_own_workers": MIN_OWN_WORKERS,
        },
    }  # fmt: skip


async def _previous_own(
    session: AsyncSession, store: ReleaseStore, campaign: wages.CampaignInfo, enterprise_id: int
) -> dict[str, dict[str, Any]]:
    """The enterprise's own figures by occupation in the previous year's latest release."""
    previous = await wages.previous_campaign(session, campaign)
    if previous is None:
        return {}
    number = await latest_wage_number(session, previous.id)
    if number is None:
        return {}
    release = await store.wages(session, previous.id, number)
    own, _ = own_annual_pay(release, enterprise_id, BY)
    return {
        row["occupation"]: {"year": previous.year, "p50": row["p50"], "mean": row["mean"]}
        for row in own
        if row["n"] >= MIN_OWN_WORKERS
    }


# --- who may read a brief ----------------------------------------------------------------

MAX_NEGOTIATOR_DAYS = 366


class NegotiatorIn(Body):
    """A negotiator's token asked for: ``enterprise`` its credit code (an enterprise's own
    token may leave it out), how many days it holds, whose it is."""

    enterprise: Annotated[str, msgspec.Meta(min_length=18, max_length=18)] | None = None
    days: Annotated[int, msgspec.Meta(ge=1, le=MAX_NEGOTIATOR_DAYS)] = 90
    label: Annotated[str, msgspec.Meta(max_length=200)] | None = None


async def brief_subject(
    session: AsyncSession, principal: Principal, campaign_id: int, uscc: str
) -> Enterprise:
    """The enterprise whose brief ``principal`` asks for, when it may read it: an admin any,
    an enterprise's or a negotiator's token only its own of its own campaign (404 for any
    other, never saying it exists); analysts and district staff never (403)."""
    if principal.role not in ("admin", "enterprise", "negotiator"):
        raise ServiceError(
            "forbidden", "A negotiation brief holds an enterprise's own figures: not for this role."
        )
    found = await session.scalar(select(Enterprise).where(Enterprise.uscc == uscc.upper()))
    if principal.role != "admin" and (
        found is None or found.id != principal.enterprise_id or campaign_id != principal.campaign_id
    ):
        raise not_found(f"Enterprise {uscc}")
    if found is None:
        raise not_found(f"Enterprise {uscc}")
    return found


async def issue_negotiator_token(
    session: AsyncSession,
    principal: Principal,
    campaign_id: int,
    uscc: str | None,
    *,
    days: int,
    label: str | None,
) -> tuple[str, AccessToken, Enterprise]:
    """A read-only token for the union negotiator of one enterprise and campaign, expiring
    after ``days``: issued by the bureau for any enterprise, or by an enterprise for itself."""
    campaign = await salary_campaign(session, campaign_id)
    if principal.role == "enterprise":
        if principal.campaign_id != campaign.id:
            raise not_found(f"Salary campaign {campaign_id}")
        found = await session.get(Enterprise, principal.enterprise_id)
        if found is None or (uscc is not None and uscc.upper() != found.uscc):
            raise not_found(f"Enterprise {uscc}")
    else:
        if uscc is None:
            raise ServiceError("unprocessable", "Name the enterprise (`enterprise`).")
        found = await session.scalar(select(Enterprise).where(Enterprise.uscc == uscc.upper()))
        if found is None:
            raise not_found(f"Enterprise {uscc}")
    token, row = await issue_token(
        session,
        "negotiator",
        label=label or f"工会协商代表 {found.name}",
        enterprise_id=found.id,
        campaign_id=campaign.id,
        expires_at=utcnow() + timedelta(days=days),
    )
    audit(session, principal, "negotiator.issue", f"enterprise:{found.uscc}",
          campaign_id=campaign.id, token_id=row.id, days=days)  # fmt: skip
    return token, row, found
