"""Day partitions of the prediction tables on PostgreSQL: made ahead, dropped whole.

On PostgreSQL ``predictions``, ``prediction_items`` and ``shadow_predictions`` are
partitioned by range of ``at``, one partition per UTC day (``predictions_p20261205`` holds
2026-12-05 00:00 to 24:00 UTC), plus a DEFAULT partition (``predictions_default``) for any
row whose day has no partition, so a write never fails for want of one.

* **Ahead**: every server, at start and then hourly, makes sure the partitions of
  yesterday, today and the next :data:`DAYS_AHEAD` days exist (one server at a time: a
  transaction-level advisory lock). Rows of such a day already waiting in the DEFAULT
  partition move into the new partition as it is made.
* **Dropped**: retention drops a day (its partition in all three tables, DETACH then DROP,
  in one short transaction) once the whole day is older than the cutoff and no row of it is
  unfolded; see :class:`champion.events.retention.Retention`. Everything else, the DEFAULT
  partition's rows included, goes by retention's batched deletes, as on SQLite.

Primary keys end in ``at`` (a partitioned table's unique keys must hold its partition key),
so a row is a duplicate only of a row with the same id *and* time. A replay carries its
event's original ``at``, so replays stay idempotent. ``request_id`` is the server's own
time-ordered id (a client's X-Request-ID is ``client_request_id``, never a key), so two
events never share one; were one ever written twice with different times, both rows would
be kept, where SQLite ignores the second.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from champion.db import write

__all__ = [
    "DAYS_AHEAD",
    "PARTITIONED",
    "count_day",
    "day_end",
    "day_partitions",
    "day_start",
    "drop_day",
    "include_name",
    "make_days",
    "partition_name",
]

PARTITIONED = ("predictions", "prediction_items", "shadow_predictions")
"""The tables partitioned by day on PostgreSQL, the request's table first."""

DAYS_AHEAD = 3
"""Days after today whose partitions exist before any row of theirs arrives."""

_LOCK_KEY = 0x43_48_50_54  # any fixed number: serialises the servers that make partitions
_LOCK_WAIT_SECONDS = 2.0  # a partition change waits no longer for the tables: it tries again later


_PARTITION = re.compile(rf"(?:{'|'.join(PARTITIONED)})_(?:p\d{{8}}|default)")


def include_name(name: str | None, kind: str, parents: Mapping[Any, str | None]) -> bool:
    """Alembic's ``include_name``: the schema leaves out the partitions and their indexes,
    which servers make and drop (the partitioned tables themselves are declared).

    >>> include_name("predictions_p20261205", "table", {}), include_name("predictions", "table", {})
    (False, True)
    """
    table = name if kind == "table" else parents.get("table_name")
    return table is None or _PARTITION.fullmatch(table) is None


def partition_name(table: str, day: date) -> str:
    """``partition_name("predictions", date(2026, 12, 5))`` → ``"predictions_p20261205"``."""
    return f"{table}_p{day:%Y%m%d}"


def day_partitions(conn: sa.Connection, table: str) -> dict[date, str]:
    """The day partitions of ``table``, by day (the DEFAULT partition is not one)."""
    names = conn.execute(
        sa.text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = CAST(:table AS regclass)"
        ),
        {"table": table},
    ).scalars()
    pattern = re.compile(rf"{table}_p(\d{{8}})")
    days = {}
    for name in names:
        found = pattern.fullmatch(name)
        if found:
            days[datetime.strptime(found[1], "%Y%m%d").date()] = name
    return days


def make_days(engine: sa.Engine, today: date, ahead: int = DAYS_AHEAD) -> list[str]:
    """Make the missing partitions of yesterday to ``today + ahead``; returns their names."""
    made = []
    with write(engine, lock_wait=_LOCK_WAIT_SECONDS) as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        for table in PARTITIONED:
            have = day_partitions(conn, table)
            for n in range(-1, ahead + 1):
                day = today + timedelta(days=n)
                if day not in have:
                    made.append(_make_day(conn, table, day))
    return made


def _make_day(conn: sa.Connection, table: str, day: date) -> str:
    name = partition_name(table, day)
    start, end = _bounds(day)
    # A day's partition cannot be added while the DEFAULT partition holds rows of that day,
    # so those move in first, then the table is attached.
    conn.exec_driver_sql(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)")
    conn.exec_driver_sql(
        f"WITH moved AS (DELETE FROM {table}_default WHERE at >= %s AND at < %s RETURNING *) "
        f"INSERT INTO {name} SELECT * FROM moved",
        (start, end),
    )
    conn.exec_driver_sql(
        f"ALTER TABLE {table} ATTACH PARTITION {name} "
        f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    )
    return name


def count_day(conn: sa.Connection, day: date) -> dict[str, int]:
    """Rows in ``day``'s partition of each table (0 where it has none)."""
    counts = {}
    for table in PARTITIONED:
        name = day_partitions(conn, table).get(day)
        counts[table] = (
            0
            if name is None
            else int(conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar_one())
        )
    return counts


def drop_day(engine: sa.Engine, day: date, record: Callable[[sa.Connection], None]) -> bool:
    """Detach and drop ``day``'s partitions and call ``record`` in the same transaction,
    unless one of the day's predictions is unfolded; returns whether they went.

    The check runs after the detach, which locks the tables, so no row can arrive between
    it and the drop. Raises :class:`sqlalchemy.exc.OperationalError` when the tables stay
    locked longer than a moment (the caller tries again later).
    """
    try:
        with write(engine, lock_wait=_LOCK_WAIT_SECONDS) as conn:
            detached = []
            for table in PARTITIONED:
                name = day_partitions(conn, table).get(day)
                if name is not None:
                    conn.exec_driver_sql(f"ALTER TABLE {table} DETACH PARTITION {name}")
                    detached.append(name)
            requests = partition_name("predictions", day)
            if (
                requests in detached
                and conn.exec_driver_sql(
                    f"SELECT EXISTS (SELECT 1 FROM {requests} WHERE NOT folded)"
                ).scalar_one()
            ):
                raise _Unfolded  # rolls the detach back
            for name in detached:
                conn.exec_driver_sql(f"DROP TABLE {name}")
            record(conn)
    except _Unfolded:
        return False
    return True


class _Unfolded(Exception):
    pass


def day_start(day: date) -> datetime:
    """When ``day``'s partitions begin."""
    return _bounds(day)[0]


def day_end(day: date) -> datetime:
    """When ``day``'s partitions end: every row of theirs is older."""
    return _bounds(day)[1]


def _bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), UTC)
    return start, start + timedelta(days=1)
