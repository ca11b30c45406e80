"""The event log's tables: predictions, the items they showed, and feedback."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from champion.db.metadata import JSON, UTCDateTime, metadata

__all__ = ["feedback", "prediction_items", "predictions", "recorded", "shadow_predictions"]


def recorded(table: sa.Table) -> list[sa.Column[Any]]:
    """The columns of ``table`` that hold what was served or received, without the
    database's own bookkeeping (``folded``)."""
    return [column for column in table.columns if column.server_default is None]


# On PostgreSQL the three prediction tables are partitioned by UTC day of ``at`` and their
# primary keys end in ``at`` (a partitioned table's unique keys hold its partition key; see
# ``partitions``). Declared here is SQLite's key, which leaves ``at`` out.
predictions = sa.Table(
    "predictions",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("endpoint", sa.String(64), nullable=False),
    sa.Column("config_version", sa.Integer, nullable=False),
    sa.Column("unit", sa.String(256), nullable=False),
    sa.Column("unit_randomised", sa.Boolean, nullable=False),
    sa.Column("arm", sa.String(64), nullable=False),
    sa.Column("bucket", sa.Integer, nullable=True),
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("inputs", JSON, nullable=False),
    sa.Column("outputs", JSON, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    # The assigned version that failed, when the champion answered instead.
    sa.Column("fallback_from", sa.String(80), nullable=True),
    # The chance this unit had of landing in its arm (for inverse-propensity analysis).
    sa.Column("probability", sa.Float, nullable=True),
    # Whether this request is counted in the stored aggregates (see ``rollups``).
    sa.Column("folded", sa.Boolean, nullable=False, server_default=sa.false()),
    # The X-Request-ID the client sent (``request_id`` stays the server's, unique: a client
    # reusing its id must not make a second event a duplicate of the first), and the
    # OpenTelemetry trace the request was served in. Last, so that events spooled before
    # they existed replay with both unset.
    sa.Column("client_request_id", sa.String(128), nullable=True),
    sa.Column("trace_id", sa.String(32), nullable=True),
    # The stage of a pipeline endpoint that made the event (see ``serving.stages``). Last,
    # as above.
    sa.Column("stage", sa.String(32), nullable=True),
    sa.Index(None, "endpoint", "at"),
    # SQLite uses a partial index only for a query term written as its WHERE is: SQLAlchemy
    # writes a boolean test as ``folded = 0`` / ``folded = 1`` there, so the indexes say so.
    sa.Index(
        "ix_predictions_unfolded",
        "at",
        sqlite_where=sa.text("folded = 0"),
        postgresql_where=sa.text("NOT folded"),
    ),
    # What retention may delete, oldest first (see ``retention``).
    sa.Index(
        "ix_predictions_folded",
        "at",
        "request_id",
        sqlite_where=sa.text("folded = 1"),
        postgresql_where=sa.text("folded"),
    ),
)

# What a shadow version answered to the same input, beside the served prediction.
shadow_predictions = sa.Table(
    "shadow_predictions",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("model", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("endpoint", sa.String(64), nullable=False),
    sa.Column("outputs", JSON, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Index(None, "endpoint", "at"),
)

# One row per item a ranking showed: the join key for clicks and the per-item credit.
prediction_items = sa.Table(
    "prediction_items",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("item", sa.String(256), nullable=False),
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    # The request's ``at``: the partition key on PostgreSQL. Last, so that items spooled
    # before it existed replay with it read from their request (see ``writer``).
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Index(None, "request_id", "item"),
)

feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("event_id", sa.String(64), primary_key=True),
    sa.Column("request_id", sa.String(64), nullable=False),
    sa.Column("item", sa.String(256), nullable=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("label", JSON, nullable=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Column("folded", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index(None, "request_id"),
    sa.Index(
        "ix_feedback_unfolded",
        "received_at",
        sqlite_where=sa.text("folded = 0"),
        postgresql_where=sa.text("NOT folded"),
    ),
    sa.Index(
        "ix_feedback_folded",
        "received_at",
        "event_id",
        sqlite_where=sa.text("folded = 1"),
        postgresql_where=sa.text("folded"),
    ),
)
