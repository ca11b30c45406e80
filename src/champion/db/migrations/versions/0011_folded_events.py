"""Prediction and feedback rows say whether they are folded into the stored aggregates.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table, time in (("predictions", "at"), ("feedback", "received_at")):
        op.add_column(
            table,
            sa.Column("folded", sa.Boolean, nullable=False, server_default=sa.false()),
        )
        # Only the rows still to fold are indexed: the folding pass finds them without
        # scanning the log, and the index stays as small as the backlog.
        op.create_index(
            f"ix_{table}_unfolded",
            table,
            [time],
            sqlite_where=sa.text("folded = 0"),
            postgresql_where=sa.text("NOT folded"),
        )


def downgrade() -> None:
    for table in ("predictions", "feedback"):
        op.drop_index(f"ix_{table}_unfolded", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("folded")
