"""Prediction events leave the response path through a bounded queue and a batch writer."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

import sqlalchemy as sa

from champion.db import write
from champion.db.dialects import bulk_insert
from champion.events.entities import PredictionEvent, ShadowEvent
from champion.events.tables import prediction_items, predictions, shadow_predictions
from champion.metrics import Metrics

__all__ = ["PredictionWriter"]

logger = logging.getLogger("champion.events")
Event = PredictionEvent | ShadowEvent


class PredictionWriter:
    """Accepts events without ever blocking; a full queue drops the event, counts and logs it.

    The request path only appends to a deque (no lock, no thread wake-up); the writer thread
    wakes once per flush interval and commits everything waiting in a few large transactions.
    """

    def __init__(
        self,
        engine: sa.Engine,
        metrics: Metrics,
        *,
        queue_size: int,
        batch_size: int,
        flush_seconds: float,
    ) -> None:
        self.engine = engine
        self.metrics = metrics
        self.queue_size = queue_size
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self._queue: deque[Event] = deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped = 0
        self.written = 0
        self._last_drop_log = 0.0

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="champion-event-writer", daemon=True)
        self._thread.start()

    def submit(self, event: Event) -> bool:
        if len(self._queue) >= self.queue_size:
            self.dropped += 1
            self.metrics.events_dropped.inc()
            now = time.monotonic()
            if now - self._last_drop_log > 5.0:  # one line per 5 s, not one per request
                self._last_drop_log = now
                logger.warning(
                    "Prediction event queue is full (%d events): dropped %d events so far. "
                    "The database is not keeping up; responses are unaffected.",
                    self.queue_size,
                    self.dropped,
                )
            return False
        self._queue.append(event)  # deque.append is atomic under the GIL
        return True

    def pending(self) -> int:
        return len(self._queue)

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued, then stop."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        while True:
            stopping = self._stop.wait(self.flush_seconds)
            while self._queue:
                batch: list[Event] = []
                while self._queue and len(batch) < self.batch_size:
                    batch.append(self._queue.popleft())
                self._write(batch)
            self.metrics.event_queue_depth.set(len(self._queue))
            if stopping:
                return

    def _write(self, batch: list[Event]) -> None:
        served = [e for e in batch if isinstance(e, PredictionEvent)]
        shadows = [e.row() for e in batch if isinstance(e, ShadowEvent)]
        items = [
            {
                "request_id": e.request_id,
                "position": i.position,
                "item": i.item,
                "model": i.model,
                "version": i.version,
            }
            for e in served
            for i in e.items
        ]
        for attempt in range(5):
            try:
                with write(self.engine, durable=False) as conn:
                    bulk_insert(conn, predictions, [e.row() for e in served])
                    bulk_insert(conn, prediction_items, items)
                    bulk_insert(conn, shadow_predictions, shadows)
                self.written += len(batch)
                self.metrics.events_written.inc(len(batch))
                return
            except sa.exc.DBAPIError:
                logger.exception(
                    "Writing %d prediction events failed (try %d of 5)", len(batch), attempt + 1
                )
                time.sleep(0.2 * 2**attempt)
        self.dropped += len(batch)
        self.metrics.events_dropped.inc(len(batch))
