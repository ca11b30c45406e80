"""Experiments: design, status and the rollout controller's state per endpoint.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("design", JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("since_config", sa.Integer, nullable=False),
        sa.Column("started_at", _when(), nullable=False),
        sa.Column("step_started_at", _when(), nullable=False),
        sa.Column("finished_at", _when(), nullable=True),
        sa.Column("pending", JSON, nullable=True),
        sa.Column("outcome", JSON, nullable=True),
        sa.Column("last_decision", JSON, nullable=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_experiments"),
    )
    op.create_index("ix_experiments_endpoint", "experiments", ["endpoint"])


def downgrade() -> None:
    op.drop_table("experiments")
