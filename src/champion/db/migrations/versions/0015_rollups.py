"""Rollups: folded events as per-unit sums, percentile histograms and slim copies of labels
and clicked positions, so analysis reads O(units) and outlives the raw rows.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


_REQUEST_FACTS = (
    "requests", "rank_requests", "failed", "latency", "clicked", "purchased", "value",
    "with_feedback", "shown", "clicked_items", "delay_sum", "delay_count",
    "propensity_requests", "inverse_p", "inverse_p2",
    "credited_impressions", "credited_clicked", "credited_clicks", "credited_purchases",
    "credited_labels", "credited_value", "credited_with_feedback",
)  # fmt: skip
_FLOATS = {"latency", "value", "delay_sum", "inverse_p", "inverse_p2", "credited_value"}


def _sums(names: tuple[str, ...], floats: set[str]) -> list[sa.Column[Any]]:
    return [
        sa.Column(name, sa.Float if name in floats else sa.BigInteger, nullable=False)
        for name in names
    ]


def _key(table: str, *extra: sa.Column[Any]) -> list[Any]:
    return [
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("config_version", sa.Integer, nullable=False),
        *extra,
        sa.Column("segment_start", _when(), nullable=False),
    ]


def _primary(table: str, *columns: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint(
        "endpoint", "config_version", *columns, "segment_start", name=f"pk_{table}"
    )


def upgrade() -> None:
    keyed = ("arm", "model", "version", "unit")
    op.create_table(
        "rollups",
        *_key(
            "rollups",
            sa.Column("arm", sa.String(64), nullable=False),
            sa.Column("model", sa.String(64), nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("unit", sa.String(256), nullable=False),
        ),
        *_sums(_REQUEST_FACTS, _FLOATS),
        _primary("rollups", *keyed),
    )
    op.create_index("ix_rollups_endpoint_segment_start", "rollups", ["endpoint", "segment_start"])
    op.create_table(
        "reward_rollups",
        *_key(
            "reward_rollups",
            sa.Column("arm", sa.String(64), nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
        ),
        *_sums(("requests", "weighted", "weighted_sq"), {"weighted", "weighted_sq"}),
        _primary("reward_rollups", "arm", "kind"),
    )
    op.create_table(
        "rollup_sketches",
        *_key(
            "rollup_sketches",
            sa.Column("arm", sa.String(64), nullable=False),
            sa.Column("model", sa.String(64), nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("measure", sa.String(16), nullable=False),
            sa.Column("bucket", sa.Integer, nullable=False),
        ),
        sa.Column("count", sa.BigInteger, nullable=False),
        _primary("rollup_sketches", "arm", "model", "version", "measure", "bucket"),
    )
    op.create_table(
        "interleaving_rollups",
        *_key(
            "interleaving_rollups",
            sa.Column("champion", sa.String(80), nullable=False),
            sa.Column("challenger", sa.String(80), nullable=False),
            sa.Column("unit", sa.String(256), nullable=False),
        ),
        *_sums(
            ("impressions", "wins", "losses", "ties", "champion_clicks", "challenger_clicks"),
            set(),
        ),
        _primary("interleaving_rollups", "champion", "challenger", "unit"),
    )
    op.create_table(
        "labelled_predictions",
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("config_version", sa.Integer, nullable=False),
        sa.Column("arm", sa.String(64), nullable=False),
        sa.Column("unit", sa.String(256), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("at", _when(), nullable=False),
        sa.Column("outputs", JSON, nullable=False),
        sa.Column("label", JSON, nullable=True),
        sa.PrimaryKeyConstraint("event_id", name="pk_labelled_predictions"),
    )
    op.create_index(
        "ix_labelled_predictions_endpoint_at", "labelled_predictions", ["endpoint", "at"]
    )
    op.create_table(
        "ranked_clicks",
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("config_version", sa.Integer, nullable=False),
        sa.Column("arm", sa.String(64), nullable=False),
        sa.Column("unit", sa.String(256), nullable=False),
        sa.Column("at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "position", name="pk_ranked_clicks"),
    )
    op.create_index("ix_ranked_clicks_endpoint_at", "ranked_clicks", ["endpoint", "at"])
    # Rows logged before this release are folded by the server's first passes (or by
    # `champion admin rebuild-aggregates`); until then reports read them raw.


def downgrade() -> None:
    for table in (
        "ranked_clicks",
        "labelled_predictions",
        "interleaving_rollups",
        "rollup_sketches",
        "reward_rollups",
        "rollups",
    ):
        op.drop_table(table)
