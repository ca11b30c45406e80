"""``analysis_scale``'s generated traffic: as raw rows, or as the aggregates folding it adds.

Folding 10^8 logged requests through the fold pass takes hours (each request's facts are
computed in Python) and storing them raw takes about 80 GB. The generated traffic is simple
enough to aggregate in the database instead: every request is a ``predict`` of version 1
(arm ``champion``) or 2 (``challenger``) by unit ``u<n mod units>``, with latency
``1 + (n mod 97) / 4`` ms, and one request in ten gets one feedback event five seconds later
(a purchase worth 3.5 on one in fifty, a click otherwise). :func:`write_aggregates` groups
that stream, per day, into exactly the rows :func:`champion.events.fold` would add to
``rollups``, ``reward_rollups``, ``rollup_sketches`` and the slot tables (slots from the
last day on, as the server's fold loop keeps them), then derives the kept totals with
:func:`champion.events.totals_rebuild.rebuild_totals` (what ``champion admin
rebuild-aggregates --from-rollups`` runs; PostgreSQL only: the stream is
``generate_series``). :func:`load_raw` writes the same traffic as raw rows, for the fold
pass; :func:`check_bulk` compares every table the two paths leave (``analysis_scale.py
--check-bulk``, and ``tests/events/test_bulk_aggregates.py`` on every run of the suite).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from champion.db import read, write
from champion.events import fold, sketch
from champion.events.slots import KEPT_FOR, SLOT, prune, slot_floor
from champion.events.totals_rebuild import rebuild_totals

__all__ = [
    "ENDPOINT",
    "START",
    "Traffic",
    "check_bulk",
    "empty",
    "load_raw",
    "stored_rows",
    "write_aggregates",
]

ENDPOINT = "bench"
START = datetime(2026, 5, 4, tzinfo=UTC)
_LATENCIES = 97
_DELAY = 5.0


@dataclass(frozen=True)
class Traffic:
    """``events`` requests from ``start``, request ``n`` at ``n * step`` after it."""

    events: int
    units: int
    step: timedelta = timedelta(seconds=1)
    start: datetime = START

    @property
    def end(self) -> datetime:
        return self.start + self.events * self.step

    def first_at_or_after(self, at: datetime) -> int:
        """The first request at or after ``at``."""
        if at <= self.start:
            return 0
        return min(self.events, -((self.start - at) // self.step))

    def columns(self) -> str:
        """The generated stream's columns over request numbers ``n``: unit, odd (0 for the
        champion's units), latency index, time (microseconds since ``start``), whether it
        got feedback and whether that was a purchase."""
        micros = self.step // timedelta(microseconds=1)
        return (
            f"n % {self.units} AS u, (n % {self.units}) % 2 AS odd, n % {_LATENCIES} AS k, "
            f"CAST(n AS BIGINT) * {micros} AS t, n % 10 = 0 AS fed, n % 50 = 0 AS bought"
        )

    def at_sql(self, micros: str) -> str:
        return f"(TIMESTAMPTZ '{self.start.isoformat()}' + {micros} * INTERVAL '1 microsecond')"


def load_raw(engine: sa.Engine, traffic: Traffic, first: int, count: int) -> None:
    """Requests ``first .. first + count - 1`` of ``traffic`` and their feedback, as the
    writer stores them (on SQLite ``step`` must be whole milliseconds)."""
    postgres = engine.dialect.name == "postgresql"
    if postgres:
        series = f"SELECT n FROM generate_series({first}, {first + count - 1}) AS n"
        at = traffic.at_sql("t")
        later = f"{at} + INTERVAL '{_DELAY:g} seconds'"
        empty_object, empty_list = "'{}'::jsonb", "'[]'::jsonb"
    else:
        if traffic.step % timedelta(milliseconds=1):
            raise ValueError("on SQLite the traffic's step must be whole milliseconds")
        series = (
            f"WITH RECURSIVE s(n) AS (SELECT {first} UNION ALL SELECT n + 1 FROM s "
            f"WHERE n < {first + count - 1}) SELECT n FROM s"
        )
        base = traffic.start.strftime("%Y-%m-%d %H:%M:%S")

        def shifted(extra: float) -> str:
            return (
                f"strftime('%Y-%m-%d %H:%M:%f', '{base}', "
                f"printf('+%.3f seconds', t / 1000000.0 + {extra:g})) || '000'"
            )

        at, later = shifted(0), shifted(_DELAY)
        empty_object, empty_list = "'{}'", "'[]'"
    arm = "CASE WHEN odd = 0 THEN 'champion' ELSE 'challenger' END"
    stream = f"SELECT n, {traffic.columns()} FROM ({series}) AS numbers"

    def escape(sql: str) -> str:
        # psycopg reads % as a placeholder; SQLite's driver does not.
        return sql.replace("%", "%%") if postgres else sql

    with write(engine) as conn:
        conn.exec_driver_sql(
            escape(
                "INSERT INTO predictions (request_id, endpoint, config_version, unit, "
                "unit_randomised, arm, bucket, model, version, kind, inputs, outputs, "
                "latency_ms, at, fallback_from, probability) "
                f"SELECT 'r' || n, '{ENDPOINT}', 1, 'u' || u, true, {arm}, 0, 'm', odd + 1, "
                f"'predict', {empty_object}, {empty_list}, 1.0 + k * 0.25, {at}, NULL, NULL "
                f"FROM ({stream}) AS s"
            )
        )
        conn.exec_driver_sql(
            escape(
                "INSERT INTO feedback (event_id, request_id, item, kind, value, label, at, "
                "received_at) "
                "SELECT 'e' || n, 'r' || n, NULL, CASE WHEN bought THEN 'purchase' ELSE "
                f"'click' END, CASE WHEN bought THEN 3.5 END, NULL, {later}, {later} "
                f"FROM ({stream}) AS s WHERE fed"
            )
        )


def write_aggregates(
    engine: sa.Engine,
    traffic: Traffic,
    now: datetime,
    segment: timedelta,
    progress: Callable[[str, int, int], None] | None = None,
) -> int:
    """Add what folding every request of ``traffic`` at ``now`` (then pruning the slots as
    the server's fold loop does) would add, one day of requests per transaction, then
    rebuild the kept totals; returns the rollup rows the rebuild read. ``progress`` gets
    (stage, done, of)."""
    if engine.dialect.name != "postgresql":
        raise ValueError("write_aggregates generates its stream with PostgreSQL's generate_series")
    seconds = int(segment.total_seconds())
    kept = slot_floor(now - KEPT_FOR)
    days = int((traffic.end - traffic.start) / timedelta(days=1)) + 1
    for day in range(days):
        first = traffic.first_at_or_after(traffic.start + timedelta(days=day))
        last = traffic.first_at_or_after(traffic.start + timedelta(days=day + 1))
        if first < last:
            with write(engine) as conn:
                conn.exec_driver_sql("SET LOCAL work_mem = '512MB'")
                for statement in _statements(traffic, first, last, seconds, kept):
                    conn.exec_driver_sql(statement.replace("%", "%%"))  # psycopg's placeholders
        if progress is not None:
            progress("aggregates", day + 1, days)
    # Statistics of the new rows, as autovacuum gathers them on a live database: without
    # them the rebuild's ordered read of 10^7 rollup rows went through the primary key with
    # an incremental sort, and reads looked units up by scanning the kept tables.
    _analyse(engine)
    with write(engine) as conn:
        prune(conn, now)

        def rebuilt(done: int, of: int) -> None:
            if progress is not None:
                progress("totals", done, of)

        read_rows = rebuild_totals(conn, progress=rebuilt)
    _analyse(engine)
    return read_rows


def _analyse(engine: sa.Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")


def _statements(traffic: Traffic, first: int, last: int, seconds: int, kept: datetime) -> list[str]:
    latencies = ", ".join(f"({k}, {sketch.bucket(1.0 + k * 0.25)})" for k in range(_LATENCIES))
    stream = (
        f"SELECT s.*, b.bucket, "
        f"{traffic.at_sql(f'(t / {seconds * 1_000_000}) * {seconds * 1_000_000}')} AS segment, "
        f"{traffic.at_sql(f'(t / {_slot_micros()}) * {_slot_micros()}')} AS slot, "
        "CASE WHEN fed AND NOT bought THEN 1 ELSE 0 END AS click, "
        "CASE WHEN bought THEN 1 ELSE 0 END AS purchase, "
        "CASE WHEN fed THEN 1 ELSE 0 END AS feedback, "
        "CASE WHEN bought THEN 3.5 ELSE 0.0 END AS value "
        f"FROM (SELECT {traffic.columns()} "
        f"FROM generate_series({first}, {last - 1}) AS n) AS s "
        f"JOIN (VALUES {latencies}) AS b(k, bucket) ON b.k = s.k"
    )
    arm = "CASE WHEN odd = 0 THEN 'champion' ELSE 'challenger' END"
    key = f"'{ENDPOINT}', 1, {arm}, 'm', odd + 1"
    credited = (
        "0, 0, sum(click), sum(purchase), 0, sum(value), sum(feedback)"  # impressions .. with
    )
    slot_sums = f"count(*), 0, {credited}"
    at_kept = f"slot >= TIMESTAMPTZ '{kept.isoformat()}'"
    delay = sketch.bucket(_DELAY)
    return [
        "INSERT INTO rollups (endpoint, config_version, arm, model, version, unit, "
        "segment_start, requests, rank_requests, failed, latency, clicked, purchased, value, "
        "with_feedback, shown, clicked_items, delay_sum, delay_count, propensity_requests, "
        "inverse_p, inverse_p2, credited_impressions, credited_clicked, credited_clicks, "
        "credited_purchases, credited_labels, credited_value, credited_with_feedback, units) "
        f"SELECT {key}, 'u' || u, segment, count(*), 0, 0, sum(1.0 + k * 0.25), sum(click), "
        f"sum(purchase), sum(value), sum(feedback), 0, 0, sum(feedback) * {_DELAY}, "
        f"sum(feedback), 0, 0.0, 0.0, {credited}, 0 "
        f"FROM ({stream}) AS s GROUP BY u, odd, segment",
        "INSERT INTO reward_rollups (endpoint, config_version, arm, kind, segment_start, "
        "requests, weighted, weighted_sq) "
        f"SELECT '{ENDPOINT}', 1, {arm}, CASE WHEN bought THEN 'purchase' ELSE 'click' END, "
        f"segment, count(*), 0.0, 0.0 FROM ({stream}) AS s WHERE fed "
        "GROUP BY odd, bought, segment",
        "INSERT INTO rollup_sketches (endpoint, config_version, arm, model, version, measure, "
        "bucket, segment_start, count) "
        f"SELECT {key}, 'latency', bucket, segment, count(*) FROM ({stream}) AS s "
        "GROUP BY odd, bucket, segment "
        f"UNION ALL SELECT {key}, 'delay', {delay}, segment, count(*) FROM ({stream}) AS s "
        "WHERE fed GROUP BY odd, segment",
        "INSERT INTO slot_rollups (endpoint, slot, arm, model, version, requests, failed, "
        "credited_impressions, credited_clicked, credited_clicks, credited_purchases, "
        "credited_labels, credited_value, credited_with_feedback) "
        f"SELECT '{ENDPOINT}', slot, {arm}, 'm', odd + 1, {slot_sums} FROM ({stream}) AS s "
        f"WHERE {at_kept} GROUP BY slot, odd",
        "INSERT INTO slot_sketches (endpoint, slot, arm, model, version, bucket, count) "
        f"SELECT '{ENDPOINT}', slot, {arm}, 'm', odd + 1, bucket, count(*) "
        f"FROM ({stream}) AS s WHERE {at_kept} GROUP BY slot, odd, bucket",
    ]


def _slot_micros() -> int:
    return int(SLOT.total_seconds()) * 1_000_000


def check_bulk(engine: sa.Engine, traffic: Traffic, segment: timedelta) -> dict[str, Any]:
    """Fold the raw traffic and prune the slots as the server would, then write the bulk
    aggregates of the same traffic instead: ``differing`` names the tables (all but the raw
    events') whose rows are not the same."""
    now = traffic.end + timedelta(hours=1)
    empty(engine)
    load_raw(engine, traffic, 0, traffic.events)
    fold(engine, now, segment=segment)
    with write(engine) as conn:
        prune(conn, now)
    folded = stored_rows(engine)
    empty(engine)
    write_aggregates(engine, traffic, now, segment)
    bulk = stored_rows(engine)
    differing = sorted(name for name in folded if folded[name] != bulk.get(name))
    rows = {name: len(folded[name]) for name in sorted(folded) if folded[name]}
    return {"tables_compared": len(folded), "rows": rows, "differing": differing}


def empty(engine: sa.Engine) -> None:
    """Delete every row of every table but Alembic's."""
    with write(engine) as conn:
        for table in _stored(conn, raw=True):
            conn.execute(table.delete())


def stored_rows(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table but Alembic's and the raw events', as its sorted rows."""
    with read(engine) as conn:
        return {
            table.name: sorted(tuple(row) for row in conn.execute(table.select()))
            for table in _stored(conn, raw=False)
        }


_RAW = {"predictions", "feedback", "prediction_items", "shadow_predictions"}
_PARTITION = re.compile(r"^(predictions|prediction_items|shadow_predictions)_(p\d{8}|default)$")


def _stored(conn: sa.Connection, *, raw: bool) -> list[sa.Table]:
    """The database's tables, read from the database itself (a partition counts as its
    parent): what the code declares could miss one."""
    names = sa.inspect(conn).get_table_names()
    found = sa.MetaData()
    return [
        sa.Table(name, found, autoload_with=conn)
        for name in names
        if name != "alembic_version" and not _PARTITION.match(name) and (raw or name not in _RAW)
    ]
