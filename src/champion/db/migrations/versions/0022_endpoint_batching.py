"""Endpoints (and each configuration in their history) may batch concurrent predictions:
a nullable ``batching`` column, NULL meaning off.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    # Adding a nullable column needs no table rebuild, on SQLite either.
    for table in ("endpoints", "endpoint_configs"):
        op.add_column(table, sa.Column("batching", JSON, nullable=True))


def downgrade() -> None:
    for table in ("endpoints", "endpoint_configs"):
        with op.batch_alter_table(table) as batch:  # SQLite drops a column by a rebuild
            batch.drop_column("batching")
