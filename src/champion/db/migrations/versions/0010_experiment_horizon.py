"""Experiments keep when a fixed-horizon goal reached min_sample and its one evaluation.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    reached = sa.Column("horizon_reached_at", sa.DateTime(timezone=True), nullable=True)
    op.add_column("experiments", reached)
    op.add_column("experiments", sa.Column("horizon", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("experiments") as batch:
        batch.drop_column("horizon")
        batch.drop_column("horizon_reached_at")
