"""release_surveys: the survey revisions a release's snapshot held; exports of a release,
and each export's claim (the attempt making it and its heartbeat)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 19:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import survey_service.db.models

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

WHEN = survey_service.db.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "release_surveys",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.String(length=36), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("review_state", sa.String(length=16), nullable=False),
        sa.Column("counted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["releases.id"],
            name=op.f("fk_release_surveys_release_id_releases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_release_surveys_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("release_id", "submission_id", name=op.f("pk_release_surveys")),
    )
    op.create_index(op.f("ix_release_surveys_submission_id"), "release_surveys", ["submission_id"])
    with op.batch_alter_table("exports") as batch:
        batch.add_column(sa.Column("release", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("claimed_by", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", WHEN, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exports") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("claimed_by")
        batch.drop_column("release")
    op.drop_index(op.f("ix_release_surveys_submission_id"), table_name="release_surveys")
    op.drop_table("release_surveys")
