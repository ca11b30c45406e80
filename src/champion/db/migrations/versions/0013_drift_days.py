"""Daily drift windows: what each day's predictions left behind against their reference.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "drift_days",
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("day", _when(), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("predictions", sa.BigInteger, nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("reference_at", _when(), nullable=True),
        sa.Column("state", JSON, nullable=True),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("summarised_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("endpoint", "day", "model", "version", name="pk_drift_days"),
    )
    op.create_table(
        "drift_day_counts",
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("day", _when(), nullable=False),
        sa.Column("events", sa.BigInteger, nullable=False),
        sa.Column("summarised_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("endpoint", "day", name="pk_drift_day_counts"),
    )


def downgrade() -> None:
    op.drop_table("drift_day_counts")
    op.drop_table("drift_days")
