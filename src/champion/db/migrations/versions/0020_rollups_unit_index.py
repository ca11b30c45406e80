"""Rollup rows are indexed by unit, so a report finds the folded totals of the
few units with events not folded yet without scanning every unit's rows.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_rollups_unit", "rollups", ["unit"])


def downgrade() -> None:
    op.drop_index("ix_rollups_unit", table_name="rollups")
