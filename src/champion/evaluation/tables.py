"""The evaluation service's table: experiments and the state the rollout controller keeps."""

from __future__ import annotations

import sqlalchemy as sa

from champion.db.metadata import JSON, UTCDateTime, metadata

__all__ = ["experiments"]

# One row per experiment; an endpoint's latest row is its current (or last) experiment.
experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("endpoint", sa.String(64), nullable=False),
    sa.Column("design", JSON, nullable=False),
    # running, promoted or rolled_back
    sa.Column("status", sa.String(16), nullable=False),
    # The endpoint configuration the experiment started with; its data comes from there on.
    sa.Column("since_config", sa.Integer, nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("step_started_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime(), nullable=True),
    # The action waiting for a person's approval (automation: approve).
    sa.Column("pending", JSON, nullable=True),
    # What the experiment compared and what its last action did (for instant rollback).
    sa.Column("outcome", JSON, nullable=True),
    sa.Column("last_decision", JSON, nullable=True),
    # When a fixed-horizon goal first had min_sample units per arm, and its one evaluation,
    # horizon_wait_seconds later (so late feedback counts); never re-tested.
    sa.Column("horizon_reached_at", UTCDateTime(), nullable=True),
    sa.Column("horizon", JSON, nullable=True),
    # Bumped by every state change: two writers cannot both act on the same state.
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("updated_by", sa.String(128), nullable=False),
    sa.Index(None, "endpoint"),
)
