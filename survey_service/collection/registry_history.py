"""The registry's history: what it said of each enterprise, period by period.

Every change to the facts that count for participation (``FACTS``) closes the enterprise's
current period and opens another, in the same transaction as the change; periods are never
edited after. ``registry_at`` reads the registry as it stood at an instant."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.collection.schemas import RegistryPeriodOut
from survey_service.db.models import Enterprise, EnterpriseHistory

FACTS = (
    "name",
    "district",
    "industry",
    "size_class",
    "staff_count",
    "has_union",
    "above_designated_size",
    "has_collective_contract",
)
_CHUNK = 500  # ids per statement (SQLite's bound parameters)


def facts_of(row: Enterprise | EnterpriseHistory) -> tuple[Any, ...]:
    return tuple(getattr(row, name) for name in FACTS)


async def record_periods(
    session: AsyncSession, changed: Sequence[Enterprise], at: datetime
) -> None:
    """Close the current period of each of ``changed`` (flushed, so with ids) at ``at`` and
    open one with its facts as they are now."""
    ids = [row.id for row in changed]
    for start in range(0, len(ids), _CHUNK):
        await session.execute(
            update(EnterpriseHistory)
            .where(
                EnterpriseHistory.enterprise_id.in_(ids[start : start + _CHUNK]),
                EnterpriseHistory.valid_to.is_(None),
            )
            .values(valid_to=at)
        )
    session.add_all(
        EnterpriseHistory(
            enterprise_id=row.id,
            valid_from=at,
            valid_to=None,
            **{name: getattr(row, name) for name in FACTS},
        )
        for row in changed
    )
    await session.flush()


async def registry_at(session: AsyncSession, at: datetime) -> list[tuple[str, EnterpriseHistory]]:
    """Every enterprise registered at ``at`` with its facts then (credit code, period), by
    registration."""
    rows = await session.execute(
        select(Enterprise.uscc, EnterpriseHistory)
        .join(Enterprise, Enterprise.id == EnterpriseHistory.enterprise_id)
        .where(
            EnterpriseHistory.valid_from <= at,
            or_(EnterpriseHistory.valid_to.is_(None), EnterpriseHistory.valid_to > at),
        )
        .order_by(EnterpriseHistory.enterprise_id)
    )
    return [(uscc, period) for uscc, period in rows]


async def periods_of(session: AsyncSession, enterprise_id: int) -> list[RegistryPeriodOut]:
    """An enterprise's history, the latest period first."""
    periods = await session.scalars(
        select(EnterpriseHistory)
        .where(EnterpriseHistory.enterprise_id == enterprise_id)
        .order_by(EnterpriseHistory.valid_from.desc(), EnterpriseHistory.id.desc())
    )
    return [
        RegistryPeriodOut(
            valid_from=p.valid_from,
            valid_to=p.valid_to,
            **{name: getattr(p, name) for name in FACTS},
        )
        for p in periods
    ]
