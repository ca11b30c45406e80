"""``/stats`` sums and latency histograms per ten seconds, kept by the fold pass for a day: a
chart's windows narrower than a segment read them instead of the cut segment's raw rows.

Nothing is filled here (the rollups keep no time that fine): the ``pending_rebuilds`` row
``slot_rollups`` says the tables hold every folded request only from the slot after the
latest one folded before the upgrade.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)
_SUMS = (
    "requests", "failed", "credited_impressions", "credited_clicked", "credited_clicks",
    "credited_purchases", "credited_labels", "credited_value", "credited_with_feedback",
)  # fmt: skip


def _key() -> list[sa.Column[object]]:
    return [
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("slot", _TIME, nullable=False),
        sa.Column("arm", sa.String(64), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    ]


def upgrade() -> None:
    names = ("endpoint", "slot", "arm", "model", "version")
    op.create_table(
        "slot_rollups",
        *_key(),
        *(
            sa.Column(n, sa.Float if n == "credited_value" else sa.BigInteger, nullable=False)
            for n in _SUMS
        ),
        sa.PrimaryKeyConstraint(*names, name="pk_slot_rollups"),
    )
    op.create_table(
        "slot_sketches",
        *_key(),
        sa.Column("bucket", sa.Integer, nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(*names, "bucket", name="pk_slot_sketches"),
    )
    conn = op.get_bind()
    p = sa.table("predictions", sa.column("at", _TIME), sa.column("folded", sa.Boolean))
    latest = conn.execute(sa.select(sa.func.max(p.c.at)).where(p.c.folded)).scalar_one()
    if latest is None:
        return  # nothing folded yet: every slot is kept from the start
    if isinstance(latest, str):  # SQLite's text
        latest = datetime.fromisoformat(latest)
    at = latest.replace(tzinfo=UTC) if latest.tzinfo is None else latest.astimezone(UTC)
    since = at.replace(second=at.second - at.second % 10, microsecond=0) + timedelta(seconds=10)
    if conn.dialect.name == "sqlite":
        since = since.replace(tzinfo=None)
    rebuilds = sa.table("pending_rebuilds", sa.column("name"), sa.column("since", _TIME))
    conn.execute(rebuilds.insert().values(name="slot_rollups", since=since))


def downgrade() -> None:
    conn = op.get_bind()
    conn.execute(sa.text("DELETE FROM pending_rebuilds WHERE name = 'slot_rollups'"))
    op.drop_table("slot_sketches")
    op.drop_table("slot_rollups")
