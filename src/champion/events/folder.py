"""The server's fold loop: one server at a time folds events into the rollups."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from champion.clock import Clock
from champion.db.engine import read
from champion.db.locks import LeaderLock
from champion.events.rollups import DAY, backlog, fold
from champion.metrics import Metrics

__all__ = ["LOCK_NAME", "RollupFolder"]

LOCK_NAME = "rollups"
"""The leader lock the fold pass runs under (the controller's is held by another thread)."""


class RollupFolder:
    """Fold everything older than ``lag`` whenever :meth:`tick` runs and this process holds
    the leader lock; counts the rows folded and the backlog left in ``metrics``."""

    def __init__(
        self,
        engine: sa.Engine,
        clock: Clock,
        metrics: Metrics | None,
        lag: timedelta,
        segment: timedelta = DAY,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.metrics = metrics
        self.lag = lag
        self.segment = segment
        self.lock = LeaderLock(engine, LOCK_NAME)

    def tick(self) -> int:
        """One pass; returns the rows folded (0 when another server holds the lock)."""
        if not self.lock.acquire():
            return 0
        folded = fold(self.engine, self.clock.now(), lag=self.lag, segment=self.segment)
        if self.metrics is not None:
            self.metrics.events_folded.inc(folded)
            with read(self.engine) as conn:
                self.metrics.fold_backlog.set(backlog(conn))
        return folded

    def close(self) -> None:
        self.lock.release()
