"""The drift service's tables: reference profiles and labels, daily drift windows."""

from __future__ import annotations

import sqlalchemy as sa

from champion.db.metadata import JSON, UTCDateTime, metadata

__all__ = ["drift_day_counts", "drift_days", "reference_labels", "reference_profiles"]

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

# One row per endpoint, UTC day and version that answered predictions that day: what the
# day's served instances left behind against the version's reference profile (``days``).
# Written once the day is over, replaced when the day is summarised again; it outlives the
# raw predictions, so drift history does too.
drift_days = sa.Table(
    "drift_days",
    metadata,
    sa.Column("endpoint", sa.String(64), primary_key=True),
    sa.Column("day", UTCDateTime(), primary_key=True),
    sa.Column("model", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    # Prediction events and the instances they held.
    sa.Column("predictions", sa.BigInteger, nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    # The reference profile the windows were counted against (its created_at); null, with a
    # null state, when the version had no profile then or its predictions could not be read.
    sa.Column("reference_at", UTCDateTime(), nullable=True),
    sa.Column("state", JSON, nullable=True),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("summarised_at", UTCDateTime(), nullable=False),
)

# One row per endpoint and UTC day summarised into ``drift_days``: the prediction events of
# any kind the day held then (counted on the (endpoint, at) index alone), so a pass finds
# days that received rows since, or lost some, without reading them.
drift_day_counts = sa.Table(
    "drift_day_counts",
    metadata,
    sa.Column("endpoint", sa.String(64), primary_key=True),
    sa.Column("day", UTCDateTime(), primary_key=True),
    sa.Column("events", sa.BigInteger, nullable=False),
    sa.Column("summarised_at", UTCDateTime(), nullable=False),
)

# At most one per version, beside its reference profile: the calibration of its scores
# fitted on the reference's labelled rows, read by every performance estimate (``labelled``).
reference_labels = sa.Table(
    "reference_labels",
    metadata,
    sa.Column("model", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    # The column of the reference data holding the true label, and the class called positive.
    sa.Column("label", sa.String(128), nullable=False),
    sa.Column("positive", sa.String(128), nullable=False),
    sa.Column("calibration", JSON, nullable=False),
    # The metrics the version reached on those rows (accuracy, auc, f1), for comparison.
    sa.Column("metrics", JSON, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)
