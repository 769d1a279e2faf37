"""warnings kept with each revision; a campaign's campaign year

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 11:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import survey_service.db.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("submissions", "submission_revisions"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "warnings",
                    survey_service.db.models.JSONType,
                    nullable=False,
                    server_default=sa.text("'[]'"),
                )
            )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("campaign_year", sa.Integer(), nullable=True))
    # Campaigns made before the link belonged to the year they were numbered by.
    op.execute("UPDATE campaigns SET campaign_year = year")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.alter_column("campaign_year", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f("ix_campaigns_campaign_year"), ["campaign_year"])


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaigns_campaign_year"))
        batch_op.drop_column("campaign_year")
    for table in ("submission_revisions", "submissions"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("warnings")
