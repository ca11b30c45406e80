"""Prediction events leave the response path through a bounded queue and a batch writer."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

import sqlalchemy as sa

from champion.db import write
from champion.db.dialects import RowEncoder, insert_encoded
from champion.events.entities import PredictionEvent, ShadowEvent
from champion.events.tables import prediction_items, predictions, shadow_predictions
from champion.metrics import Metrics

__all__ = ["PredictionWriter"]

logger = logging.getLogger("champion.events")
Event = PredictionEvent | ShadowEvent
_Encoded = tuple[tuple[RowEncoder, bytes], ...]
"""An event as the rows it adds, each already encoded for its table."""


class PredictionWriter:
    """Accepts events without ever blocking; a full queue drops the event, counts and logs it.

    The request path encodes the event's rows and appends them to a deque (no lock, no thread
    wake-up); the writer thread wakes once per flush interval and commits everything waiting
    in a few large transactions, one statement per table.
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
        dialect = engine.dialect.name
        self._predictions = RowEncoder(predictions, dialect)
        self._items = RowEncoder(prediction_items, dialect)
        self._shadows = RowEncoder(shadow_predictions, dialect)
        self._queue: deque[_Encoded] = deque()
        self._writing = 0  # events taken off the queue and not yet committed (or dropped)
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
            self._drop(
                "Prediction event queue is full (%d events): dropped %d events so far. "
                "The database is not keeping up; responses are unaffected.",
                self.queue_size,
            )
            return False
        try:
            encoded = self._encode(event)
        except TypeError as exc:  # a value JSON cannot hold: the model's output, say
            self._drop("A prediction event cannot be stored (%s): dropped %d so far.", exc)
            return False
        self._queue.append(encoded)  # deque.append is atomic under the GIL
        return True

    def _encode(self, event: Event) -> _Encoded:
        if isinstance(event, ShadowEvent):
            return ((self._shadows, self._shadows(event.row())),)
        first = (self._predictions, self._predictions(event.row()))
        return (first, *((self._items, self._items(row)) for row in event.item_rows()))

    def _drop(self, message: str, detail: object) -> None:
        self.dropped += 1
        self.metrics.events_dropped.inc()
        now = time.monotonic()
        if now - self._last_drop_log > 5.0:  # one line per 5 s, not one per request
            self._last_drop_log = now
            logger.warning(message, detail, self.dropped)

    def pending(self) -> int:
        """Events accepted and not yet committed or dropped: 0 means every one is stored."""
        return len(self._queue) + self._writing

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
            # What waited at the wake-up, not what arrives meanwhile: chasing the newest events
            # would commit a few at a time, and every commit takes the GIL from the requests.
            # Stopping, write everything.
            waiting = len(self._queue)
            while self._queue and (waiting > 0 or stopping):
                size = min(self.batch_size, len(self._queue))
                self._writing = size  # before the pops: pending() never misses them
                batch = [self._queue.popleft() for _ in range(size)]
                waiting -= len(batch)
                self._write(batch)
                self._writing = 0
            self.metrics.event_queue_depth.set(len(self._queue))
            if stopping:
                return

    def _write(self, batch: list[_Encoded]) -> None:
        rows: dict[RowEncoder, list[bytes]] = {
            self._predictions: [],
            self._items: [],
            self._shadows: [],
        }
        for event in batch:
            for encoder, row in event:
                rows[encoder].append(row)
        for attempt in range(5):
            try:
                with write(self.engine, durable=False) as conn:
                    for encoder, table_rows in rows.items():
                        insert_encoded(conn, encoder, table_rows)
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
