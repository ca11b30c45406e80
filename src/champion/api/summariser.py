"""The server's daily drift windows: finished days summarised on the leader, in a worker.

Summarising a day streams all its predictions through pandas and NumPy, seconds to minutes
of work that in a thread would hold the GIL while requests wait; a worker process does it,
one per pass, as the alert evaluator does. The leader lock stays in the server, so only one
server at a time summarises. Stopping the server ends a running pass at once: a day is
written in one transaction, so the next pass (here or on the next leader) redoes only the
day that was cut short.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from champion.clock import Clock
from champion.db.locks import LeaderLock
from champion.drift.days import DriftDays
from champion.settings import Settings

__all__ = ["LOCK_NAME", "DaySummariser", "summarise_days"]

LOCK_NAME = "drift-days"
logger = logging.getLogger("champion.api")


def summarise_days(settings: Settings, clock: Clock | None) -> int:
    """One summarising pass; returns the days written."""
    from champion.services import Services

    services = Services.open(settings, clock)
    try:
        return services.drift_days.run()
    finally:
        services.close()


def _child(settings: Settings, clock: Clock | None, answer: Connection) -> None:
    try:
        answer.send(summarise_days(settings, clock))
    except Exception as exc:
        logger.exception("Summarising drift days failed")
        answer.send(f"{type(exc).__name__}: {exc}")


class DaySummariser:
    """Runs ``DriftDays.run`` in a worker process while this server holds the lock and
    ``days`` (the server's own) has a day to write."""

    def __init__(self, settings: Settings, clock: Clock | None, days: DriftDays) -> None:
        self.settings = settings
        self.clock = clock
        self.days = days
        self.lock = LeaderLock(days.engine, LOCK_NAME)
        self._process: BaseProcess | None = None
        self._stopped = False
        self._guard = threading.Lock()

    def tick(self) -> int:
        """One pass if this server is the leader (blocks the calling thread); days written."""
        # A worker process costs seconds of CPU to start (it imports pandas, SciPy and the
        # services): on most passes no day has finished since the last, and none starts.
        if not self.lock.acquire() or not self.days.waiting():
            return 0
        # spawn: the worker starts clean, without the server's threads and connections.
        context = multiprocessing.get_context("spawn")
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(
            target=_child, args=(self.settings, self.clock, sender), daemon=True
        )
        with self._guard:
            if self._stopped:
                return 0
            self._process = process
            process.start()
        sender.close()
        try:
            answer = receiver.recv()
        except EOFError:  # stopped (or killed) mid-pass
            return 0
        finally:
            process.join()
            with self._guard:
                self._process = None
        if isinstance(answer, str):
            raise RuntimeError(f"The drift-days worker failed: {answer}")
        return int(answer)

    def stop(self) -> None:
        """End a running pass now (the server is stopping); no pass starts after this."""
        with self._guard:
            self._stopped = True
            if self._process is not None and self._process.is_alive():
                self._process.terminate()

    def close(self) -> None:
        self.stop()
        self.lock.release()
