"""Deleted versions: the row stays (its number is never reused, its lineage stays readable),
marked with when and by whom it was deleted; its files leave the artifact store.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("versions", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("versions", sa.Column("deleted_by", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.drop_column("deleted_by")
        batch.drop_column("deleted_at")
