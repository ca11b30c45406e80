"""The automation service's tables: ingested files, quarantined rows, pipelines and their runs."""

from __future__ import annotations

import sqlalchemy as sa

from champion.db.metadata import JSON, UTCDateTime, metadata

__all__ = [
    "ingested_files",
    "pipeline_alerts",
    "pipeline_claims",
    "pipeline_runs",
    "pipeline_steps",
    "pipelines",
    "quarantined_rows",
]

# One row per (source, file content): the unique key is what makes ingestion exactly-once.
ingested_files = sa.Table(
    "ingested_files",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("columns", JSON, nullable=False),
    # accepted (every row), partial (some rows quarantined), quarantined (the whole file)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("accepted_rows", sa.Integer, nullable=False),
    sa.Column("quarantined_rows", sa.Integer, nullable=False),
    # Where the accepted rows are, relative to the home; None when nothing was accepted.
    sa.Column("dataset", sa.Text, nullable=True),
    sa.Column("ingested_at", UTCDateTime(), nullable=False),
    sa.Column("ingested_by", sa.String(128), nullable=False),
    # What the reference-based checks found: counts quarantined and counts only counted.
    sa.Column("quality", JSON, nullable=True),
    sa.UniqueConstraint("source", "sha256"),
)

# Rows that failed the schema, kept with their raw values and every reason.
quarantined_rows = sa.Table(
    "quarantined_rows",
    metadata,
    sa.Column("file_id", sa.Integer, sa.ForeignKey("ingested_files.id"), primary_key=True),
    sa.Column("row", sa.Integer, primary_key=True),
    sa.Column("values", JSON, nullable=False),
    sa.Column("reasons", JSON, nullable=False),
)

pipelines = sa.Table(
    "pipelines",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("spec", JSON, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("updated_by", sa.String(128), nullable=False),
    # The next scheduled run; the process whose update moves it on creates that run.
    sa.Column("next_run_at", UTCDateTime(), nullable=True),
    # The set of unseen files that last triggered a run, so one set triggers once.
    sa.Column("new_data_token", sa.String(64), nullable=True),
)

pipeline_runs = sa.Table(
    "pipeline_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("pipeline", sa.String(64), sa.ForeignKey("pipelines.name"), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("trigger", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("scheduled_for", UTCDateTime(), nullable=True),
    sa.Column("started_at", UTCDateTime(), nullable=True),
    sa.Column("finished_at", UTCDateTime(), nullable=True),
    sa.Column("claimed_by", sa.String(128), nullable=True),
    sa.Column("lease_until", UTCDateTime(), nullable=True),
    sa.Column("fingerprint", sa.String(64), nullable=True),
    sa.Column("version", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("summary", JSON, nullable=False),
    sa.Index(None, "pipeline", "status"),
)

pipeline_steps = sa.Table(
    "pipeline_steps",
    metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("pipeline_runs.id"), primary_key=True),
    sa.Column("step", sa.String(16), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime(), nullable=True),
    sa.Column("seconds", sa.Float, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("outputs", JSON, nullable=False),
)

# Which run answers for one (pipeline, data and spec fingerprint): the guard against training
# and registering the same thing twice, even when two runs start at once.
pipeline_claims = sa.Table(
    "pipeline_claims",
    metadata,
    sa.Column("pipeline", sa.String(64), primary_key=True),
    sa.Column("fingerprint", sa.String(64), primary_key=True),
    sa.Column("run_id", sa.Integer, nullable=False),
    # registered, rejected (the gate said no), proposed; None while the run works on it
    sa.Column("outcome", sa.String(16), nullable=True),
    sa.Column("version", sa.Integer, nullable=True),
)

# Which run answered an alert, per pipeline: one open alert triggers one run, never one per
# evaluation; the primary key keeps two schedulers from both answering it.
pipeline_alerts = sa.Table(
    "pipeline_alerts",
    metadata,
    sa.Column("pipeline", sa.String(64), sa.ForeignKey("pipelines.name"), primary_key=True),
    sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id"), primary_key=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("pipeline_runs.id"), nullable=False),
    sa.Index(None, "run_id"),
)
