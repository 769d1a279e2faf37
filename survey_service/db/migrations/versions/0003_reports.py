"""reports, and on PostgreSQL the job queue's schema (procrastinate)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import survey_service.db.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("params", survey_service.db.models.JSONType, nullable=False),
        sa.Column("params_key", sa.String(length=64), nullable=False),
        sa.Column("data_version", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("seconds", sa.Double(), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", survey_service.db.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("started_at", survey_service.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "finished_at", survey_service.db.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name=op.f("fk_reports_enterprise_id_enterprises")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["access_tokens.id"],
            name=op.f("fk_reports_requested_by_access_tokens"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reports_enterprise_id"), ["enterprise_id"])
        batch_op.create_index("ix_reports_params_key_data_version", ["params_key", "data_version"])
    if op.get_bind().dialect.name == "postgresql":
        from procrastinate.schema import SchemaManager
        from sqlalchemy.util import await_

        # Several server processes share report rendering through procrastinate's tables.
        # Its schema is a script of many statements: asyncpg runs those only outside a
        # prepared statement, on the driver's own connection (in this transaction).
        driver = op.get_bind().connection.dbapi_connection.driver_connection  # type: ignore[union-attr]
        await_(driver.execute(SchemaManager.get_schema()))


def downgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_params_key_data_version")
        batch_op.drop_index(batch_op.f("ix_reports_enterprise_id"))
    op.drop_table("reports")
