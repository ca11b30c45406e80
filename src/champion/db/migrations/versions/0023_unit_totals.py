"""Per-unit totals and per-arm moments of each ramp step, kept by the fold pass, and
/stats' per-version totals: reports read O(arms) rows instead of every unit's rollups.

A database that already holds rollups gets the tables empty, and reports keep reading the
rollups until ``champion admin rebuild-aggregates --from-rollups`` has filled them (a new
database starts with them built).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_TOTALS = (
    "requests", "failed", "clicked", "purchased", "value", "with_feedback", "shown",
    "clicked_items", "latency", "delay_sum", "delay_count", "rank_requests",
)  # fmt: skip
_PRODUCTS = (
    ("clicked_items", "clicked_items"), ("shown", "shown"), ("clicked_items", "shown"),
    ("clicked", "clicked"), ("requests", "requests"), ("clicked", "requests"),
    ("purchased", "purchased"), ("purchased", "requests"), ("value", "value"), ("one", "one"),
    ("value", "one"), ("failed", "failed"), ("failed", "requests"), ("latency", "latency"),
    ("latency", "requests"), ("with_feedback", "with_feedback"), ("with_feedback", "requests"),
)  # fmt: skip
_VERSION_SUMS = (
    "requests", "failed", "credited_impressions", "credited_clicked", "credited_clicks",
    "credited_purchases", "credited_labels", "credited_value", "credited_with_feedback",
)  # fmt: skip


def _time(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _cell() -> list[sa.Column[object]]:
    return [
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("config_version", sa.Integer, nullable=False),
        sa.Column("arm", sa.String(64), nullable=False),
        _time("since"),
    ]


def _floats(names: list[str]) -> list[sa.Column[object]]:
    return [sa.Column(name, sa.Float, nullable=False) for name in names]


def _version() -> list[sa.Column[object]]:
    return [
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("arm", sa.String(64), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "unit_totals",
        *_cell(),
        sa.Column("unit", sa.String(256), nullable=False),
        *_floats(list(_TOTALS)),
        _time("last_segment"),
        sa.PrimaryKeyConstraint(
            "endpoint", "config_version", "arm", "since", "unit", name="pk_unit_totals"
        ),
    )
    op.create_table(
        "arm_moments",
        *_cell(),
        _time("segment_start"),
        *_floats(["units", *_TOTALS, *(f"p_{a}_{b}" for a, b in _PRODUCTS)]),
        sa.PrimaryKeyConstraint(
            "endpoint", "config_version", "arm", "since", "segment_start", name="pk_arm_moments"
        ),
    )
    key = ("endpoint", "model", "version", "arm")
    op.create_table(
        "version_totals",
        *_version(),
        *_floats([*_VERSION_SUMS, "units"]),
        sa.PrimaryKeyConstraint(*key, name="pk_version_totals"),
    )
    op.create_table(
        "version_units",
        *_version(),
        sa.Column("unit", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint(*key, "unit", name="pk_version_units"),
    )
    pending = op.create_table(
        "pending_rebuilds",
        sa.Column("name", sa.String(32), nullable=False),
        _time("since"),
        sa.PrimaryKeyConstraint("name", name="pk_pending_rebuilds"),
    )
    # Requests folded already are in no total yet; with nothing folded, the fold pass builds
    # the tables as it goes.
    folded = op.get_bind().execute(sa.text("SELECT count(*) FROM rollups")).scalar_one()
    if folded:
        op.bulk_insert(pending, [{"name": "unit_totals", "since": datetime.now(UTC)}])


def downgrade() -> None:
    for table in ("pending_rebuilds", "version_units", "version_totals", "arm_moments"):
        op.drop_table(table)
    op.drop_table("unit_totals")
