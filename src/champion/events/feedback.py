"""Feedback is acknowledged only once committed; concurrent submissions share one commit."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future

import sqlalchemy as sa

from champion.clock import Clock
from champion.db import write
from champion.db.dialects import insert_ignoring_duplicates
from champion.errors import Unavailable
from champion.events.entities import FeedbackEvent, FeedbackReceipt
from champion.events.tables import feedback
from champion.metrics import Metrics

__all__ = ["FeedbackCommitter"]

logger = logging.getLogger("champion.events")

_Submission = tuple[Sequence[FeedbackEvent], "Future[FeedbackReceipt]"]


class FeedbackCommitter:
    """Group commit: one writer thread commits every waiting submission in one transaction.

    Each submission's future resolves only after its transaction committed, so an
    acknowledged event survives a crash. Event ids make retries idempotent: an id already
    stored is reported as a duplicate and not written twice.
    """

    def __init__(self, engine: sa.Engine, clock: Clock, metrics: Metrics, batch_size: int) -> None:
        self.engine = engine
        self.clock = clock
        self.metrics = metrics
        self.batch_size = batch_size
        self._queue: queue.Queue[_Submission | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="champion-feedback", daemon=True)
        self._thread.start()

    def submit(self, events: Sequence[FeedbackEvent]) -> Future[FeedbackReceipt]:
        future: Future[FeedbackReceipt] = Future()
        if self._thread is None:
            future.set_exception(Unavailable("The feedback writer is not running."))
        else:
            self._queue.put((events, future))
        return future

    def close(self, timeout: float = 30.0) -> None:
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            size = len(first[0])
            stop = False
            while size < self.batch_size:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                group.append(more)
                size += len(more[0])
            self._commit(group)
            if stop:
                return

    def _commit(self, group: list[_Submission]) -> None:
        started = time.perf_counter()
        received = self.clock.now()
        wanted = {e.event_id for events, _ in group for e in events}
        try:
            with write(self.engine) as conn:
                stored = set(
                    conn.execute(
                        sa.select(feedback.c.event_id).where(feedback.c.event_id.in_(wanted))
                    ).scalars()
                )
                receipts: list[FeedbackReceipt] = []
                rows = []
                for events, _ in group:
                    receipt = FeedbackReceipt()
                    for event in events:
                        if event.event_id in stored:
                            receipt.duplicates.append(event.event_id)
                        else:
                            stored.add(event.event_id)
                            receipt.accepted.append(event.event_id)
                            rows.append(event.row(received))
                    receipts.append(receipt)
                # Another server may have stored the same id since the select: skip, not fail.
                insert_ignoring_duplicates(conn, feedback, rows, "event_id")
        except Exception as exc:
            logger.exception("Committing %d feedback events failed", len(wanted))
            error = Unavailable(
                f"Feedback could not be committed ({type(exc).__name__}); "
                "nothing was stored, retry with the same event ids."
            )
            for _, future in group:
                future.set_exception(error)
            return
        self.metrics.feedback_committed.inc(len(rows))
        self.metrics.feedback_commit_seconds.observe(time.perf_counter() - started)
        for (_, future), receipt in zip(group, receipts, strict=True):
            future.set_result(receipt)
