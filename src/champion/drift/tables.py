"""The drift service's table: one reference profile per version."""

from __future__ import annotations

import sqlalchemy as sa

from champion.db.metadata import JSON, UTCDateTime, metadata

__all__ = ["reference_profiles"]

# Written once per version (replaced only on request), read by every drift run.
reference_profiles = sa.Table(
    "reference_profiles",
    metadata,
    sa.Column("model", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("profile", JSON, nullable=False),
    # The profile's columns that hold the model's outputs (the others are its inputs).
    sa.Column("output_columns", JSON, nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
)
