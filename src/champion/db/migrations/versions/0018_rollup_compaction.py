"""Rollups can be compacted: a merged row counts the units it holds, and the compacted
segments are recorded.

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("rollups", "interleaving_rollups"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("units", sa.BigInteger, nullable=False, server_default="0"))
    op.create_table(
        "compacted_segments",
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("segment_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("segment_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("compacted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("endpoint", "segment_start", name="pk_compacted_segments"),
    )


def downgrade() -> None:
    op.drop_table("compacted_segments")
    for table in ("rollups", "interleaving_rollups"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("units")
