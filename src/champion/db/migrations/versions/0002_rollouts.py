"""Rollouts: fallbacks and assignment probabilities on predictions, shadow predictions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.add_column(sa.Column("fallback_from", sa.String(80), nullable=True))
        batch.add_column(sa.Column("probability", sa.Float, nullable=True))
    op.create_table(
        "shadow_predictions",
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("outputs", JSON, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "model", "version", name="pk_shadow_predictions"),
    )
    op.create_index("ix_shadow_predictions_endpoint_at", "shadow_predictions", ["endpoint", "at"])


def downgrade() -> None:
    op.drop_table("shadow_predictions")
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("probability")
        batch.drop_column("fallback_from")
