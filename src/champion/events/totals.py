"""Unit totals, arm moments and version totals kept up to date by the fold pass.

The fold pass hands :func:`maintain` the rollup sums of its batch, in the transaction that
adds them to ``rollups``, so the tables of ``total_tables`` never count a request twice or
miss one (a batch commits or rolls back whole, and a replay folds nothing twice because the
flags say what was folded).

**How a batch changes the moments.** ``arm_moments`` holds, per cell and segment ``b``,
``Σ g(T_u(b))`` over the cell's units, where ``T_u(b)`` is unit ``u``'s totals cumulated up to
segment ``b`` and ``g(T)`` is ``(1, T, products of T)`` for a unit with a request and 0
otherwise. A batch adding ``Δ_s`` to a unit in segments ``s`` changes ``T_u(b)`` for every
``b ≥ min s``; between two consecutive segments the unit has rows in, ``T_u(b)`` is constant,
so the change ``g(T_new) - g(T_old)`` is one vector per such stretch, added to the stretch's
rows by one ``UPDATE`` (Σx² changes by ``2·x·Δ + Δ²``, computed as the difference of the
two squares). The batch's additions go into ``unit_totals`` first, by one upsert that
returns each unit's new totals (its old ones are those less the additions). In the common
case (the batch adds to a unit's latest segment) the stretch is that segment onwards;
feedback arriving for an earlier segment of a unit that came back later (or a batch that
touches a unit in several segments) reads that unit's rollup rows in the cell to know its
totals at each later segment. A segment that gets its first
row in a cell starts as a copy of the cell's row before it (every unit's totals carry over).

**Float drift.** Counts are integers, exact in a float below 2^53, so every count and
product of counts stays exact; sums of floats (latency, value, delay) drift by about one
part in 10^15 per update, so after 10^6 updates a moment may be off by about 1e-9 of itself.
:func:`rebuild_totals` recomputes every table from the rollups (``champion admin
rebuild-aggregates --from-rollups``).

Two passes may run at once on PostgreSQL (a rebuild beside the server's fold loop): the
read-modify-write of unit totals holds a transaction-level advisory lock, so the second
waits for the first to commit.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from champion.db.metadata import UTCDateTime
from champion.events.facts import Key
from champion.events.rollup_tables import MERGED, rollups
from champion.events.total_tables import (
    EPOCH,
    PRODUCTS,
    TOTALS,
    TOTALS_BUILD,
    VERSION_SUMS,
    arm_moments,
    pending_rebuilds,
    product_column,
    unit_totals,
    version_totals,
    version_units,
)

__all__ = [
    "built",
    "clear_totals",
    "experiment_bounds",
    "maintain",
    "mark_built",
    "rebuild_totals",
    "since_of",
]

# The experiments table belongs to evaluation, which imports this package; its start and end
# times are read through a lightweight reference instead of an import.
_experiments = sa.table(
    "experiments",
    sa.column("endpoint", sa.String()),
    sa.column("started_at", UTCDateTime()),
    sa.column("finished_at", UTCDateTime()),
)

_LOCK = 0x5EED_7074_A15  # pg_advisory_xact_lock key of the unit totals
_FAR = datetime(9999, 1, 1, tzinfo=UTC)  # the end of a stretch that has none
_CELL = ("endpoint", "config_version", "arm", "since")
_MOMENTS = ["units", *TOTALS, *(product_column(a, b) for a, b in PRODUCTS)]
_INDEX = {name: n for n, name in enumerate(TOTALS)}
_PAIRS = [(_INDEX.get(a), _INDEX.get(b)) for a, b in PRODUCTS]  # None: ``one``
_REQUESTS = _INDEX["requests"]

Cell = tuple[str, int, str, datetime]
Vector = list[float]


def experiment_bounds(conn: sa.Connection, endpoints: Iterable[str]) -> dict[str, list[datetime]]:
    """Per endpoint, every start and end of an experiment on it, in order."""
    names = sorted(set(endpoints))
    bounds: dict[str, list[datetime]] = {e: [] for e in names}
    if names:
        e = _experiments
        query = sa.select(e.c.endpoint, e.c.started_at, e.c.finished_at).where(
            e.c.endpoint.in_(names)
        )
        for endpoint, started, finished in conn.execute(query):
            bounds[endpoint] += [t for t in (started, finished) if t is not None]
    for times in bounds.values():
        times.sort()
    return bounds


def since_of(bounds: Sequence[datetime], segment: datetime) -> datetime:
    """The cell's ``since`` of a segment: the last experiment boundary at or before it."""
    index = bisect.bisect_right(bounds, segment) - 1
    return bounds[index] if index >= 0 else EPOCH


def built(conn: sa.Connection) -> bool:
    """Whether the tables hold every folded request (reports may read them)."""
    b = pending_rebuilds
    query = sa.select(b.c.name).where(b.c.name == TOTALS_BUILD)
    return conn.execute(query).first() is None


def mark_built(conn: sa.Connection) -> None:
    """The tables hold every folded request (after a rebuild, or emptied before a refold)."""
    conn.execute(pending_rebuilds.delete().where(pending_rebuilds.c.name == TOTALS_BUILD))


def clear_totals(conn: sa.Connection) -> None:
    """Empty the tables (before a refold or a rebuild; the build mark stays)."""
    for table in (unit_totals, arm_moments, version_totals, version_units):
        conn.execute(table.delete())


def maintain(conn: sa.Connection, keyed: Mapping[Key, Mapping[str, float]]) -> None:
    """Add a batch's ``rollups`` sums (keys as ``rollups``' primary key) to the totals, the
    moments and the version totals; call it after adding them to ``rollups``."""
    if not keyed:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
    bounds = experiment_bounds(conn, {key[0] for key in keyed})
    changes: dict[tuple[Cell, str], dict[datetime, Vector]] = {}
    versions: dict[tuple[str, str, int, str], Vector] = {}
    answered: set[tuple[str, str, int, str, str]] = set()
    for key, values in keyed.items():
        endpoint, config, arm, model, version, unit, segment = key
        group = (str(endpoint), str(model), int(version), str(arm))
        into = versions.setdefault(group, [0.0] * len(VERSION_SUMS))
        for n, name in enumerate(VERSION_SUMS):
            into[n] += values.get(name, 0)
        if values.get("requests", 0) > 0:
            answered.add((*group, str(unit)))
        cell = (str(endpoint), int(config), str(arm), since_of(bounds[endpoint], segment))
        row = changes.setdefault((cell, str(unit)), {}).setdefault(segment, [0.0] * len(TOTALS))
        for n, name in enumerate(TOTALS):
            row[n] += values.get(name, 0)
    _versions(conn, versions, answered)
    _moments(conn, changes, bounds)


def _versions(
    conn: sa.Connection,
    versions: dict[tuple[str, str, int, str], Vector],
    answered: set[tuple[str, str, int, str, str]],
) -> None:
    # A unit counts once per version: the rows inserted (not already there) are returned.
    v = version_units
    new: dict[tuple[str, str, int, str], float] = {}
    names = ("endpoint", "model", "version", "arm", "unit")
    rows = [dict(zip(names, key, strict=True)) for key in sorted(answered)]
    for inserted in _upsert(conn, v, rows, returning=names[:4]):
        endpoint, model, version, arm = tuple(inserted)
        group = (str(endpoint), str(model), int(version), str(arm))
        new[group] = new.get(group, 0.0) + 1
    rows = [
        dict(zip(("endpoint", "model", "version", "arm"), group, strict=True))
        | dict(zip(VERSION_SUMS, sums, strict=True))
        | {"units": new.get(group, 0.0)}
        for group, sums in sorted(versions.items())
    ]
    _upsert(conn, version_totals, rows)


def _upsert(
    conn: sa.Connection,
    table: sa.Table,
    rows: list[dict[str, Any]],
    *,
    returning: Sequence[str] = (),
) -> list[sa.Row[Any]]:
    """Insert ``rows``, adding their values to those of rows already there (a key-only table
    skips them; ``last_segment`` keeps the later one); returns the ``returning`` columns of
    each row written, as it stands after the statement."""
    if not rows:
        return []
    dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    keys = [c.name for c in table.primary_key.columns]
    statement = dialect.insert(table)
    values = [c.name for c in table.columns if not c.primary_key]
    if values:
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=keys,
            set_={
                name: sa.case((excluded[name] > table.c[name], excluded[name]), else_=table.c[name])
                if name == "last_segment"
                else table.c[name] + excluded[name]
                for name in values
            },
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=keys)
    if returning:
        statement = statement.returning(*(table.c[name] for name in returning))
    found: list[sa.Row[Any]] = []
    for start in range(0, len(rows), 1_000):
        result = conn.execute(statement, rows[start : start + 1_000])
        if returning:
            found += result.all()
    return found


def _term(totals: Sequence[float]) -> Vector:
    """``g(T)``: what one unit with totals ``T`` adds to its cell's moments."""
    if totals[_REQUESTS] <= 0:
        return [0.0] * len(_MOMENTS)
    return [
        1.0,
        *totals,
        *((1.0 if a is None else totals[a]) * (1.0 if b is None else totals[b]) for a, b in _PAIRS),
    ]


def _moments(
    conn: sa.Connection,
    changes: dict[tuple[Cell, str], dict[datetime, Vector]],
    bounds: dict[str, list[datetime]],
) -> None:
    if not changes:
        return
    # The batch's additions go in first; each unit's totals as they now stand come back,
    # so its old totals are those less the additions (one statement, no read before).
    added_rows = [
        dict(zip(_CELL, cell, strict=True))
        | {"unit": unit, "last_segment": max(segments)}
        | dict(zip(TOTALS, _sum(segments.values()), strict=True))
        for (cell, unit), segments in sorted(changes.items())
    ]
    columns = [*_CELL, "unit", *TOTALS, "last_segment"]
    old: dict[tuple[Cell, str], Vector] = {}
    late = []
    for found in _upsert(conn, unit_totals, added_rows, returning=columns):
        row: Sequence[Any] = tuple(found)
        pair = ((str(row[0]), int(row[1]), str(row[2]), _utc(row[3])), str(row[4]))
        segments = changes[pair]
        added = _sum(segments.values())
        old[pair] = [float(v) - a for v, a in zip(row[5:-1], added, strict=True)]
        # Rows after the batch's first segment (a later one, or one of its own if the batch
        # touched several: the unit's last segment before it is not known): read them.
        if _utc(row[-1]) > max(segments) or len(segments) > 1:
            late.append(pair)
    history = _history(conn, late, changes, bounds)
    stretches: dict[tuple[Cell, datetime, datetime], Vector] = {}
    touched: dict[Cell, set[datetime]] = {}
    for pair, segments in sorted(changes.items()):
        cell = pair[0]
        touched.setdefault(cell, set()).update(segments)
        before = old[pair]
        # The unit's old totals per segment it has rows in from the first touched one on
        # (only a late unit has any after it), and the batch's additions.
        rows = history.get(pair, {})
        first = min(segments)
        points = sorted(set(segments) | {s for s in rows if s >= first})
        carried = list(before)
        if rows:  # totals before the first touched segment, then cumulated
            carried = [sum(r[n] for s, r in rows.items() if s < first) for n in range(len(TOTALS))]
        added = [0.0] * len(TOTALS)
        for n, point in enumerate(points):
            for k, value in enumerate(rows.get(point, ())):
                carried[k] += value
            for k, value in enumerate(segments.get(point, ())):
                added[k] += value
            new = [a + b for a, b in zip(carried, added, strict=True)]
            change = [a - b for a, b in zip(_term(new), _term(carried), strict=True)]
            until = points[n + 1] if n + 1 < len(points) else _FAR
            into = stretches.setdefault((cell, point, until), [0.0] * len(_MOMENTS))
            for k, value in enumerate(change):
                into[k] += value
    _open_segments(conn, touched)
    m = arm_moments
    where = sa.and_(
        *(m.c[name] == sa.bindparam(f"k_{name}") for name in _CELL),
        m.c.segment_start >= sa.bindparam("k_from"),
        m.c.segment_start < sa.bindparam("k_until"),
    )
    update = (
        m.update()
        .where(where)
        .values({name: m.c[name] + sa.bindparam(f"d_{name}") for name in _MOMENTS})
    )
    params = [
        {f"k_{name}": value for name, value in zip(_CELL, cell, strict=True)}
        | {"k_from": start, "k_until": until}
        | {f"d_{name}": value for name, value in zip(_MOMENTS, change, strict=True)}
        for (cell, start, until), change in sorted(stretches.items())
        if any(change)
    ]
    if params:
        conn.execute(update, params)


def _sum(vectors: Iterable[Vector]) -> Vector:
    found = [0.0] * len(TOTALS)
    for vector in vectors:
        for k, value in enumerate(vector):
            found[k] += value
    return found


def _history(
    conn: sa.Connection,
    late: Sequence[tuple[Cell, str]],
    changes: dict[tuple[Cell, str], dict[datetime, Vector]],
    bounds: dict[str, list[datetime]],
) -> dict[tuple[Cell, str], dict[datetime, Vector]]:
    # Per unit with feedback for a segment before its last: its rows per segment in the
    # cell before this batch (the rollups already hold the batch's sums: taken away).
    r = rollups
    found: dict[tuple[Cell, str], dict[datetime, Vector]] = {}
    for cell, unit in late:
        endpoint, config, arm, since = cell
        later = [t for t in bounds[endpoint] if t > since]
        query = (
            sa.select(r.c.segment_start, *(sa.func.sum(r.c[n]) for n in TOTALS))
            .where(
                (r.c.unit == unit)
                & (r.c.endpoint == endpoint)
                & (r.c.config_version == config)
                & (r.c.arm == arm)
                & (r.c.segment_start >= since)
            )
            .group_by(r.c.segment_start)
        )
        if later:
            query = query.where(r.c.segment_start < later[0])
        rows = {_utc(row[0]): [float(v or 0) for v in row[1:]] for row in conn.execute(query)}
        for segment, added in changes[(cell, unit)].items():
            row = rows.setdefault(segment, [0.0] * len(TOTALS))
            for k, value in enumerate(added):
                row[k] -= value
        found[(cell, unit)] = rows
    return found


def _open_segments(conn: sa.Connection, touched: dict[Cell, set[datetime]]) -> None:
    # A segment's first row in a cell: a copy of the cell's row before it (or zeros).
    m = arm_moments
    cells = sorted(touched)
    key = sa.tuple_(*(m.c[name] for name in _CELL))
    existing: dict[Cell, list[datetime]] = {cell: [] for cell in cells}
    for start in range(0, len(cells), 500):
        query = sa.select(*(m.c[name] for name in _CELL), m.c.segment_start).where(
            key.in_(cells[start : start + 500])
        )
        for row in conn.execute(query):
            cell = (str(row[0]), int(row[1]), str(row[2]), _utc(row[3]))
            existing[cell].append(_utc(row[4]))
    for cell in cells:
        have = sorted(existing[cell])
        for segment in sorted(touched[cell] - set(have)):
            index = bisect.bisect_left(have, segment)
            identity = dict(zip(_CELL, cell, strict=True)) | {"segment_start": segment}
            if index == 0:
                conn.execute(m.insert().values(identity | dict.fromkeys(_MOMENTS, 0.0)))
            else:
                copy = sa.select(
                    *(sa.literal(v, m.c[k].type).label(k) for k, v in identity.items()),
                    *(m.c[name] for name in _MOMENTS),
                ).where(
                    sa.and_(*(m.c[k] == v for k, v in zip(_CELL, cell, strict=True)))
                    & (m.c.segment_start == have[index - 1])
                )
                conn.execute(m.insert().from_select([*identity, *_MOMENTS], copy))
            have.insert(index, segment)


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


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
    The version tables are two ``INSERT ... SELECT``. Nothing here shares the fold pass's
    incremental code, so the two check each other (``tests/events/test_rollups.py``)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
    clear_totals(conn)
    r = rollups
    total = int(conn.execute(sa.select(sa.func.count()).select_from(r)).scalar_one())
    endpoints = conn.execute(sa.select(r.c.endpoint).distinct()).scalars().all()
    bounds = experiment_bounds(conn, endpoints)
    _rebuild_versions(conn)
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
                dict(zip(_CELL, cell, strict=True))
                | {"unit": unit, "last_segment": last}
                | dict(zip(TOTALS, totals, strict=True))
            )
        if len(rows) >= 10_000 or current is None:
            _insert(conn, unit_totals, rows)

    # Streamed (a server-side cursor on PostgreSQL); the statement's option, not the
    # connection's, so the inserts between fetches are ordinary statements.
    streamed = conn.execute(query.execution_options(stream_results=True, yield_per=10_000))
    for endpoint, config, arm, unit, segment, *values in streamed:
        segment = _utc(segment)
        cell = (str(endpoint), int(config), str(arm), since_of(bounds[endpoint], segment))
        if (cell, str(unit)) != current:
            close()
            current, totals = (cell, str(unit)), [0.0] * len(TOTALS)
        new = [a + float(b or 0) for a, b in zip(totals, values, strict=True)]
        change = [a - b for a, b in zip(_term(new), _term(totals), strict=True)]
        into = changes.setdefault(cell, {}).setdefault(segment, [0.0] * len(_MOMENTS))
        for k, value in enumerate(change):
            into[k] += value
        totals, last = new, segment
        done += 1
        if progress is not None and done % 10_000 == 0:
            progress(done, total)
    close()
    current = None
    close()
    moments = []
    for cell, segments in changes.items():
        running = [0.0] * len(_MOMENTS)
        for segment in sorted(segments):
            running = [a + b for a, b in zip(running, segments[segment], strict=True)]
            identity = dict(zip(_CELL, cell, strict=True)) | {"segment_start": segment}
            moments.append(identity | dict(zip(_MOMENTS, running, strict=True)))
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
