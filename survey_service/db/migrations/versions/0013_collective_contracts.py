"""collective contracts: the bureau's records of each enterprise's negotiation mechanism and
signed contract (dates, term, coverage, agreed growth), superseded, never edited

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 05:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import survey_service.db.models

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collective_contracts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("has_mechanism", sa.Boolean(), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("term_months", sa.Integer(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("coverage_workers", sa.Integer(), nullable=True),
        sa.Column("wage_growth_pct", sa.Double(), nullable=True),
        sa.Column("wage_clauses", sa.String(length=1000), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column(
            "recorded_at", survey_service.db.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "superseded_at", survey_service.db.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_collective_contracts_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collective_contracts")),
    )
    with op.batch_alter_table("collective_contracts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_collective_contracts_enterprise_id"), ["enterprise_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("collective_contracts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_collective_contracts_enterprise_id"))
    op.drop_table("collective_contracts")
