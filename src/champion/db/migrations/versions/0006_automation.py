"""Automation: ingested files, quarantined rows, pipelines, runs, steps and claims.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ingested_files",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("columns", JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("accepted_rows", sa.Integer, nullable=False),
        sa.Column("quarantined_rows", sa.Integer, nullable=False),
        sa.Column("dataset", sa.Text, nullable=True),
        sa.Column("ingested_at", _when(), nullable=False),
        sa.Column("ingested_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ingested_files"),
        sa.UniqueConstraint("source", "sha256", name="uq_ingested_files_source_sha256"),
    )
    op.create_table(
        "quarantined_rows",
        sa.Column("file_id", sa.Integer, nullable=False),
        sa.Column("row", sa.Integer, nullable=False),
        sa.Column("values", JSON, nullable=False),
        sa.Column("reasons", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"], ["ingested_files.id"], name="fk_quarantined_rows_file_id_ingested_files"
        ),
        sa.PrimaryKeyConstraint("file_id", "row", name="pk_quarantined_rows"),
    )
    op.create_table(
        "pipelines",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.Column("next_run_at", _when(), nullable=True),
        sa.Column("new_data_token", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_pipelines"),
    )
    op.create_table(
        "pipeline_runs",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("pipeline", sa.String(64), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("scheduled_for", _when(), nullable=True),
        sa.Column("started_at", _when(), nullable=True),
        sa.Column("finished_at", _when(), nullable=True),
        sa.Column("claimed_by", sa.String(128), nullable=True),
        sa.Column("lease_until", _when(), nullable=True),
        sa.Column("fingerprint", sa.String(64), nullable=True),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("summary", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["pipeline"], ["pipelines.name"], name="fk_pipeline_runs_pipeline_pipelines"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_pipeline_runs"),
    )
    op.create_index("ix_pipeline_runs_pipeline_status", "pipeline_runs", ["pipeline", "status"])
    op.create_table(
        "pipeline_steps",
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", _when(), nullable=False),
        sa.Column("finished_at", _when(), nullable=True),
        sa.Column("seconds", sa.Float, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("outputs", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["pipeline_runs.id"], name="fk_pipeline_steps_run_id_pipeline_runs"
        ),
        sa.PrimaryKeyConstraint("run_id", "step", name="pk_pipeline_steps"),
    )
    op.create_table(
        "pipeline_claims",
        sa.Column("pipeline", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("version", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("pipeline", "fingerprint", name="pk_pipeline_claims"),
    )


def downgrade() -> None:
    op.drop_table("pipeline_claims")
    op.drop_table("pipeline_steps")
    op.drop_index("ix_pipeline_runs_pipeline_status", table_name="pipeline_runs")
    op.drop_table("pipeline_runs")
    op.drop_table("pipelines")
    op.drop_table("quarantined_rows")
    op.drop_table("ingested_files")
