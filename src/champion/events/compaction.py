"""Compaction: past ``CHAMPION_KEEP_UNIT_ROLLUPS`` a segment's per-unit rows become per-arm totals.

The rollups hold one row per unit and segment, so they grow with the units served every
day even once the raw events are deleted. A segment (see ``rollup_tables``) that ended
before ``now - keep`` is compacted, one transaction per batch of rows:

* its ``rollups`` rows become one row per (configuration, arm, version) with the unit
  :data:`~champion.events.rollup_tables.MERGED` and ``units`` the number of units with a
  request merged into it; its ``interleaving_rollups`` rows one row per (configuration,
  pair of versions), ``units`` counting the units with an interleaved impression;
* its ``labelled_predictions`` and ``ranked_clicks`` rows are deleted: they are per label
  and per click, the rows label metrics and NDCG score, so they share the units' horizon;
* ``compacted_segments`` records the segment (in a transaction before the first batch, so a
  reader never sees a segment half merged without knowing it);
* the kept totals (``compacted_totals``): the unit totals and arm moments of the cells the
  segment falls in are deleted, and each merged unit leaves ``version_units`` once no
  per-unit row of its version is left (``version_totals`` counts it in the merged rows).

Why one merged row in the same tables rather than a table of totals: every sum stays where
every per-arm read already looks (``/stats`` and its buckets, bandit rewards, inverse-
propensity sums, percentiles from the sketches, which are per arm already), so those
answers are the same before and after a pass with no change to their SQL. What is lost is
only what needs each unit's own sums: unit-level variances (the experiment report's tests,
its timeline, CUPED, planning from history), per-unit interleaving preferences and the label
and click rows. Those reads call :func:`~champion.events.compacted.require_units`, which raises
:class:`~champion.errors.Compacted` naming the compacted window instead of answering from
a subset. ``units`` counts a unit once per merged row: over one segment and configuration
it is exact, over several it counts a unit once in each (``/stats`` says which of its
windows were compacted).

Late data: feedback folded after its segment was compacted adds a delta row for its unit
(with no request), which the next pass merges; a prediction replayed into a compacted
segment is merged the same way and counted as one more unit.

**Never compacted**: a segment that overlaps a running experiment's window, from its
start (less its CUPED pre-period) on, since its unit-level analysis must stay exact; and a
segment after what any guard added with :meth:`Compaction.add_guard` allows (the retention
guards' shape: before when rows may go).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from champion import audit
from champion.clock import Clock, utc
from champion.db import read, write
from champion.db.metadata import JSON, UTCDateTime
from champion.events.compacted_totals import count_cells, drop_cells, forget_units
from champion.events.facts import Key
from champion.events.retention import RetentionGuard, describe_keep
from champion.events.rollup_tables import (
    MERGED,
    compacted_segments,
    interleaving_rollups,
    labelled_predictions,
    ranked_clicks,
    rollups,
)
from champion.events.rollups import DAY, add_sums, segment_floor
from champion.settings import Settings

__all__ = ["Compaction", "CompactionReport", "Protected", "Segment", "running_windows"]

TABLES = ("rollups", "interleaving_rollups", "labelled_predictions", "ranked_clicks")
"""What a pass takes rows from: the first two are merged, the other two deleted."""

# Per merged table: the column that says a unit's row counts as a unit (a request, an
# interleaved impression).
_MERGED = {
    "rollups": (rollups, "requests"),
    "interleaving_rollups": (interleaving_rollups, "impressions"),
}
_DELETED = {"labelled_predictions": labelled_predictions, "ranked_clicks": ranked_clicks}

# The experiments table belongs to evaluation, which imports this package: read through a
# lightweight reference (as ``rollups`` reads their boundaries).
_experiments = sa.table(
    "experiments",
    sa.column("endpoint", sa.String()),
    sa.column("status", sa.String()),
    sa.column("design", JSON),
    sa.column("started_at", UTCDateTime()),
    sa.column("finished_at", UTCDateTime()),
)


@dataclass(frozen=True)
class Segment:
    """A stretch of one endpoint's rollups, from one boundary to the next."""

    endpoint: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Protected:
    """A window whose segments stay per unit: ``endpoint`` None is every endpoint, ``end``
    None is open-ended."""

    endpoint: str | None
    start: datetime
    end: datetime | None
    why: str

    def covers(self, segment: Segment) -> bool:
        return (
            (self.endpoint is None or self.endpoint == segment.endpoint)
            and segment.end > self.start
            and (self.end is None or segment.start < self.end)
        )


@dataclass
class CompactionReport:
    """What a pass compacted (or, for a dry run, would compact)."""

    cutoff: datetime | None
    segments: int = 0
    held: int = 0
    """Segments past the horizon that a running experiment (or a guard) keeps per unit."""
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    """Rows taken out per table: merged away (rollups) or deleted (labels, clicks)."""
    kept_totals: int = 0
    """Rows of the kept unit totals and arm moments deleted with the segments' cells."""
    batches: int = 0
    seconds: float = 0.0
    dry_run: bool = False
    stopped: bool = False

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "cutoff": None if self.cutoff is None else self.cutoff.isoformat(),
            "segments": self.segments,
            "held": self.held,
            "rows": self.rows,
            "kept_totals": self.kept_totals,
            "batches": self.batches,
            "seconds": round(self.seconds, 3),
            "dry_run": self.dry_run,
        }


Progress = Callable[[str, int], None]
"""Called after each batch with the table and the rows taken out of it."""


class Compaction:
    """Merges per-unit rollups of segments past ``keep`` into per-arm totals; see the module
    doc.

    Parameters
    ----------
    keep
        How long a segment keeps its per-unit rows; ``None`` keeps them forever.
    batch_size
        Rows per transaction.
    """

    def __init__(
        self,
        engine: sa.Engine,
        clock: Clock,
        keep: timedelta | None,
        *,
        batch_size: int = 2_000,
        segment: timedelta = DAY,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.keep = keep
        self.batch_size = batch_size
        self.segment = segment
        self.guards: list[tuple[str, RetentionGuard]] = []

    @classmethod
    def from_settings(cls, settings: Settings, engine: sa.Engine, clock: Clock) -> Compaction:
        return cls(
            engine,
            clock,
            settings.keep_unit_rollups,
            batch_size=settings.retention_batch_size,
            segment=timedelta(seconds=settings.rollup_segment_seconds),
        )

    @property
    def enabled(self) -> bool:
        return self.keep is not None

    def add_guard(self, guard: RetentionGuard, name: str | None = None) -> None:
        """Keep per unit every segment that ends after what ``guard`` allows."""
        self.guards.append((name or str(getattr(guard, "__name__", repr(guard))), guard))

    def cutoff(self, conn: sa.Connection, now: datetime) -> datetime | None:
        """Segments ending at or before this time may be compacted (``None``: none may)."""
        if self.keep is None:
            return None
        cutoff = now - self.keep
        for _, guard in self.guards:
            allowed = guard(conn)
            if allowed is None:
                return None
            cutoff = min(cutoff, allowed)
        return cutoff

    def due(self, conn: sa.Connection, now: datetime) -> tuple[list[Segment], list[Segment]]:
        """The segments to compact now, oldest first, and those held by a running experiment."""
        cutoff = self.cutoff(conn, now)
        if cutoff is None:
            return [], []
        starts: set[tuple[str, datetime]] = set()
        for table, _ in _MERGED.values():
            query = (
                sa.select(table.c.endpoint, table.c.segment_start)
                .where((table.c.segment_start < cutoff) & (table.c.unit != MERGED))
                .group_by(table.c.endpoint, table.c.segment_start)
            )
            starts.update((str(e), utc(s)) for e, s in conn.execute(query))
        bounds = _boundaries(conn, sorted({endpoint for endpoint, _ in starts}))
        protected = running_windows(conn)
        due: list[Segment] = []
        held: list[Segment] = []
        for endpoint, start in sorted(starts, key=lambda s: (s[1], s[0])):
            end = _segment_end(start, bounds.get(endpoint, []), self.segment)
            segment = Segment(endpoint, start, end)
            if segment.end > cutoff:
                continue
            (held if any(p.covers(segment) for p in protected) else due).append(segment)
        return due, held

    def run(
        self, *, progress: Progress | None = None, stop: threading.Event | None = None
    ) -> CompactionReport:
        """Compact every segment that is due; audited when it compacted something."""
        started = time.perf_counter()
        now = self.clock.now()
        with read(self.engine) as conn:
            cutoff = self.cutoff(conn, now)
            due, held = self.due(conn, now)
        report = CompactionReport(cutoff, held=len(held))
        for segment in due:
            if not self._compact(segment, now, report, progress, stop):
                report.stopped = True  # the next pass finishes it
                break
            report.segments += 1
        report.seconds = time.perf_counter() - started
        if report.total or report.kept_totals:
            self._audit(now, report)
        return report

    def plan(self) -> CompactionReport:
        """A dry run: the segments a pass now would compact and the rows it would take out."""
        started = time.perf_counter()
        with read(self.engine) as conn:
            now = self.clock.now()
            due, held = self.due(conn, now)
            report = CompactionReport(self.cutoff(conn, now), len(due), len(held), dry_run=True)
            for segment in due:
                for name, query in _selections(segment).items():
                    report.rows[name] += int(
                        conn.execute(
                            sa.select(sa.func.count()).select_from(query.subquery())
                        ).scalar_one()
                    )
            report.kept_totals = count_cells(conn, [(s.endpoint, s.start) for s in due])
        report.seconds = time.perf_counter() - started
        return report

    def _compact(
        self,
        segment: Segment,
        now: datetime,
        report: CompactionReport,
        progress: Progress | None,
        stop: threading.Event | None,
    ) -> bool:
        """Compact ``segment``; False when ``stop`` ended it midway."""
        if stop is not None and stop.is_set():
            return False
        with write(self.engine, durable=False) as conn:
            _record(conn, segment, now)
            report.kept_totals += drop_cells(conn, segment.endpoint, segment.start)
        for name, query in _selections(segment).items():
            while True:
                if stop is not None and stop.is_set():
                    return False
                began = time.perf_counter()
                with write(self.engine, durable=False) as conn:
                    taken = _take(conn, name, query.limit(self.batch_size))
                if not taken:
                    break
                report.batches += 1
                report.rows[name] += taken
                if progress is not None:
                    progress(name, taken)
                if taken < self.batch_size:
                    break
                # Yield: whatever waits for the write lock gets at least as long as we took.
                time.sleep(max(time.perf_counter() - began, 0.001))
        return True

    def _audit(self, now: datetime, report: CompactionReport) -> None:
        assert self.keep is not None  # a pass that compacted something has a horizon
        keep = describe_keep(self.keep)
        with write(self.engine) as conn:
            audit.record(
                conn,
                at=now,
                actor="retention",
                action="events.compaction",
                target="events",
                details={**report.to_json(), "keep": keep},
                reason=f"Merged per-unit rollups of segments older than {keep} into per-arm "
                "totals and deleted their label and click rows",
            )


def running_windows(conn: sa.Connection) -> list[Protected]:
    """What running experiments read per unit: from their start, less the CUPED pre-period,
    on (the rows of that window must stay exact)."""
    e = _experiments
    query = sa.select(e.c.endpoint, e.c.design, e.c.started_at).where(e.c.status == "running")
    found = []
    for endpoint, design, started in conn.execute(query):
        start = utc(started)
        if isinstance(design, dict) and design.get("cuped"):
            start -= timedelta(days=float(design.get("cuped_days", 14.0)))
        found.append(Protected(str(endpoint), start, None, "running experiment"))
    return found


def _selections(segment: Segment) -> dict[str, sa.Select[Any]]:
    # Label and click rows go first: a pass stopped midway leaves per-unit rollups behind,
    # which is what makes the segment due again, so nothing of it is left for good.
    found: dict[str, sa.Select[Any]] = {}
    for name, table in _DELETED.items():
        found[name] = (
            sa.select(*table.primary_key.columns)
            .where(
                (table.c.endpoint == segment.endpoint)
                & (table.c.at >= segment.start)
                & (table.c.at < segment.end)
            )
            .order_by(*table.primary_key.columns)
        )
    for name, (table, _) in _MERGED.items():
        found[name] = (
            sa.select(table)
            .where(
                (table.c.endpoint == segment.endpoint)
                & (table.c.segment_start == segment.start)
                & (table.c.unit != MERGED)
            )
            .order_by(*table.primary_key.columns)
        )
    return found


def _take(conn: sa.Connection, name: str, query: sa.Select[Any]) -> int:
    """Merge (or delete) one batch; the rows taken out."""
    if conn.dialect.name == "postgresql":
        # Locked in key order, as the fold pass upserts: a late delta for one of these rows
        # waits for this batch and then lands as a new row, merged by the next pass.
        query = query.with_for_update()
    rows = conn.execute(query).mappings().all()
    if not rows:
        return 0
    if name in _MERGED:
        table, counted = _MERGED[name]
        keys = [c.name for c in table.primary_key.columns]
        sums = [c.name for c in table.columns if not c.primary_key and c.name != "units"]
        merged: dict[Key, dict[str, float]] = {}
        for row in rows:
            key = tuple(MERGED if k == "unit" else row[k] for k in keys)
            into = merged.setdefault(key, dict.fromkeys([*sums, "units"], 0.0))
            for column in sums:
                into[column] += row[column]
            into["units"] += 1 if row[counted] > 0 else 0
        add_sums(conn, table, merged)
    else:
        table = _DELETED[name]
        keys = [c.name for c in table.primary_key.columns]
    key_columns = sa.tuple_(*(table.c[k] for k in keys))
    for start in range(0, len(rows), 500):
        chunk = [tuple(row[k] for k in keys) for row in rows[start : start + 500]]
        conn.execute(sa.delete(table).where(key_columns.in_(chunk)))
    if table is rollups:
        forget_units(conn, rows)
    return len(rows)


def _record(conn: sa.Connection, segment: Segment, now: datetime) -> None:
    c = compacted_segments
    found = conn.execute(
        sa.select(c.c.endpoint).where(
            (c.c.endpoint == segment.endpoint) & (c.c.segment_start == segment.start)
        )
    ).first()
    if found is None:
        conn.execute(
            c.insert().values(
                endpoint=segment.endpoint,
                segment_start=segment.start,
                segment_end=segment.end,
                compacted_at=now,
            )
        )


def _boundaries(conn: sa.Connection, endpoints: Sequence[str]) -> dict[str, list[datetime]]:
    found: dict[str, list[datetime]] = {e: [] for e in endpoints}
    if endpoints:
        e = _experiments
        query = sa.select(e.c.endpoint, e.c.started_at, e.c.finished_at).where(
            e.c.endpoint.in_(list(endpoints))
        )
        for endpoint, started, finished in conn.execute(query):
            found[endpoint] += [utc(t) for t in (started, finished) if t is not None]
    for times in found.values():
        times.sort()
    return found


def _segment_end(start: datetime, bounds: Sequence[datetime], segment: timedelta) -> datetime:
    """The next boundary after ``start``: the next multiple of ``segment`` after a UTC
    midnight, or an experiment's start or end before it."""
    following = segment_floor(start, segment) + segment
    return min([following, *(t for t in bounds if start < t < following)])
