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
case (the batch adds to a unit's latest segment) the stretch is that segment onwards, and
those units' changes are computed as arrays (units x moments) and summed per stretch;
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
waits for the first to commit; compaction takes the same lock when it trims the tables.

**Compaction.** A cell whose stretch between two experiment boundaries holds a compacted
segment keeps no totals (:func:`compacted_cells`): compaction deletes them
(``compacted_totals``), and neither this pass nor a rebuild keeps them again.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import sqlalchemy as sa

from champion.clock import utc
from champion.db.dialects import sum_upsert
from champion.db.metadata import UTCDateTime
from champion.events.facts import Key
from champion.events.rollup_tables import VERSION_SUMS, compacted_segments, rollups
from champion.events.total_tables import (
    EPOCH,
    KEPT,
    PRODUCTS,
    TOTALS,
    TOTALS_BUILD,
    arm_moments,
    cell_sketches,
    pending_rebuilds,
    product_column,
    unit_totals,
    version_sketches,
    version_totals,
    version_units,
)

__all__ = [
    "CELL",
    "MOMENTS",
    "built",
    "clear_totals",
    "compacted_between",
    "compacted_cells",
    "experiment_bounds",
    "lock_totals",
    "maintain",
    "mark_built",
    "since_of",
    "span_of",
    "unit_term",
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
CELL = ("endpoint", "config_version", "arm", "since")
"""The columns that name a cell."""
MOMENTS = ["units", *TOTALS, *(product_column(a, b) for a, b in PRODUCTS)]
"""The columns of ``arm_moments`` past the key: what :func:`unit_term` adds per unit."""
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


def span_of(bounds: Sequence[datetime], segment: datetime) -> tuple[datetime, datetime]:
    """The stretch between two experiment boundaries a segment is in: its cells' ``since``
    and the next boundary (far in the future when there is none)."""
    index = bisect.bisect_right(bounds, segment)
    since = bounds[index - 1] if index > 0 else EPOCH
    return since, bounds[index] if index < len(bounds) else _FAR


def compacted_cells(
    conn: sa.Connection, spans: Iterable[tuple[str, datetime, datetime]]
) -> set[tuple[str, datetime]]:
    """The ``(endpoint, since)`` of each of ``spans`` (endpoint, since, next boundary) that
    holds a compacted segment. Compaction merged some of those cells' per-unit rollups, so
    their kept totals are dropped (``events.compaction``) and not kept again: no report can
    read them (one over the compacted segment is refused, one starting after it straddles
    the cell), and the moments of a unit the compaction merged could not be exact."""
    c = compacted_segments
    found = set()
    for endpoint, since, until in sorted(set(spans)):
        query = sa.select(c.c.endpoint).where(
            (c.c.endpoint == endpoint) & (c.c.segment_start >= since) & (c.c.segment_start < until)
        )
        if conn.execute(query.limit(1)).first() is not None:
            found.add((endpoint, since))
    return found


def compacted_between(
    conn: sa.Connection, endpoint: str, start: datetime | None, end: datetime | None
) -> bool:
    """Whether a cell of ``endpoint`` with a segment in ``[start, end)`` (None: unbounded)
    falls in a stretch that holds a compacted segment (see :func:`compacted_cells`)."""
    bounds = experiment_bounds(conn, [endpoint])[endpoint]
    since = EPOCH if start is None else since_of(bounds, start)
    until = _FAR if end is None else next((t for t in bounds if t >= end), _FAR)
    return bool(compacted_cells(conn, [(endpoint, since, until)]))


def lock_totals(conn: sa.Connection) -> None:
    """Wait for any other transaction changing the kept totals (PostgreSQL; SQLite has one
    writer at a time anyway). The lock is held until the caller's transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})


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
    for table in KEPT:
        conn.execute(table.delete())


def maintain(
    conn: sa.Connection,
    keyed: Mapping[Key, Mapping[str, float]],
    sketches: Mapping[Key, Mapping[str, float]] | None = None,
) -> None:
    """Add a batch's ``rollups`` sums (keys as ``rollups``' primary key) to the totals, the
    moments and the version totals, and its ``rollup_sketches`` counts to the version and
    cell histograms; call it after adding them to those tables. Cells that hold a compacted
    segment keep no totals (:func:`compacted_cells`); their histograms stay exact (compaction
    merges no histogram) and are kept."""
    if not keyed and not sketches:
        return
    lock_totals(conn)
    keys = list(keyed)
    values = list(keyed.values())
    bounds = experiment_bounds(conn, {key[0] for key in [*keys, *(sketches or ())]})
    if sketches:
        _sketches(conn, sketches, bounds)
    if not keyed:
        return
    since: dict[tuple[str, datetime], datetime] = {}
    for key in keys:
        if (key[0], key[-1]) not in since:
            since[(key[0], key[-1])] = since_of(bounds[key[0]], key[-1])
    spans = {(str(e), *span_of(bounds[e], segment)) for e, segment in since}
    compacted = compacted_cells(conn, spans)
    _versions(conn, keys, values)
    cells: list[Cell | None] = []
    for key in keys:
        start = since[(key[0], key[-1])]
        skip = (str(key[0]), start) in compacted
        cells.append(None if skip else (str(key[0]), int(key[1]), str(key[2]), start))
    _moments(conn, keys, values, cells, bounds)


def _versions(
    conn: sa.Connection, keys: Sequence[Key], values: Sequence[Mapping[str, float]]
) -> None:
    # A unit counts once per version: the rows inserted (not already there) are returned.
    dialect = conn.dialect.name
    groups: dict[tuple[str, str, int, str], int] = {}
    index = []
    answered = set()
    for key, sums in zip(keys, values, strict=True):
        group = (str(key[0]), str(key[3]), int(key[4]), str(key[2]))
        index.append(groups.setdefault(group, len(groups)))
        if sums.get("requests", 0) > 0:
            answered.add((*group, str(key[5])))
    totals = np.zeros((len(groups), len(VERSION_SUMS) + 1))
    zeros = [0] * len(VERSION_SUMS)
    np.add.at(totals[:, :-1], index, [list(map(s.get, VERSION_SUMS, zeros)) for s in values])
    inserted = sum_upsert(version_units, dialect, returning=("endpoint", "model", "version", "arm"))
    for endpoint, model, version, arm in inserted(conn, sorted(answered)):
        totals[groups[(str(endpoint), str(model), int(version), str(arm))], -1] += 1
    found = totals.tolist()
    rows = [[*group, *found[n]] for group, n in sorted(groups.items())]
    sum_upsert(version_totals, dialect)(conn, rows)


def _sketches(
    conn: sa.Connection,
    keyed: Mapping[Key, Mapping[str, float]],
    bounds: dict[str, list[datetime]],
) -> None:
    # Keys as ``rollup_sketches``' primary key: (endpoint, config_version, arm, model,
    # version, measure, bucket, segment_start); /stats shows latency only.
    versions: dict[tuple[str, str, int, str, int], float] = {}
    cells: dict[tuple[str, int, str, datetime, str, int], float] = {}
    for key, values in keyed.items():
        count = values["count"]
        if key[5] == "latency":
            group = (str(key[0]), str(key[3]), int(key[4]), str(key[2]), int(key[6]))
            versions[group] = versions.get(group, 0.0) + count
        since = since_of(bounds[key[0]], key[-1])
        cell = (str(key[0]), int(key[1]), str(key[2]), since, str(key[5]), int(key[6]))
        cells[cell] = cells.get(cell, 0.0) + count
    dialect = conn.dialect.name
    for table, counts in ((version_sketches, versions), (cell_sketches, cells)):
        rows = [[*group, count] for group, count in sorted(counts.items())]
        if rows:
            sum_upsert(table, dialect)(conn, rows)


def unit_term(totals: Sequence[float]) -> Vector:
    """``g(T)``: what one unit with totals ``T`` adds to its cell's moments."""
    if totals[_REQUESTS] <= 0:
        return [0.0] * len(MOMENTS)
    return [
        1.0,
        *totals,
        *((1.0 if a is None else totals[a]) * (1.0 if b is None else totals[b]) for a, b in _PAIRS),
    ]


def _terms(totals: np.ndarray) -> np.ndarray:
    """:func:`unit_term` of each row of ``totals`` (units x ``TOTALS``)."""
    ones = np.ones(len(totals))
    column = [totals[:, n] for n in range(len(TOTALS))]
    products = [
        (ones if a is None else column[a]) * (ones if b is None else column[b]) for a, b in _PAIRS
    ]
    found = (
        np.column_stack([ones, totals, *products]) if len(totals) else np.zeros((0, len(MOMENTS)))
    )
    return found * (totals[:, _REQUESTS] > 0)[:, None]


def _moments(
    conn: sa.Connection,
    keys: Sequence[Key],
    values: Sequence[Mapping[str, float]],
    cells: Sequence[Cell | None],
    bounds: dict[str, list[datetime]],
) -> None:
    # Per (cell, unit) touched: the batch's additions and its first and last segment.
    pairs: dict[tuple[Cell, str], int] = {}
    index = []
    first: list[datetime] = []
    last: list[datetime] = []
    for key, cell in zip(keys, cells, strict=True):
        if cell is None:
            index.append(-1)
            continue
        segment = key[-1]
        n = pairs.setdefault((cell, str(key[5])), len(pairs))
        if n == len(first):
            first.append(segment)
            last.append(segment)
        elif segment < first[n]:
            first[n] = segment
        elif segment > last[n]:
            last[n] = segment
        index.append(n)
    if not pairs:
        return
    taken = np.array(index) >= 0
    added = np.zeros((len(pairs), len(TOTALS)))
    kept = [sums for sums, n in zip(values, index, strict=True) if n >= 0]
    zeros = [0] * len(TOTALS)
    np.add.at(added, np.array(index)[taken], [list(map(s.get, TOTALS, zeros)) for s in kept])
    # The batch's additions go in first, by one statement; each unit's totals as they now
    # stand come back, so its old totals are those less the additions (no read before).
    upsert = sum_upsert(
        unit_totals,
        conn.dialect.name,
        latest=("last_segment",),
        returning=(*CELL, "unit", *TOTALS, "last_segment"),
    )
    listed = added.tolist()
    order = sorted(pairs.items())
    stored: dict[datetime, Any] = {}

    def as_stored(at: datetime) -> Any:
        if at not in stored:
            stored[at] = upsert.stored(at)
        return stored[at]

    # The rows come back with their times as stored: each pair is found by those.
    found = {(*cell[:3], as_stored(cell[3]), unit): n for (cell, unit), n in order}
    new = np.zeros((len(pairs), len(TOTALS)))
    late: set[int] = set()
    for row in upsert(conn, ([*cell, unit, *listed[n], last[n]] for (cell, unit), n in order)):
        n = found[(row[0], row[1], row[2], row[3], row[4])]
        new[n] = row[5:-1]
        # Rows after the batch's first segment (a later one, or one of its own if the batch
        # touched several: the unit's last segment before it is not known): read them.
        if row[-1] > as_stored(last[n]) or first[n] != last[n]:
            late.add(n)
    old = new - added
    # The common case, a unit's one segment and nothing after it: its totals change from
    # that segment on, all at once for every such unit.
    stretches: dict[tuple[Cell, datetime, datetime], int] = {}
    touched: dict[Cell, set[datetime]] = {}
    simple = [(pair, n) for pair, n in order if n not in late]
    at = [stretches.setdefault((pair[0], last[n], _FAR), len(stretches)) for pair, n in simple]
    for pair, n in simple:
        touched.setdefault(pair[0], set()).add(last[n])
    rows = np.array([n for _, n in simple], dtype=int)
    change = np.zeros((len(stretches), len(MOMENTS)))
    np.add.at(change, np.array(at, dtype=int), _terms(new[rows]) - _terms(old[rows]))
    changes = {stretch: change[n].tolist() for stretch, n in stretches.items()}
    if late:
        _late_moments(conn, keys, values, index, pairs, late, old, bounds, changes, touched)
    _open_segments(conn, touched)
    m = arm_moments
    where = sa.and_(
        *(m.c[name] == sa.bindparam(f"k_{name}") for name in CELL),
        m.c.segment_start >= sa.bindparam("k_from"),
        m.c.segment_start < sa.bindparam("k_until"),
    )
    update = (
        m.update()
        .where(where)
        .values({name: m.c[name] + sa.bindparam(f"d_{name}") for name in MOMENTS})
    )
    params = [
        {f"k_{name}": value for name, value in zip(CELL, cell, strict=True)}
        | {"k_from": start, "k_until": until}
        | {f"d_{name}": value for name, value in zip(MOMENTS, moved, strict=True)}
        for (cell, start, until), moved in sorted(changes.items())
        if any(moved)
    ]
    if params:
        conn.execute(update, params)


def _late_moments(
    conn: sa.Connection,
    keys: Sequence[Key],
    values: Sequence[Mapping[str, float]],
    index: Sequence[int],
    pairs: dict[tuple[Cell, str], int],
    late: set[int],
    old: np.ndarray,
    bounds: dict[str, list[datetime]],
    stretches: dict[tuple[Cell, datetime, datetime], Vector],
    touched: dict[Cell, set[datetime]],
) -> None:
    # Units the batch touched in several segments, or before one they have rows in: their
    # rows per segment in the cell say how their totals changed at each later one.
    named = {n: pair for pair, n in pairs.items() if n in late}
    changes: dict[tuple[Cell, str], dict[datetime, Vector]] = {}
    for key, sums, n in zip(keys, values, index, strict=True):
        if n in named:
            row = changes.setdefault(named[n], {}).setdefault(key[-1], [0.0] * len(TOTALS))
            for k, name in enumerate(TOTALS):
                row[k] += sums.get(name, 0)
    history = _history(conn, sorted(changes), changes, bounds)
    for pair, segments in sorted(changes.items()):
        cell = pair[0]
        touched.setdefault(cell, set()).update(segments)
        before = old[pairs[pair]].tolist()
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
            change = [a - b for a, b in zip(unit_term(new), unit_term(carried), strict=True)]
            until = points[n + 1] if n + 1 < len(points) else _FAR
            into = stretches.setdefault((cell, point, until), [0.0] * len(MOMENTS))
            for k, value in enumerate(change):
                into[k] += value


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
        rows = {utc(row[0]): [float(v or 0) for v in row[1:]] for row in conn.execute(query)}
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
    key = sa.tuple_(*(m.c[name] for name in CELL))
    existing: dict[Cell, list[datetime]] = {cell: [] for cell in cells}
    for start in range(0, len(cells), 500):
        query = sa.select(*(m.c[name] for name in CELL), m.c.segment_start).where(
            key.in_(cells[start : start + 500])
        )
        for row in conn.execute(query):
            cell = (str(row[0]), int(row[1]), str(row[2]), utc(row[3]))
            existing[cell].append(utc(row[4]))
    for cell in cells:
        have = sorted(existing[cell])
        for segment in sorted(touched[cell] - set(have)):
            index = bisect.bisect_left(have, segment)
            identity = dict(zip(CELL, cell, strict=True)) | {"segment_start": segment}
            if index == 0:
                conn.execute(m.insert().values(identity | dict.fromkeys(MOMENTS, 0.0)))
            else:
                copy = sa.select(
                    *(sa.literal(v, m.c[k].type).label(k) for k, v in identity.items()),
                    *(m.c[name] for name in MOMENTS),
                ).where(
                    sa.and_(*(m.c[k] == v for k, v in zip(CELL, cell, strict=True)))
                    & (m.c.segment_start == have[index - 1])
                )
                conn.execute(m.insert().from_select([*identity, *MOMENTS], copy))
            have.insert(index, segment)
