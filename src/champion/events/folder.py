"""The server's fold loop: one server at a time folds events into the rollups.

A pass computes each folded request's facts in Python (about 40 µs a request): in the
serving process that holds the GIL the requests need, in turns of the interpreter's switch
interval (5 ms), so a server folding 1,000 requests a second answers its slowest requests
several milliseconds late. The server's passes therefore run in a worker process of their
own (``worker=True``); the leader lock, the clock and the metrics stay in the server.
"""

from __future__ import annotations

import multiprocessing
import threading
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

import sqlalchemy as sa

from champion.clock import Clock
from champion.db.engine import make_engine, read, write
from champion.db.locks import LeaderLock
from champion.events.rollups import DAY, backlog, fold, has_work
from champion.events.slots import prune, prune_due
from champion.events.tables import predictions
from champion.metrics import Metrics

__all__ = ["LOCK_NAME", "RollupFolder", "fold_pass"]

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
        *,
        worker: bool = False,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.metrics = metrics
        self.lag = lag
        self.segment = segment
        self.max_raw = max_raw
        self.lock = LeaderLock(engine, LOCK_NAME)
        self._worker = _FoldProcess(engine) if worker else None

    def tick(self) -> int:
        """One pass; returns the rows folded (0 when another server holds the lock)."""
        if not self.lock.acquire():
            return 0
        args = (self.clock.now(), self.lag, self.segment, self.max_raw)
        if self._worker is None:
            folded, left = fold_pass(self.engine, *args)
        elif not self._worker.started and not _has_work(self.engine):
            # No worker (~85 MB, a second of imports) for a server that has logged nothing.
            _drop_stale_slots(self.engine, args[0])
            folded, left = 0, 0
        else:
            answer = self._worker.run(*args)
            if answer is None:  # stopped
                return 0
            folded, left = answer
        if self.metrics is not None:
            self.metrics.events_folded.inc(folded)
            self.metrics.fold_backlog.set(left)
        return folded

    def stop(self) -> None:
        """End a pass running in the worker now (the server is stopping): each batch is one
        transaction, so the next pass redoes only the batch cut short."""
        if self._worker is not None:
            self._worker.stop()

    def close(self) -> None:
        self.stop()
        self.lock.release()


def fold_pass(
    engine: sa.Engine, now: datetime, lag: timedelta, segment: timedelta, max_raw: int
) -> tuple[int, int]:
    """Fold what is older than ``now - lag`` (and past ``max_raw`` unfolded requests, the
    older ones; 0: no limit), drop the slots no longer kept; returns the rows folded and
    the requests left unfolded."""
    folded = fold(engine, now, lag=lag, segment=segment)
    with read(engine) as conn:
        left = backlog(conn)
        cutoff = _newest(conn, max_raw) if 0 < max_raw < left else None
    if cutoff is not None:
        folded += fold(engine, cutoff, segment=segment)
        with read(engine) as conn:
            left = backlog(conn)
    _drop_stale_slots(engine, now)
    return folded, left


def _has_work(engine: sa.Engine) -> bool:
    with read(engine) as conn:
        return has_work(conn)


def _drop_stale_slots(engine: sa.Engine, now: datetime) -> None:
    # Asked in a read first: the write lock is taken once a slot at most.
    with read(engine) as conn:
        stale = prune_due(conn, now)
    if stale:
        with write(engine) as conn:
            prune(conn, now)


class _FoldProcess:
    """One worker process, started by the first pass with something to fold (and again
    after it died), that runs :func:`fold_pass` on its own engine over the same database
    when asked; one pass at a time (the server's loop and a direct
    :meth:`RollupFolder.tick` may ask at once)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.url = engine.url.render_as_string(hide_password=False)
        self._process: BaseProcess | None = None
        self._pipe: Connection | None = None
        self._stopped = False
        self._passing = threading.Lock()  # held for a whole exchange with the worker

    @property
    def started(self) -> bool:
        """Whether a worker was ever started (it is replaced, not waited for, once it is)."""
        return self._process is not None

    def run(
        self, now: datetime, lag: timedelta, segment: timedelta, max_raw: int
    ) -> tuple[int, int] | None:
        """The pass's rows folded and requests left; None once stopped."""
        with self._passing:
            if self._stopped:
                return None
            if self._process is None or not self._process.is_alive():
                self._start()
                if self._stopped:  # while it started: stop() closes the pipe, and it ends
                    return None
            assert self._pipe is not None  # started above
            try:
                self._pipe.send((now, lag, segment, max_raw))
                answer = self._pipe.recv()
            except (EOFError, OSError):  # stopped or killed mid-pass
                if self._stopped:
                    return None
                raise RuntimeError("The fold worker process ended during a pass") from None
        if isinstance(answer, str):
            raise RuntimeError(f"The fold worker failed: {answer}")
        folded, left = answer
        return int(folded), int(left)

    def _start(self) -> None:
        if self._pipe is not None:
            self._pipe.close()
        # spawn: the worker starts clean, without the server's threads and connections.
        context = multiprocessing.get_context("spawn")
        mine, theirs = context.Pipe()
        process = context.Process(
            target=_serve, args=(self.url, theirs), name="champion-fold", daemon=True
        )
        process.start()
        theirs.close()
        # Seen by stop() only once started: joining a process not started yet raises.
        self._process, self._pipe = process, mine

    def stop(self) -> None:
        """End the worker, mid-pass if need be; no pass starts after this."""
        self._stopped = True
        process = self._process
        if process is not None:
            if process.is_alive():
                process.terminate()  # a pass waiting on it gets end-of-file
            process.join(5)
        # The pipe is closed by whoever holds it last: never under a thread reading it.
        if self._passing.acquire(timeout=10):
            try:
                if self._pipe is not None:
                    self._pipe.close()  # a worker started meanwhile sees end-of-file: it ends
                    self._pipe = None
            finally:
                self._passing.release()
        if self._process is not None and self._process is not process:
            self._process.join(5)  # the one started meanwhile, ending


def _serve(url: str, pipe: Connection) -> None:
    # The worker's loop: one pass per request, until the server closes its end.
    engine = make_engine(url)
    try:
        while True:
            try:
                now, lag, segment, max_raw = pipe.recv()
            except EOFError:
                return
            try:
                pipe.send(fold_pass(engine, now, lag, segment, max_raw))
            except Exception as exc:  # the server logs it and tries again next round
                pipe.send(f"{type(exc).__name__}: {exc}")
    finally:
        engine.dispose()


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
