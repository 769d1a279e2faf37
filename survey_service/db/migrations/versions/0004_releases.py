"""releases: frozen, protected publications of a campaign's data

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 05:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import survey_service.db.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at", survey_service.db.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("during_collection", sa.Boolean(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("rules", survey_service.db.models.JSONType, nullable=False),
        sa.Column("summary", survey_service.db.models.JSONType, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("protection", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_releases_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["access_tokens.id"], name=op.f("fk_releases_created_by_access_tokens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_releases")),
        sa.UniqueConstraint("campaign_id", "number", name=op.f("uq_releases_campaign_id")),
    )
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_releases_campaign_id"), ["campaign_id"])


def downgrade() -> None:
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_releases_campaign_id"))
    op.drop_table("releases")
