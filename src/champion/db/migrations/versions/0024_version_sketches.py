"""/stats' all-time latency histogram per version, kept by the fold pass: it read every
segment's histogram rows, a row per bucket and segment (hour segments make many). Filled
here from ``rollup_sketches``, so a database with rollups answers at once.

And ``version_units`` by unit: /stats looks up the units of the requests not folded yet,
which its primary key (versions first) could only find by reading every unit.

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

    op.create_index("ix_version_units_endpoint_unit", "version_units", ["endpoint", "unit"])


def downgrade() -> None:
    op.drop_index("ix_version_units_endpoint_unit", table_name="version_units")
    op.drop_table("version_sketches")
