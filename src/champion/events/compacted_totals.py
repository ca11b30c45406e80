"""What compaction takes out of the kept totals (``total_tables``) when it merges a segment.

- **Unit totals and arm moments**: the cells of the stretch between two experiment
  boundaries that holds the segment (see ``totals.compacted_cells``) lose their rows, and
  the fold pass keeps no totals for them again. Every report those rows could answer would
  cover the compacted segment, and is refused (``compacted.require_units``); a report
  starting after it falls back to the rollups, as for any cell straddling its start. A
  running experiment's cells are never compacted: its window (from its start, less the
  CUPED pre-period) holds every segment of them.
- **Version units**: a unit merged away stays in ``version_units`` while it has a per-unit
  rollup row of that version left; otherwise it goes, and ``version_totals.units`` counts it
  in the merged row's ``units`` instead. ``/stats`` over all time then counts units as it
  does from the rollups (each unit once per merged segment and configuration), so the kept
  tables stay exactly what ``totals.rebuild_totals`` computes from the rollups.

Both run in the compaction's transaction under the kept totals' lock, so a fold pass
running beside it sees the segment compacted, or not yet, never half.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from champion.events.aggregates import unindexed
from champion.events.rollup_tables import rollups
from champion.events.total_tables import arm_moments, unit_totals, version_totals, version_units
from champion.events.totals import built, experiment_bounds, lock_totals, since_of

__all__ = ["count_cells", "drop_cells", "forget_units"]

_GROUP = ("endpoint", "model", "version", "arm")


def _cells(conn: sa.Connection, segments: Iterable[tuple[str, datetime]]) -> set[tuple[str, Any]]:
    # The (endpoint, since) of the cells each (endpoint, segment start) falls in.
    found = list(segments)
    bounds = experiment_bounds(conn, {endpoint for endpoint, _ in found})
    return {(endpoint, since_of(bounds[endpoint], start)) for endpoint, start in found}


def _where(table: sa.Table, endpoint: str, since: datetime) -> sa.ColumnElement[bool]:
    return (table.c.endpoint == endpoint) & (table.c.since == since)


def drop_cells(conn: sa.Connection, endpoint: str, segment_start: datetime) -> int:
    """Delete the unit totals and moments of the cells a compacted segment falls in; returns
    the rows deleted."""
    lock_totals(conn)
    dropped = 0
    for cell_endpoint, since in _cells(conn, [(endpoint, segment_start)]):
        for table in (unit_totals, arm_moments):
            deleted = conn.execute(table.delete().where(_where(table, cell_endpoint, since)))
            dropped += deleted.rowcount
    return dropped


def count_cells(conn: sa.Connection, segments: Iterable[tuple[str, datetime]]) -> int:
    """The rows :func:`drop_cells` would delete for these segments (a dry run)."""
    total = 0
    for endpoint, since in sorted(_cells(conn, segments)):
        for table in (unit_totals, arm_moments):
            query = sa.select(sa.func.count()).where(_where(table, endpoint, since))
            total += int(conn.execute(query).scalar_one())
    return total


def forget_units(conn: sa.Connection, merged: Sequence[sa.RowMapping]) -> None:
    """Account for per-unit ``rollups`` rows just merged (and deleted): their units count
    in the merged rows from now on, and a unit with no per-unit row of a version left
    leaves that version's units."""
    lock_totals(conn)
    if not built(conn):
        return  # a rebuild from the rollups is due and counts them as they are
    added: dict[tuple[Any, ...], float] = {}
    pairs: set[tuple[Any, ...]] = set()
    for row in merged:
        if row["requests"] > 0:
            group = tuple(row[name] for name in _GROUP)
            added[group] = added.get(group, 0.0) + 1
            pairs.add((*group, row["unit"]))
    r = rollups
    units = sorted({pair[-1] for pair in pairs})
    endpoints = sorted({pair[0] for pair in pairs})
    left: set[tuple[Any, ...]] = set()
    for start in range(0, len(units), 500):
        # By the unit index: the endpoint's would read every row of the endpoint.
        query = (
            sa.select(*(r.c[name] for name in _GROUP), r.c.unit)
            .where(r.c.unit.in_(units[start : start + 500]))
            .where(unindexed(r.c.endpoint).in_(endpoints) & (r.c.requests > 0))
            .distinct()
        )
        left.update(tuple(row) for row in conn.execute(query))
    gone = sorted(pairs - left)
    v = version_units
    key = sa.tuple_(*(v.c[name] for name in (*_GROUP, "unit")))
    for start in range(0, len(gone), 500):
        conn.execute(v.delete().where(key.in_(gone[start : start + 500])))
    for pair in gone:
        added[pair[:-1]] -= 1
    t = version_totals
    changes = [
        dict(zip([f"k_{name}" for name in _GROUP], group, strict=True)) | {"d_units": change}
        for group, change in sorted(added.items())
        if change
    ]
    if changes:
        update = (
            t.update()
            .where(sa.and_(*(t.c[name] == sa.bindparam(f"k_{name}") for name in _GROUP)))
            .values(units=t.c.units + sa.bindparam("d_units"))
        )
        conn.execute(update, changes)
