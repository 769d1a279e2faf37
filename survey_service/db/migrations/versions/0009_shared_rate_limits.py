"""shared rate limits: one row per limited key, kept where every server process sees it
(UNLOGGED on PostgreSQL; unused on SQLite)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import survey_service.db.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A limit's state is worth no WAL record and no flush per request: after a crash the
    # table is empty and every limit starts afresh.
    unlogged = ["UNLOGGED"] if op.get_bind().dialect.name == "postgresql" else []
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("tat", survey_service.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limits")),
        prefixes=unlogged,
    )


def downgrade() -> None:
    op.drop_table("rate_limits")
