"""the wage guidelines (工资指导线): per year and region, base, upper, lower and warning
lines of pay growth, with their source

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 00:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import survey_service.db.models

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wage_guidelines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("base_pct", sa.Double(), nullable=False),
        sa.Column("upper_pct", sa.Double(), nullable=False),
        sa.Column("lower_pct", sa.Double(), nullable=False),
        sa.Column("warning_pct", sa.Double(), nullable=True),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("source_url", sa.String(length=500), nullable=True),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("example", sa.Boolean(), nullable=False),
        sa.Column(
            "updated_at", survey_service.db.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wage_guidelines")),
        sa.UniqueConstraint("year", "region", name=op.f("uq_wage_guidelines_year")),
    )


def downgrade() -> None:
    op.drop_table("wage_guidelines")
