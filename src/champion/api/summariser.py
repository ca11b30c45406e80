"""The server's daily drift windows: finished days summarised on the leader, in a worker.

Summarising a day streams all its predictions through pandas and NumPy, seconds of work
that in a thread would hold the GIL while requests wait; a worker process (started the
first time this server leads) does it, as the alert evaluator does. The leader lock stays
in the server, so only one server at a time summarises.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import sqlalchemy as sa

from champion.clock import Clock
from champion.db.locks import LeaderLock
from champion.settings import Settings

__all__ = ["LOCK_NAME", "DaySummariser", "summarise_days"]

LOCK_NAME = "drift-days"


def summarise_days(settings: Settings, clock: Clock | None) -> int:
    """One summarising pass (in the worker process); returns the days written."""
    from champion.services import Services

    services = Services.open(settings, clock)
    try:
        return services.drift_days.run()
    finally:
        services.close()


class DaySummariser:
    """Runs ``DriftDays.run`` in a worker process while this server holds the lock."""

    def __init__(self, settings: Settings, clock: Clock | None, engine: sa.Engine) -> None:
        self.settings = settings
        self.clock = clock
        self.lock = LeaderLock(engine, LOCK_NAME)
        self._pool: ProcessPoolExecutor | None = None

    def tick(self) -> int:
        """One pass if this server is the leader (blocks the calling thread); days written."""
        if not self.lock.acquire():
            return 0
        if self._pool is None:
            # spawn: the worker starts clean, without the server's threads and connections.
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        return self._pool.submit(summarise_days, self.settings, self.clock).result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self.lock.release()
