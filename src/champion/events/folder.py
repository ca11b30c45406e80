"""The server's fold loop: one server at a time folds events into the rollups."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from champion.clock import Clock
from champion.db.engine import read, write
from champion.db.locks import LeaderLock
from champion.events.rollups import DAY, backlog, fold
from champion.events.slots import prune, prune_due
from champion.events.tables import predictions
from champion.metrics import Metrics

__all__ = ["LOCK_NAME", "RollupFolder"]

LOCK_NAME = "rollups"
"""The leader lock the fold pass runs under (the controller's is held by another thread)."""


class RollupFolder:
    """Fold everything older than ``lag`` whenever :meth:`tick` runs and this process holds
    the leader lock; counts the rows folded and the backlog left in ``metrics``.

    Every read recomputes the facts of the requests not folded yet (about 40 µs each), so
    at high traffic the lag alone would leave too many: at 1,000 requests a second a 60 s
    lag keeps 6 x 10^4 of them, and each report then takes seconds while holding the GIL
    the predictions need. ``max_raw`` (0: no limit) bounds them: past that many, the pass
    also folds the older ones before their lag is up, leaving the newest ``max_raw`` (and
    what arrives before the next pass) raw. Their later feedback is folded as late
    feedback, as any feedback arriving after the lag is."""

    def __init__(
        self,
        engine: sa.Engine,
        clock: Clock,
        metrics: Metrics | None,
        lag: timedelta,
        segment: timedelta = DAY,
        max_raw: int = 0,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.metrics = metrics
        self.lag = lag
        self.segment = segment
        self.max_raw = max_raw
        self.lock = LeaderLock(engine, LOCK_NAME)

    def tick(self) -> int:
        """One pass; returns the rows folded (0 when another server holds the lock)."""
        if not self.lock.acquire():
            return 0
        now = self.clock.now()
        folded = fold(self.engine, now, lag=self.lag, segment=self.segment)
        with read(self.engine) as conn:
            left = backlog(conn)
            cutoff = _newest(conn, self.max_raw) if 0 < self.max_raw < left else None
            stale = prune_due(conn, now)
        if cutoff is not None:
            folded += fold(self.engine, cutoff, segment=self.segment)
            with read(self.engine) as conn:
                left = backlog(conn)
        if stale:
            with write(self.engine) as conn:
                prune(conn, now)
        if self.metrics is not None:
            self.metrics.events_folded.inc(folded)
            self.metrics.fold_backlog.set(left)
        return folded

    def close(self) -> None:
        self.lock.release()


def _newest(conn: sa.Connection, count: int) -> datetime | None:
    """The time of the ``count``-th newest request not folded yet: folding what is older
    leaves ``count`` of them (more when several share that time)."""
    p = predictions
    query = (
        sa.select(p.c.at)
        .where(sa.not_(p.c.folded))
        .order_by(p.c.at.desc())
        .offset(count - 1)
        .limit(1)
    )
    found: datetime | None = conn.execute(query).scalar_one_or_none()
    return found
