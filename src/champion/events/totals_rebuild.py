"""Recomputing the kept unit totals, moments and version totals from the rollups.

For upgrades and repairs (``champion admin rebuild-aggregates --from-rollups``) and as the
check of the fold pass's incremental upkeep (``totals.maintain``): the property test compares
the two.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from champion.clock import utc
from champion.events.rollup_tables import (
    MERGED,
    VERSION_SUMS,
    compacted_segments,
    rollup_sketches,
    rollups,
)
from champion.events.total_tables import (
    EPOCH,
    TOTALS,
    arm_moments,
    cell_sketches,
    unit_totals,
    version_sketches,
    version_totals,
    version_units,
)
from champion.events.totals import (
    CELL,
    MOMENTS,
    Cell,
    Vector,
    clear_totals,
    compacted_cells,
    experiment_bounds,
    lock_totals,
    mark_built,
    since_of,
    span_of,
    unit_term,
)

__all__ = ["rebuild_totals"]


def rebuild_totals(
    conn: sa.Connection,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Recompute the totals, moments and version totals from the rollups, in the caller's
    transaction, and mark them built; ``progress`` gets (rollup rows read, rows in all).
    Returns the rollup rows read.

    One streamed pass in (cell, unit, segment) order: each unit's totals are cumulated
    segment by segment and what each segment changed in its cell's moments is added up in
    memory (O(cells x segments)); the moments are then the running sums of those changes.
    The version tables are ``INSERT ... SELECT``; the cell histograms sum the histogram
    rows per segment, streamed. Nothing here shares the fold pass's
    incremental code, so the two check each other (``tests/events/test_rollups.py``)."""
    lock_totals(conn)
    clear_totals(conn)
    r = rollups
    total = int(conn.execute(sa.select(sa.func.count()).select_from(r)).scalar_one())
    endpoints = conn.execute(sa.select(r.c.endpoint).distinct()).scalars().all()
    bounds = experiment_bounds(conn, endpoints)
    c = compacted_segments
    compacted = compacted_cells(
        conn,
        {
            (str(e), *span_of(bounds[e], utc(t)))
            for e, t in conn.execute(sa.select(c.c.endpoint, c.c.segment_start))
            if e in bounds
        },
    )
    _rebuild_versions(conn)
    _rebuild_cell_sketches(conn, bounds)
    query = (
        sa.select(
            r.c.endpoint,
            r.c.config_version,
            r.c.arm,
            r.c.unit,
            r.c.segment_start,
            *(r.c[n] for n in TOTALS),
        )
        .where(r.c.unit != MERGED)
        .order_by(r.c.endpoint, r.c.config_version, r.c.arm, r.c.unit, r.c.segment_start)
    )
    changes: dict[Cell, dict[datetime, Vector]] = {}
    rows: list[dict[str, Any]] = []
    current: tuple[Cell, str] | None = None
    totals: Vector = []
    last = EPOCH
    done = 0

    def close() -> None:
        if current is not None:
            cell, unit = current
            rows.append(
                dict(zip(CELL, cell, strict=True))
                | {"unit": unit, "last_segment": last}
                | dict(zip(TOTALS, totals, strict=True))
            )
        if len(rows) >= 10_000 or current is None:
            _insert(conn, unit_totals, rows)

    # Streamed (a server-side cursor on PostgreSQL); the statement's option, not the
    # connection's, so the inserts between fetches are ordinary statements.
    streamed = conn.execute(query.execution_options(stream_results=True, yield_per=10_000))
    for endpoint, config, arm, unit, segment, *values in streamed:
        segment = utc(segment)
        cell = (str(endpoint), int(config), str(arm), since_of(bounds[endpoint], segment))
        done += 1
        if progress is not None and done % 10_000 == 0:
            progress(done, total)
        if (cell[0], cell[3]) in compacted:
            continue
        if (cell, str(unit)) != current:
            close()
            current, totals = (cell, str(unit)), [0.0] * len(TOTALS)
        new = [a + float(b or 0) for a, b in zip(totals, values, strict=True)]
        change = [a - b for a, b in zip(unit_term(new), unit_term(totals), strict=True)]
        into = changes.setdefault(cell, {}).setdefault(segment, [0.0] * len(MOMENTS))
        for k, value in enumerate(change):
            into[k] += value
        totals, last = new, segment
    close()
    current = None
    close()
    moments = []
    for cell, segments in changes.items():
        running = [0.0] * len(MOMENTS)
        for segment in sorted(segments):
            running = [a + b for a, b in zip(running, segments[segment], strict=True)]
            identity = dict(zip(CELL, cell, strict=True)) | {"segment_start": segment}
            moments.append(identity | dict(zip(MOMENTS, running, strict=True)))
    _insert(conn, arm_moments, moments)
    mark_built(conn)
    if progress is not None:
        progress(total, total)
    return done


def _insert(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 1_000):
        conn.execute(table.insert(), rows[start : start + 1_000])
    rows.clear()


def _rebuild_versions(conn: sa.Connection) -> None:
    # Units a version answered, then the per-version sums with those units (a compacted
    # row adds the units it merged: per segment, so at least the true number).
    r, v, u = rollups, version_totals, version_units
    group = (r.c.endpoint, r.c.model, r.c.version, r.c.arm)
    answered = sa.select(*group, r.c.unit).where((r.c.requests > 0) & (r.c.unit != MERGED))
    conn.execute(
        u.insert().from_select(["endpoint", "model", "version", "arm", "unit"], answered.distinct())
    )
    counted = (
        sa.select(u.c.endpoint, u.c.model, u.c.version, u.c.arm, sa.func.count().label("n"))
        .group_by(u.c.endpoint, u.c.model, u.c.version, u.c.arm)
        .subquery()
    )
    sums = (
        sa.select(
            *group,
            *(sa.func.sum(r.c[n]).label(n) for n in VERSION_SUMS),
            sa.func.sum(sa.case((r.c.unit == MERGED, r.c.units), else_=0)).label("merged"),
        )
        .group_by(*group)
        .subquery()
    )
    joined = sums.outerjoin(
        counted,
        (counted.c.endpoint == sums.c.endpoint)
        & (counted.c.model == sums.c.model)
        & (counted.c.version == sums.c.version)
        & (counted.c.arm == sums.c.arm),
    )
    select = sa.select(
        sums.c.endpoint, sums.c.model, sums.c.version, sums.c.arm,
        *(sa.cast(sa.func.coalesce(sums.c[n], 0), sa.Float) for n in VERSION_SUMS),
        sa.cast(sa.func.coalesce(counted.c.n, 0) + sa.func.coalesce(sums.c.merged, 0), sa.Float),
    ).select_from(joined)  # fmt: skip
    columns = ["endpoint", "model", "version", "arm", *VERSION_SUMS, "units"]
    conn.execute(v.insert().from_select(columns, select))
    k = rollup_sketches
    histogram = (
        sa.select(
            k.c.endpoint, k.c.model, k.c.version, k.c.arm, k.c.bucket,
            sa.cast(sa.func.sum(k.c.count), sa.Float),
        )
        .where(k.c.measure == "latency")
        .group_by(k.c.endpoint, k.c.model, k.c.version, k.c.arm, k.c.bucket)
    )  # fmt: skip
    columns = ["endpoint", "model", "version", "arm", "bucket", "count"]
    conn.execute(version_sketches.insert().from_select(columns, histogram))


def _rebuild_cell_sketches(conn: sa.Connection, bounds: dict[str, list[datetime]]) -> None:
    # A segment's cell needs the experiment boundaries before it: summed here, per segment
    # in the database (O(cells x buckets) in memory).
    k = rollup_sketches
    group = (k.c.endpoint, k.c.config_version, k.c.arm, k.c.measure, k.c.bucket, k.c.segment_start)
    query = sa.select(*group, sa.func.sum(k.c.count)).group_by(*group)
    counts: dict[tuple[str, int, str, datetime, str, int], float] = {}
    streamed = conn.execute(query.execution_options(stream_results=True, yield_per=10_000))
    for endpoint, config, arm, measure, bucket, segment, count in streamed:
        since = since_of(bounds.get(endpoint, []), utc(segment))
        cell = (str(endpoint), int(config), str(arm), since, str(measure), int(bucket))
        counts[cell] = counts.get(cell, 0.0) + float(count)
    names = [*CELL, "measure", "bucket", "count"]
    rows = [dict(zip(names, (*cell, count), strict=True)) for cell, count in counts.items()]
    _insert(conn, cell_sketches, rows)
