"""one stored copy of a submission's document: the current revision's data is NULL

A submission's current revision no longer repeats its document (an uploaded payroll's is
20 MB): ``submission_revisions.data`` is NULL for the revision the submission stands at,
and filled with the document when an amendment replaces it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 21:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("submission_revisions") as batch:
        batch.alter_column("data", existing_type=_JSON, nullable=True)
    # The copies kept so far of each submission's current document.
    op.execute(
        "UPDATE submission_revisions SET data = NULL WHERE EXISTS (SELECT 1 FROM submissions "
        "WHERE submissions.id = submission_revisions.submission_id "
        "AND submissions.revision = submission_revisions.revision "
        "AND submissions.content_hash = submission_revisions.content_hash)"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE submission_revisions SET data = (SELECT data FROM submissions "
        "WHERE submissions.id = submission_revisions.submission_id) WHERE data IS NULL"
    )
    with op.batch_alter_table("submission_revisions") as batch:
        batch.alter_column("data", existing_type=_JSON, nullable=False)
