"""Reading the audit log (``auth.audit`` writes it): the entries newest first, a page at a
time by keyset (``before`` an entry's id), filtered by the actor's role or token, the
action (``token.create``, or a family: ``token``), a time range and a campaign. One reader
for ``GET /api/v1/audit`` and the bureau's page ``/admin/audit``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.db.models import AccessToken, AuditEntry, Enterprise, Submission
from survey_service.local_time import NotAnInstant, instant_from_text

# ``actor_role`` of an entry no token made (a refused token, a throttled address).
NOBODY = "none"
ROLES = ("admin", "analyst", "enterprise", NOBODY)
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
ACTION_MAX = 64
BIGINT_MAX = 2**63 - 1
SUBMISSION_PREFIX = "submission:"
UUID_LENGTH = 36


class AuditFilterError(ValueError):
    """A filter that cannot be applied (named by its field)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What to look for; every part optional. ``until`` is exclusive."""

    role: str | None = None
    actor: int | None = None  # the acting token's id
    action: str | None = None  # an action, or a family without a dot ("token")
    since: datetime | None = None
    until: datetime | None = None
    campaign_id: int | None = None

    def __post_init__(self) -> None:
        if self.role is not None and self.role not in ROLES:
            raise AuditFilterError("role", f"must be one of {', '.join(ROLES)}")
        if self.action is not None and not 0 < len(self.action) <= ACTION_MAX:
            raise AuditFilterError("action", f"must have 1 to {ACTION_MAX} characters")
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise AuditFilterError("until", "must be later than since")


def _instant(name: str, text: str | None, zone: ZoneInfo, *, end: bool) -> datetime | None:
    if not text or not text.strip():
        return None
    try:
        return instant_from_text(text, zone, end_of_day=end)
    except NotAnInstant as exc:
        raise AuditFilterError(name, str(exc)) from None


def filter_from_text(
    zone: ZoneInfo,
    *,
    role: str | None = None,
    actor: int | None = None,
    action: str | None = None,
    since: str | None = None,
    until: str | None = None,
    campaign_id: int | None = None,
) -> AuditFilter:
    """The filter as a request writes it: ``since``/``until`` an RFC 3339 time or a day in
    ``zone`` (``until`` then includes that day); empty texts filter nothing."""
    return AuditFilter(
        role=role or None,
        actor=actor,
        action=(action or "").strip() or None,
        since=_instant("since", since, zone, end=False),
        until=_instant("until", until, zone, end=True),
        campaign_id=campaign_id,
    )


def read_before(raw: str | None) -> int | None:
    """A page's cursor (the id the page starts below); None for the newest entries."""
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= BIGINT_MAX:
        raise AuditFilterError("cursor", "is not one this service gave out")
    return int(raw)


@dataclass(frozen=True, slots=True)
class AuditLine:
    id: int
    at: datetime
    actor_token_id: int | None
    actor_role: str | None
    actor_label: str | None  # the token's label, or the enterprise's name
    action: str
    target: str | None
    detail: dict[str, Any] = field(default_factory=dict)


def _campaign_condition(campaign_id: int) -> ColumnElement[bool]:
    """Entries whose target is the campaign, one of its parts (``campaign:7:<uscc>``) or
    one of its submissions (``submission:<id>``, ``submission:<id>:<revision>``)."""
    own = f"campaign:{campaign_id}"
    its_submissions = select(Submission.id).where(Submission.campaign_id == campaign_id)
    submission_id = func.substr(AuditEntry.target, len(SUBMISSION_PREFIX) + 1, UUID_LENGTH)
    return or_(
        AuditEntry.target == own,
        AuditEntry.target.startswith(own + ":", autoescape=True),
        AuditEntry.target.startswith(SUBMISSION_PREFIX) & submission_id.in_(its_submissions),
    )


def _conditions(wanted: AuditFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if wanted.role == NOBODY:
        found.append(AuditEntry.actor_role.is_(None))
    elif wanted.role is not None:
        found.append(AuditEntry.actor_role == wanted.role)
    if wanted.actor is not None:
        found.append(AuditEntry.actor_token_id == wanted.actor)
    if wanted.action is not None and "." in wanted.action:
        found.append(AuditEntry.action == wanted.action)
    elif wanted.action is not None:
        found.append(AuditEntry.action.startswith(wanted.action + ".", autoescape=True))
    if wanted.since is not None:
        found.append(AuditEntry.at >= wanted.since)
    if wanted.until is not None:
        found.append(AuditEntry.at < wanted.until)
    if wanted.campaign_id is not None:
        found.append(_campaign_condition(wanted.campaign_id))
    return found


async def audit_entries(
    session: AsyncSession,
    wanted: AuditFilter,
    *,
    limit: int = PAGE_SIZE,
    before: int | None = None,
) -> tuple[list[AuditLine], int | None]:
    """One page of entries, newest first, and the ``before`` of the next page (None: this
    is the last)."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    query = (
        select(AuditEntry, AccessToken.label, Enterprise.name)
        .outerjoin(AccessToken, AuditEntry.actor_token_id == AccessToken.id)
        .outerjoin(Enterprise, AccessToken.enterprise_id == Enterprise.id)
        .where(*_conditions(wanted))
        .order_by(AuditEntry.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(AuditEntry.id < before)
    rows = (await session.execute(query)).all()
    lines = [
        AuditLine(
            id=entry.id,
            at=entry.at,
            actor_token_id=entry.actor_token_id,
            actor_role=entry.actor_role,
            actor_label=enterprise_name or label,
            action=entry.action,
            target=entry.target,
            detail=dict(entry.detail or {}),
        )
        for entry, label, enterprise_name in rows[:limit]
    ]
    return lines, lines[-1].id if len(rows) > limit else None


async def audit_actions(session: AsyncSession) -> list[str]:
    """The actions the log holds, for a filter's choices."""
    return list(await session.scalars(select(AuditEntry.action).distinct().order_by("action")))
