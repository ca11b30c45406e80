"""Folded prediction and feedback rows are indexed by time, so retention finds the oldest
ones without scanning the log.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_INDEXES = (
    ("predictions", ["at", "request_id"]),
    ("feedback", ["received_at", "event_id"]),
)


def upgrade() -> None:
    for table, columns in _INDEXES:
        # Only folded rows may be deleted: the index holds exactly the candidates, in the
        # order retention takes them (keyset by time, then id).
        op.create_index(
            f"ix_{table}_folded",
            table,
            columns,
            sqlite_where=sa.text("folded = 1"),
            postgresql_where=sa.text("folded"),
        )


def downgrade() -> None:
    for table, _ in _INDEXES:
        op.drop_index(f"ix_{table}_folded", table_name=table)
