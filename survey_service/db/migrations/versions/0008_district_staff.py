"""district staff: the district an access token is held to

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("access_tokens") as batch:
        batch.add_column(sa.Column("district", sa.String(length=12), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("access_tokens") as batch:
        batch.drop_column("district")
