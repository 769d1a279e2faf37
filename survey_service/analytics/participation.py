"""Participation in a year's campaigns, by district and for the city, each rate beside its
target: all enterprises, above-designated-size ones, unionized ones, and the collective
wage contracts of unionized enterprises with 100 or more staff.

An enterprise **took part** in a year when it has at least one submitted survey (status
``submitted``: a draft does not count; review state does not matter) in any campaign of that
year (``campaigns.year``), whatever the form: salary survey or self-assessment. Its
workers' poll answers do not count: they are not the enterprise's doing. A unionized
enterprise of 100 or more staff counts as having a collective contract when the bureau's
contract records (``collection.contracts``) give it a negotiation mechanism and a signed
contract holding that day; the registry's own flag is a statement to check, not the count.

Everything is counted **as it stood at an instant** (``at``; by default now): the registry
as its history had it then gives who counts (district, size, union, contract), a survey
counts when its latest revision by then was submitted, a campaign when it had been created.
So a year's participation, and its circular, can be made again as of the same instant and
come out the same, whatever changed since.

The targets are data: ``reference/data/participation-targets.json`` (the notice's 2023
figures), or the file ``SURVEY_PARTICIPATION_TARGETS`` names. Each entry applies from its
``from_year``; a year before every entry has no targets (null).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.analytics.districts import city_districts, competition_ranks, district_name
from survey_service.collection.contracts import contracts_in_force
from survey_service.collection.registry_history import registry_at
from survey_service.db.models import (
    Campaign,
    EnterpriseHistory,
    Form,
    FormVersion,
    Submission,
    SubmissionRevision,
    utcnow,
)
from survey_service.errors import unprocessable
from survey_service.local_time import NotAnInstant, instant_from_text
from survey_service.structs import Out

DEFINITION = (
    "An enterprise took part in a year when it has at least one submitted survey (not a "
    "draft) in any campaign of that year, whatever the form; its workers' poll answers do "
    "not count. Rates are participating / enterprises counted; null when none are counted. "
    "Everything is counted as it stood at the instant as_of."
)


# --- the targets -----------------------------------------------------------------------------


class TargetEntry(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    from_year: int
    participation: float | None = None
    above_designated_size_participation: float | None = None
    unionized_participation: float | None = None
    collective_contract_signing: float | None = None


class TargetsFile(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    collective_contract_min_staff: int
    targets: list[TargetEntry]
    source: str = ""


def load_targets(path: Path | None = None) -> TargetsFile:
    """The targets file: ``path``, else the shipped one. A malformed file is an error."""
    raw = (
        path.read_bytes()
        if path is not None
        else files("survey_service.reference")
        .joinpath("data", "participation-targets.json")
        .read_bytes()
    )
    return msgspec.json.decode(raw, type=TargetsFile)


def targets_for(targets: TargetsFile, year: int) -> TargetEntry | None:
    """The entry in force in ``year``: the latest that starts in or before it."""
    applying = [t for t in targets.targets if t.from_year <= year]
    return max(applying, key=lambda t: t.from_year) if applying else None


# --- the instant ----------------------------------------------------------------------------


def as_of_instant(text: str | None, zone: ZoneInfo, now: datetime) -> datetime:
    """The instant to count at: a date (``2023-12-31``) is its last moment in ``zone``, an
    RFC 3339 date-time that instant, nothing ``now``. Not after ``now``: what is not yet
    known cannot be counted as it will stand."""
    if text is None:
        return now
    try:
        at = instant_from_text(text, zone, end_of_day=True)
    except NotAnInstant as exc:
        raise unprocessable(
            str(exc), [{"path": "/as_of", "message": str(exc), "keyword": "format"}]
        ) from None
    if len(text.strip()) == 10:
        at -= timedelta(microseconds=1)
    if at > now:
        raise unprocessable(
            f"{text} is in the future: participation can be counted as it stood, not as it "
            "will stand.",
            [{"path": "/as_of", "message": "in the future", "keyword": "maximum"}],
        )
    return at


def as_of_text(text: str | None, at: datetime, zone: ZoneInfo) -> str:
    """How a circular prints the instant it counts at: the date it was asked for, else the
    instant in ``zone`` to the second."""
    if text is not None and len(text.strip()) == 10:
        return text.strip()
    return f"{at.astimezone(zone):%Y-%m-%d %H:%M:%S}"


# --- the response ----------------------------------------------------------------------------


class TargetsOut(Out, kw_only=True):
    from_year: int | None
    participation: float | None
    above_designated_size_participation: float | None
    unionized_participation: float | None
    collective_contract_signing: float | None
    collective_contract_min_staff: int
    source: str


class ParticipationRow(Out, kw_only=True):
    """One district (``district`` null: the city). ``unionized_large`` are the unionized
    enterprises with at least ``collective_contract_min_staff`` staff."""

    district: str | None
    name: str | None
    rank: int | None  # by participation_rate among the districts
    enterprises: int
    participating: int
    participation_rate: float | None
    participation_target: float | None
    above_designated_size: int
    above_designated_size_participating: int
    above_designated_size_rate: float | None
    above_designated_size_target: float | None
    unionized: int
    unionized_participating: int
    unionized_rate: float | None
    unionized_target: float | None
    unionized_large: int
    collective_contracts: int
    collective_contract_rate: float | None
    collective_contract_target: float | None


class MissingEnterprise(Out, kw_only=True):
    uscc: str
    name: str
    district: str
    district_name: str | None
    staff_count: int | None
    above_designated_size: bool
    has_union: bool


class CampaignRef(Out, kw_only=True):
    id: int
    title: str
    form_key: str


class ParticipationOut(Out, kw_only=True):
    """``missing`` (enterprises that have not taken part) and ``without_collective_contract``
    (unionized large enterprises without one) are for admins; null for analysts."""

    year: int
    as_of: datetime
    definition: str
    campaigns: list[CampaignRef]
    targets: TargetsOut
    city: ParticipationRow
    districts: list[ParticipationRow]
    missing: list[MissingEnterprise] | None
    without_collective_contract: list[MissingEnterprise] | None


# --- counting ----------------------------------------------------------------------------------

Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Registry:
    """The enterprises as columns."""

    rows: list[tuple[str, EnterpriseHistory]]
    district: npt.NDArray[np.str_]
    above_designated_size: Mask
    unionized: Mask
    large: Mask
    contract: Mask
    participating: Mask


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def _participants(session: AsyncSession, year: int, at: datetime) -> set[int]:
    """The enterprises with a survey of the year whose latest revision by ``at`` was
    submitted."""
    latest: dict[str, tuple[int | None, int, str]] = {}
    for submission_id, enterprise_id, revision, status in await session.execute(
        select(
            SubmissionRevision.submission_id,
            Submission.enterprise_id,
            SubmissionRevision.revision,
            SubmissionRevision.status,
        )
        .join(Submission, SubmissionRevision.submission_id == Submission.id)
        .join(Campaign, Submission.campaign_id == Campaign.id)
        .where(
            Campaign.campaign_year == year,
            Submission.enterprise_id.is_not(None),
            SubmissionRevision.created_at <= at,
        )
    ):
        seen = latest.get(submission_id)
        if seen is None or revision > seen[1]:
            latest[submission_id] = (enterprise_id, revision, status)
    return {
        enterprise_id
        for enterprise_id, _, status in latest.values()
        if enterprise_id is not None and status == "submitted"
    }


def participation_row(
    registry: Registry, within: Mask, district: str | None, target: TargetEntry | None
) -> ParticipationRow:
    took_part = registry.participating & within
    ads = registry.above_designated_size & within
    unionized = registry.unionized & within
    large = unionized & registry.large
    counts = {
        "enterprises": int(within.sum()),
        "participating": int(took_part.sum()),
        "above_designated_size": int(ads.sum()),
        "above_designated_size_participating": int((ads & took_part).sum()),
        "unionized": int(unionized.sum()),
        "unionized_participating": int((unionized & took_part).sum()),
        "unionized_large": int(large.sum()),
        "collective_contracts": int((large & registry.contract).sum()),
    }
    return ParticipationRow(
        district=district,
        name=district_name(district),
        rank=None,
        participation_rate=_rate(counts["participating"], counts["enterprises"]),
        participation_target=target.participation if target else None,
        above_designated_size_rate=_rate(
            counts["above_designated_size_participating"], counts["above_designated_size"]
        ),
        above_designated_size_target=target.above_designated_size_participation if target else None,
        unionized_rate=_rate(counts["unionized_participating"], counts["unionized"]),
        unionized_target=target.unionized_participation if target else None,
        collective_contract_rate=_rate(counts["collective_contracts"], counts["unionized_large"]),
        collective_contract_target=target.collective_contract_signing if target else None,
        **counts,
    )


def _listed(rows: list[tuple[str, EnterpriseHistory]], mask: Mask) -> list[MissingEnterprise]:
    picked = [rows[i] for i in np.flatnonzero(mask)]
    picked.sort(key=lambda row: (row[1].district, row[0]))
    return [
        MissingEnterprise(
            uscc=uscc,
            name=e.name,
            district=e.district,
            district_name=district_name(e.district),
            staff_count=e.staff_count,
            above_designated_size=e.above_designated_size,
            has_union=e.has_union,
        )
        for uscc, e in picked
    ]


async def year_participation(
    session: AsyncSession,
    year: int,
    targets: TargetsFile,
    *,
    with_lists: bool,
    zone: ZoneInfo,
    at: datetime | None = None,
) -> ParticipationOut:
    """The year's participation as it stood at ``at`` (now when None); a contract counts
    when the records known then had it holding on that day in ``zone``."""
    at = at or utcnow()
    campaigns = [
        CampaignRef(id=cid, title=title, form_key=key)
        for cid, title, key in await session.execute(
            select(Campaign.id, Campaign.title, Form.key)
            .join(FormVersion, Campaign.form_version_id == FormVersion.id)
            .join(Form, FormVersion.form_id == Form.id)
            .where(Campaign.campaign_year == year, Campaign.created_at <= at)
            .order_by(Campaign.id)
        )
    ]
    participants = await _participants(session, year, at)
    rows = await registry_at(session, at)
    signed = await contracts_in_force(session, at.astimezone(zone).date(), at)
    min_staff = targets.collective_contract_min_staff
    registry = Registry(
        rows=rows,
        district=np.array([e.district for _, e in rows], dtype=np.str_),
        above_designated_size=np.array([e.above_designated_size for _, e in rows], dtype=bool),
        unionized=np.array([e.has_union for _, e in rows], dtype=bool),
        large=np.array([(e.staff_count or 0) >= min_staff for _, e in rows], dtype=bool),
        contract=np.array([e.enterprise_id in signed for _, e in rows], dtype=bool),
        participating=np.array([e.enterprise_id in participants for _, e in rows], dtype=bool),
    )
    target = targets_for(targets, year)
    everyone = np.ones(len(rows), dtype=bool)
    codes = sorted(set(city_districts()) | set(registry.district.tolist()))
    districts = [
        participation_row(registry, registry.district == code, code, target) for code in codes
    ]
    for row, rank in zip(
        districts, competition_ranks([d.participation_rate for d in districts]), strict=True
    ):
        row.rank = rank
    districts.sort(key=lambda d: (d.rank is None, d.rank, d.district))
    return ParticipationOut(
        year=year,
        as_of=at,
        definition=DEFINITION,
        campaigns=campaigns,
        targets=TargetsOut(
            from_year=target.from_year if target else None,
            participation=target.participation if target else None,
            above_designated_size_participation=target.above_designated_size_participation
            if target
            else None,
            unionized_participation=target.unionized_participation if target else None,
            collective_contract_signing=target.collective_contract_signing if target else None,
            collective_contract_min_staff=min_staff,
            source=targets.source,
        ),
        city=participation_row(registry, everyone, None, target),
        districts=districts,
        missing=_listed(rows, ~registry.participating) if with_lists else None,
        without_collective_contract=_listed(
            rows, registry.unionized & registry.large & ~registry.contract
        )
        if with_lists
        else None,
    )
