"""Lookups every domain shares, written once below them: a campaign with its form version
and form. Each caller says what a miss means to it (a 404, a domain error)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.db.models import Campaign, Form, FormVersion


async def campaign_with_form(
    session: AsyncSession, campaign_id: int
) -> tuple[Campaign, FormVersion, Form] | None:
    row = (
        await session.execute(
            select(Campaign, FormVersion, Form)
            .join(FormVersion, Campaign.form_version_id == FormVersion.id)
            .join(Form, FormVersion.form_id == Form.id)
            .where(Campaign.id == campaign_id)
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2])
