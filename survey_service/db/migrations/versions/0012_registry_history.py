"""the registry's history: the facts that count for participation, per period, so that a
year's participation can be recomputed as it stood on a past date

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 05:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import survey_service.db.models

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enterprise_history",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column(
            "valid_from", survey_service.db.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("valid_to", survey_service.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("district", sa.String(length=6), nullable=False),
        sa.Column("industry", sa.String(length=5), nullable=False),
        sa.Column("size_class", sa.String(length=16), nullable=True),
        sa.Column("staff_count", sa.Integer(), nullable=True),
        sa.Column("has_union", sa.Boolean(), nullable=False),
        sa.Column("above_designated_size", sa.Boolean(), nullable=False),
        sa.Column("has_collective_contract", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_enterprise_history_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprise_history")),
    )
    with op.batch_alter_table("enterprise_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enterprise_history_enterprise_id"), ["enterprise_id"], unique=False
        )
        batch_op.create_index("ix_enterprise_history_valid", ["valid_from", "valid_to"])
    # What was registered before the history was kept holds since it was registered: the
    # best that is known.
    op.execute(
        "INSERT INTO enterprise_history (enterprise_id, valid_from, name, district, industry,"
        " size_class, staff_count, has_union, above_designated_size, has_collective_contract)"
        " SELECT id, created_at, name, district, industry, size_class, staff_count, has_union,"
        " above_designated_size, has_collective_contract FROM enterprises"
    )


def downgrade() -> None:
    with op.batch_alter_table("enterprise_history", schema=None) as batch_op:
        batch_op.drop_index("ix_enterprise_history_valid")
        batch_op.drop_index(batch_op.f("ix_enterprise_history_enterprise_id"))
    op.drop_table("enterprise_history")
