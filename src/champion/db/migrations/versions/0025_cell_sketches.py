"""Per-cell latency and feedback-delay histograms, kept by the fold pass: a report's
percentiles summed every segment's histogram rows, a row per bucket and segment (hour
segments make many). Filled here from ``rollup_sketches``, so an upgraded database answers
at once: a segment's cell is its configuration, arm and the last experiment start or end at
or before it.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06
"""

from __future__ import annotations

import bisect
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TIME = sa.DateTime(timezone=True)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def upgrade() -> None:
    table = op.create_table(
        "cell_sketches",
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("config_version", sa.Integer, nullable=False),
        sa.Column("arm", sa.String(64), nullable=False),
        sa.Column("since", _TIME, nullable=False),
        sa.Column("measure", sa.String(16), nullable=False),
        sa.Column("bucket", sa.Integer, nullable=False),
        sa.Column("count", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint(
            "endpoint", "config_version", "arm", "since", "measure", "bucket",
            name="pk_cell_sketches",
        ),
    )  # fmt: skip
    conn = op.get_bind()
    experiments = sa.table(
        "experiments",
        sa.column("endpoint", sa.String()),
        sa.column("started_at", _TIME),
        sa.column("finished_at", _TIME),
    )
    bounds: dict[str, list[datetime]] = {}
    for endpoint, *times in conn.execute(sa.select(experiments)):
        bounds.setdefault(endpoint, []).extend(_utc(t) for t in times if t is not None)
    for times in bounds.values():
        times.sort()
    k = sa.table(
        "rollup_sketches",
        *(sa.column(name) for name in ("endpoint", "config_version", "arm", "measure")),
        sa.column("bucket"),
        sa.column("segment_start", _TIME),
        sa.column("count"),
    )
    group = (k.c.endpoint, k.c.config_version, k.c.arm, k.c.measure, k.c.bucket, k.c.segment_start)
    counts: dict[tuple[str, int, str, datetime, str, int], float] = {}
    for endpoint, config, arm, measure, bucket, segment, count in conn.execute(
        sa.select(*group, sa.func.sum(k.c.count)).group_by(*group)
    ):
        times = bounds.get(endpoint, [])
        index = bisect.bisect_right(times, _utc(segment)) - 1
        since = times[index] if index >= 0 else _EPOCH
        # SQLite stores naive UTC times (champion's column type drops the zone there).
        if conn.dialect.name == "sqlite":
            since = since.replace(tzinfo=None)
        cell = (endpoint, int(config), arm, since, measure, int(bucket))
        counts[cell] = counts.get(cell, 0.0) + float(count)
    names = ("endpoint", "config_version", "arm", "since", "measure", "bucket", "count")
    rows = [dict(zip(names, (*cell, count), strict=True)) for cell, count in counts.items()]
    for start in range(0, len(rows), 1_000):
        op.bulk_insert(table, rows[start : start + 1_000])


def downgrade() -> None:
    op.drop_table("cell_sketches")
