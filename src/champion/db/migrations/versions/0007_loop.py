"""The loop: quality findings of ingested files, and the alerts that triggered pipeline runs.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("ingested_files", sa.Column("quality", JSON, nullable=True))
    op.create_table(
        "pipeline_alerts",
        sa.Column("pipeline", sa.String(64), nullable=False),
        sa.Column("alert_id", sa.Integer, nullable=False),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(
            ["pipeline"], ["pipelines.name"], name="fk_pipeline_alerts_pipeline_pipelines"
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name="fk_pipeline_alerts_alert_id_alerts"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["pipeline_runs.id"], name="fk_pipeline_alerts_run_id_pipeline_runs"
        ),
        sa.PrimaryKeyConstraint("pipeline", "alert_id", name="pk_pipeline_alerts"),
    )
    op.create_index("ix_pipeline_alerts_run_id", "pipeline_alerts", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_pipeline_alerts_run_id", table_name="pipeline_alerts")
    op.drop_table("pipeline_alerts")
    with op.batch_alter_table("ingested_files") as batch:
        batch.drop_column("quality")
