"""/stats' all-time latency histogram per version, kept by the fold pass: it read every
segment's histogram rows, a row per bucket and segment (hour segments make many).

Filled here from ``rollup_sketches``, so a database with rollups answers at once.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "version_sketches",
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("arm", sa.String(64), nullable=False),
        sa.Column("bucket", sa.Integer, nullable=False),
        sa.Column("count", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint(
            "endpoint", "model", "version", "arm", "bucket", name="pk_version_sketches"
        ),
    )
    op.execute(
        "INSERT INTO version_sketches (endpoint, model, version, arm, bucket, count) "
        "SELECT endpoint, model, version, arm, bucket, CAST(SUM(count) AS FLOAT) "
        "FROM rollup_sketches WHERE measure = 'latency' "
        "GROUP BY endpoint, model, version, arm, bucket"
    )


def downgrade() -> None:
    op.drop_table("version_sketches")
