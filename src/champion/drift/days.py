"""Daily drift windows: each UTC day of served predictions, kept after its raw rows go.

For every endpoint, UTC day and version that answered ``predict`` requests that day, the
summarising pass (``DriftDays.run``) stores what the day's instances left behind against
the version's reference profile: one ``ColumnWindow`` per reference column (the counts on
the reference's histogram edges or per category, the missing counts, the rows, a numeric
sample of at most ``window.DEFAULT_SAMPLE_SIZE`` values) and the data-quality counts. This
is the version whose predictions a drift run compares with its reference, the same rule as
``GET /v1/endpoints/{e}/drift?version=...``: a day is summarised per version that served it.
A version without a reference profile that day is stored with its counts only.

* A day is summarised once it is over plus ``grace`` (late writes of the event writer
  land first), in order, by streaming its rows in chunks (flat memory).
* Writing a day replaces every row of that endpoint and day in one transaction, so running
  a pass twice, or two passes at once, stores each day once.
* **Late predictions** (a spool replayed after a database outage carries the original
  times): a summarised day keeps the number of prediction events it held
  (``drift_day_counts``); each pass counts the raw events of the days within ``recheck`` of
  now (on the (endpoint, at) index alone, without reading rows) and summarises again every
  day that holds more than it did. A day is never summarised again from fewer events than
  it was (retention has started on it).
* **A replaced reference profile**: days counted against the old profile are summarised
  again while their raw rows are complete; a day whose raw rows are gone keeps the old
  windows, and drift runs read that day from raw rows (that is, not at all).

``drift_days_guard`` tells retention the time before which every prediction row is in a
summarised day; ``DriftDays.guard`` (the same shape) also keeps the days a pass still
rechecks for late rows, so that a day summarised again has all its raw rows: retention
should compose that one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from champion.clock import EARLIEST, Clock
from champion.db import read, write
from champion.drift.live import (
    CHUNK_EVENTS,
    DAY,
    count_events,
    dated_chunks,
    day_of,
    served_versions,
)
from champion.drift.references import References
from champion.drift.stretch import accumulate
from champion.drift.tables import drift_day_counts, drift_days, reference_profiles
from champion.errors import ChampionError
from champion.events.tables import predictions
from champion.registry import VersionKey
from champion.serving.tables import endpoints

__all__ = ["DriftDays", "drift_days_guard", "stored_events"]

logger = logging.getLogger("champion.drift")

NO_REFERENCE = "no reference profile"


class DriftDays:
    """Summarises days of served predictions into ``drift_days``.

    Parameters
    ----------
    engine, references, clock
        The database, the reference profiles and the time.
    grace
        How long after a day ends it is summarised.
    recheck
        How far back each pass looks for days that received predictions after their
        summary; ``timedelta(0)`` looks at none.
    chunk_events
        Prediction events read per round trip.
    """

    def __init__(
        self,
        engine: sa.Engine,
        references: References,
        clock: Clock,
        *,
        grace: timedelta = timedelta(hours=1),
        recheck: timedelta = timedelta(days=2),
        chunk_events: int = CHUNK_EVENTS,
    ) -> None:
        self.engine = engine
        self.references = references
        self.clock = clock
        self.grace = grace
        self.recheck = recheck
        self.chunk_events = chunk_events

    def run(self) -> int:
        """One pass over every endpoint; returns the days written."""
        written = 0
        for endpoint in self._endpoints():
            for day in self.due(endpoint) + self.stale(endpoint):
                try:
                    written += self.summarise_day(endpoint, day)
                except ChampionError as exc:  # one bad day must not stop the others
                    logger.warning("Summarising %r on %s failed: %s", endpoint, day, exc)
        return written

    def waiting(self) -> bool:
        """Whether a pass would write a day: one due or stale on some endpoint (queries
        only, so a server asks before it starts a worker process for the pass)."""
        return any(self.due(e) or self.stale(e) for e in self._endpoints())

    def _endpoints(self) -> list[str]:
        with read(self.engine) as conn:
            return list(
                conn.execute(sa.select(endpoints.c.name).order_by(endpoints.c.name)).scalars()
            )

    def guard(self, conn: sa.Connection) -> datetime | None:
        """``drift_days_guard``, and no later than the first day a pass still rechecks for
        late rows (a day summarised again must still have all its raw rows)."""
        found = drift_days_guard(conn)
        if self.recheck <= timedelta(0):
            return found
        rechecked = day_of(self.clock.now() - self.recheck)
        return rechecked if found is None else min(found, rechecked)

    def due(self, endpoint: str) -> list[datetime]:
        """The days after the last summarised one that served predictions and are over
        (plus the grace)."""
        horizon = self.clock.now() - self.grace
        found = []
        with read(self.engine) as conn:
            last = _last_day(conn, endpoint)
            cursor = EARLIEST if last is None else last + DAY
            while True:
                first = _first_event(conn, endpoint, cursor)
                if first is None or day_of(first) + DAY > horizon:
                    break
                found.append(day_of(first))
                cursor = day_of(first) + DAY
        return found

    def stale(self, endpoint: str) -> list[datetime]:
        """Summarised days with more raw predictions than their summary (late rows, within
        ``recheck``) or counted against a profile since replaced (raw rows complete)."""
        found: set[datetime] = set()
        with read(self.engine) as conn:
            last = _last_day(conn, endpoint)
            if last is None:
                return []
            cursor = last + DAY
            if self.recheck > timedelta(0):
                day = day_of(self.clock.now() - self.recheck)
                stored = stored_events(conn, endpoint, day, cursor)
                while day < cursor:
                    if count_events(conn, endpoint, day, day + DAY) > stored.get(day, 0):
                        found.add(day)
                    day += DAY
            # Days before the oldest raw row lost theirs to retention: no count needed.
            oldest = _first_event(conn, endpoint, EARLIEST)
            for day in _replaced_reference_days(conn, endpoint):
                if oldest is None or day < day_of(oldest):
                    continue
                stored = stored_events(conn, endpoint, day, day + DAY)
                if count_events(conn, endpoint, day, day + DAY) == stored.get(day):
                    found.add(day)
        return sorted(found)

    def summarise_day(self, endpoint: str, day: datetime) -> int:
        """Store ``endpoint``'s windows of the UTC day starting at ``day`` from its raw rows;
        returns 1, or 0 when the day was stored from more prediction events than are left."""
        day = day_of(day)
        with read(self.engine) as conn:
            stored = stored_events(conn, endpoint, day, day + DAY).get(day, 0)
            # Counted before the rows are read: a row written meanwhile makes the count
            # low, so the next pass's recheck summarises the day again.
            events = count_events(conn, endpoint, day, day + DAY)
            versions = served_versions(conn, endpoint, day, day + DAY)
        if events < stored:
            return 0
        records = [self._version_day(endpoint, day, key, n) for key, n in versions]
        where_day = {"endpoint": endpoint, "day": day}
        with write(self.engine) as conn:
            for table in (drift_days, drift_day_counts):
                conn.execute(
                    table.delete().where((table.c.endpoint == endpoint) & (table.c.day == day))
                )
            if records:
                conn.execute(drift_days.insert(), records)
            conn.execute(
                drift_day_counts.insert(),
                {**where_day, "events": events, "summarised_at": self.clock.now()},
            )
        return 1

    def _version_day(
        self, endpoint: str, day: datetime, key: VersionKey, served: int
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "endpoint": endpoint, "day": day, "model": key.model, "version": key.number,
            "predictions": served, "rows": 0, "reference_at": None, "state": None, "note": "",
            "summarised_at": self.clock.now(),
        }  # fmt: skip
        reference = self.references.find(key)
        if reference is None:
            return {**record, "note": NO_REFERENCE}
        chunks = dated_chunks(self.engine, endpoint, day, day + DAY, key, self.chunk_events)
        try:
            stretch = accumulate(reference.profile, ((n, frame) for _, n, frame in chunks))
        except ChampionError as exc:  # what a drift run over raw rows would say too
            return {**record, "note": exc.message}
        return {
            **record,
            "predictions": stretch.predictions,
            "rows": stretch.rows,
            "reference_at": reference.created_at,
            "state": stretch.to_state(),
        }


def stored_events(
    conn: sa.Connection, endpoint: str, start: datetime, end: datetime
) -> dict[datetime, int]:
    """Prediction events (any kind) per summarised day of ``endpoint`` in ``[start, end)``."""
    c = drift_day_counts
    rows = conn.execute(
        sa.select(c.c.day, c.c.events).where(
            (c.c.endpoint == endpoint) & (c.c.day >= start) & (c.c.day < end)
        )
    )
    return {day: int(events) for day, events in rows}


def drift_days_guard(conn: sa.Connection) -> datetime | None:
    """The time before which every prediction row (any kind) is in a summarised day.

    Retention may delete predictions older than this without losing drift history; it is a
    UTC midnight. ``None`` when no endpoint has a prediction row: nothing to keep.

    Examples
    --------
    >>> from champion.db import make_engine, migrate
    >>> engine = make_engine("sqlite://")
    >>> migrate(engine)
    >>> with engine.connect() as conn:
    ...     print(drift_days_guard(conn))
    None
    """
    bounds: list[datetime] = []
    for (endpoint,) in conn.execute(sa.select(endpoints.c.name)):
        last = _last_day(conn, endpoint)
        cursor = EARLIEST if last is None else last + DAY
        first = _first_event(conn, endpoint, cursor)
        if first is not None:
            bounds.append(day_of(first))
        elif last is not None:
            bounds.append(cursor)
    return min(bounds, default=None)


def _last_day(conn: sa.Connection, endpoint: str) -> datetime | None:
    """The last summarised day of ``endpoint``, if any."""
    c = drift_day_counts
    last: datetime | None = conn.execute(
        sa.select(sa.func.max(c.c.day)).where(c.c.endpoint == endpoint)
    ).scalar_one()
    return last


def _first_event(conn: sa.Connection, endpoint: str, since: datetime) -> datetime | None:
    # Any kind: the (endpoint, at) index answers alone. A day of ``rank`` requests only is
    # summarised too (into no drift rows), so the walk never stops at it.
    p = predictions
    first: datetime | None = conn.execute(
        sa.select(sa.func.min(p.c.at)).where((p.c.endpoint == endpoint) & (p.c.at >= since))
    ).scalar_one()
    return first


def _replaced_reference_days(conn: sa.Connection, endpoint: str) -> Sequence[datetime]:
    d, r = drift_days, reference_profiles
    query = (
        sa.select(d.c.day)
        .distinct()
        .select_from(d.join(r, (r.c.model == d.c.model) & (r.c.version == d.c.version)))
        .where(
            (d.c.endpoint == endpoint)
            & (
                ((d.c.reference_at.is_(None)) & (d.c.note == NO_REFERENCE))
                | (d.c.reference_at != r.c.created_at)
            )
        )
    )
    return [day for (day,) in conn.execute(query)]
