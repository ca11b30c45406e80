"""An index for a model's live versions, newest first: listings and counts at 10^5 versions.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # (model, deleted_at, number): a page (model = m, deleted_at IS NULL, by number) walks
    # it in order, and a model's count and latest number read it alone, not the rows.
    op.create_index(
        "ix_versions_model_deleted_at_number", "versions", ["model", "deleted_at", "number"]
    )


def downgrade() -> None:
    op.drop_index("ix_versions_model_deleted_at_number", table_name="versions")
