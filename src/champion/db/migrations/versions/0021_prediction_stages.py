"""Prediction events name the stage of a pipeline endpoint that made them.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default, no index: adding it rewrites no row (on PostgreSQL the column
    # reaches every day partition), and a single-model endpoint's events leave it unset.
    op.add_column("predictions", sa.Column("stage", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("stage")
