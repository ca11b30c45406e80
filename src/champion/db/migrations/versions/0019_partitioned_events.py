"""On PostgreSQL the prediction tables are partitioned by UTC day of ``at``, so retention
drops a whole day at once; a shown item carries its request's ``at`` (its partition key).

PostgreSQL: each of ``predictions``, ``prediction_items`` and ``shadow_predictions`` is
rebuilt as a table partitioned by range of ``at`` whose primary key ends in ``at``, with a
partition per day that has rows, today and the next days, and a DEFAULT partition; rows
are copied in batches (keyset over the old primary key) and every index is recreated under
its old name. SQLite: only ``prediction_items`` gains ``at`` (the table is rebuilt once).
Shown items whose request is gone are not copied: nothing can reach them.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# Table -> primary key without ``at``. Predictions first: items take their ``at`` from it.
_KEYS = {
    "predictions": ("request_id",),
    "prediction_items": ("request_id", "position"),
    "shadow_predictions": ("request_id", "model", "version"),
}
_BATCH = 20_000
_DAYS_AHEAD = 3  # as champion.events.partitions.DAYS_AHEAD at the time of writing


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        with op.batch_alter_table("prediction_items") as batch:
            batch.add_column(sa.Column("at", sa.DateTime(timezone=True), nullable=True))
        op.execute(
            "UPDATE prediction_items SET at = (SELECT p.at FROM predictions p "
            "WHERE p.request_id = prediction_items.request_id)"
        )
        op.execute("DELETE FROM prediction_items WHERE at IS NULL")
        with op.batch_alter_table("prediction_items", recreate="always") as batch:
            batch.alter_column("at", existing_type=sa.DateTime(timezone=True), nullable=False)
        return
    days = {
        row[0]
        for table in ("predictions", "shadow_predictions")
        for row in conn.execute(
            sa.text(f"SELECT DISTINCT (at AT TIME ZONE 'UTC')::date FROM {table}")
        )
    }
    today = datetime.now(UTC).date()
    days |= {today + timedelta(days=n) for n in range(-1, _DAYS_AHEAD + 1)}
    for table in _KEYS:
        _rebuild(conn, table, partitioned=True, days=sorted(days))


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        with op.batch_alter_table("prediction_items", recreate="always") as batch:
            batch.drop_column("at")
        return
    for table in _KEYS:
        _rebuild(conn, table, partitioned=False, days=[])


def _rebuild(conn: sa.Connection, table: str, *, partitioned: bool, days: list[date]) -> None:
    """Replace ``table`` by a (non-)partitioned copy with the same columns, keys and indexes."""
    key = _KEYS[table]
    indexes = conn.execute(
        sa.text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = :table AND indexname <> :pk"
        ),
        {"table": table, "pk": f"pk_{table}"},
    ).all()
    op.execute(f"ALTER TABLE {table} RENAME TO {table}_old")
    op.execute(f"ALTER TABLE {table}_old RENAME CONSTRAINT pk_{table} TO pk_{table}_old")
    for name, _ in indexes:
        op.execute(f"ALTER INDEX {name} RENAME TO {name}_old")
    items = table == "prediction_items"
    if partitioned:
        extra = ", at timestamptz NOT NULL" if items else ""
        op.execute(
            f"CREATE TABLE {table} (LIKE {table}_old INCLUDING DEFAULTS{extra}) "
            "PARTITION BY RANGE (at)"
        )
        primary = (*key, "at")
    else:
        op.execute(f"CREATE TABLE {table} (LIKE {table}_old INCLUDING DEFAULTS)")
        if items:
            op.execute(f"ALTER TABLE {table} DROP COLUMN at")
        primary = key
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({', '.join(primary)})")
    for _, definition in indexes:
        # Read before the renames, so it names the new table; a partitioned one's reads
        # "ON ONLY", which would leave its partitions without the index.
        op.execute(definition.replace(" ON ONLY ", " ON ", 1))
    if partitioned:
        op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
        for day in days:
            start, end = day.isoformat(), (day + timedelta(days=1)).isoformat()
            op.execute(
                f"CREATE TABLE {table}_p{day:%Y%m%d} PARTITION OF {table} "
                f"FOR VALUES FROM ('{start} 00:00:00+00') TO ('{end} 00:00:00+00')"
            )
    _copy(conn, table, key, with_at=partitioned and items)
    op.execute(f"DROP TABLE {table}_old")


def _copy(conn: sa.Connection, table: str, key: tuple[str, ...], *, with_at: bool) -> None:
    """Copy ``{table}_old`` into ``table`` in batches of ``_BATCH`` rows in key order, each
    batch found through the old primary key (no batch scans the table)."""
    columns = [
        row[0]
        for row in conn.execute(
            sa.text(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                "current_schema() AND table_name = :table ORDER BY ordinal_position"
            ),
            {"table": table},
        )
    ]
    # Items take their request's time; those whose request is gone are left behind.
    source = ", ".join("p.at" if with_at and c == "at" else f"o.{c}" for c in columns)
    join = " JOIN predictions p ON p.request_id = o.request_id" if with_at else ""
    names = ", ".join(columns)
    keys = ", ".join(key)
    backwards = ", ".join(f"{k} DESC" for k in key)
    last: tuple[object, ...] | None = None
    while True:
        after = ""
        if last is not None:
            bound = ", ".join(f":k{i}" for i in range(len(key)))
            after = f"WHERE ({', '.join(f'o.{k}' for k in key)}) > ({bound})"
        found = conn.execute(
            sa.text(
                f"WITH batch AS (SELECT {source} FROM {table}_old o{join} {after} "
                f"ORDER BY {', '.join(f'o.{k}' for k in key)} LIMIT {_BATCH}), "
                f"stored AS (INSERT INTO {table} ({names}) SELECT {names} FROM batch) "
                f"SELECT {keys} FROM batch ORDER BY {backwards} LIMIT 1"
            ),
            {} if last is None else {f"k{i}": value for i, value in enumerate(last)},
        ).first()
        if found is None:
            return
        last = tuple(found)
