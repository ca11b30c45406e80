"""The alert service's tables: rules, and the history of alerts they raised."""

from __future__ import annotations

import sqlalchemy as sa

from champion.db.metadata import JSON, UTCDateTime, metadata

__all__ = ["alert_rules", "alerts"]

alert_rules = sa.Table(
    "alert_rules",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("endpoint", sa.String(64), nullable=False),
    sa.Column("metric", sa.String(64), nullable=False),
    sa.Column("operator", sa.String(8), nullable=False),
    sa.Column("threshold", sa.Float, nullable=False),
    sa.Column("window_seconds", sa.Float, nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("cooldown_seconds", sa.Float, nullable=False),
    sa.Column("sinks", JSON, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("updated_by", sa.String(128), nullable=False),
)

# One row per firing: open until the metric is back on the right side of the threshold.
alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("rule", sa.String(64), nullable=False),
    sa.Column("endpoint", sa.String(64), nullable=False),
    sa.Column("metric", sa.String(64), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("threshold", sa.Float, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("opened_at", UTCDateTime(), nullable=False),
    sa.Column("last_value", sa.Float, nullable=False),
    sa.Column("last_evaluated_at", UTCDateTime(), nullable=False),
    sa.Column("resolved_at", UTCDateTime(), nullable=True),
    # Per sink: "sent" or the error of its last try, for each notification.
    sa.Column("deliveries", JSON, nullable=False),
    sa.Index(None, "rule", "state"),
)
