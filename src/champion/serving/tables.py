"""The serving layer's tables: endpoints and the history of their configurations."""

from __future__ import annotations

import sqlalchemy as sa

from champion.db.metadata import JSON, UTCDateTime, metadata

__all__ = ["endpoint_configs", "endpoints"]

endpoints = sa.Table(
    "endpoints",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("config_version", sa.Integer, nullable=False),
    sa.Column("policy", sa.String(32), nullable=False),
    sa.Column("params", JSON, nullable=False),
    sa.Column("salt", sa.String(64), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("updated_by", sa.String(128), nullable=False),
    # Adaptive batching ({"max_batch_size", "max_batch_wait_ms"}); NULL: off.
    sa.Column("batching", JSON, nullable=True),
)

# Every configuration an endpoint ever had; rows are never updated.
endpoint_configs = sa.Table(
    "endpoint_configs",
    metadata,
    sa.Column("endpoint", sa.String(64), primary_key=True),
    sa.Column("config_version", sa.Integer, primary_key=True),
    sa.Column("policy", sa.String(32), nullable=False),
    sa.Column("params", JSON, nullable=False),
    sa.Column("salt", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("batching", JSON, nullable=True),
)
