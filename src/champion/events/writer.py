"""Prediction events leave the response path through a bounded queue and a batch writer."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable

import orjson
import sqlalchemy as sa

from champion.db import write
from champion.db.dialects import EncodedRow, RowEncoder, insert_encoded
from champion.events.entities import PredictionEvent, ShadowEvent
from champion.events.spool import EventSpool
from champion.events.tables import prediction_items, predictions, shadow_predictions
from champion.metrics import Metrics

__all__ = ["PredictionWriter"]

logger = logging.getLogger("champion.events")
Event = PredictionEvent | ShadowEvent
_Encoded = tuple[tuple[RowEncoder, EncodedRow], ...]
"""An event as the rows it adds, each already encoded for its table."""

_RETRY_SECONDS = (0.25, 0.5, 1.0, 2.0)
"""Waits between replays of the spool while the database refuses them."""
_REPLAY_BATCHES = 20
"""Batches of spooled events replayed per wake-up of the writer."""
_ADOPT_SECONDS = 30.0
"""How often a healthy writer looks for spool files a crashed server left beside it."""
_DROP_MEMORY_SECONDS = 60.0
"""How long after a drop the writer still reports ``dropping``."""
_LOCK_WAIT_SECONDS = 2.0
"""How long a batch waits for a lock another writer holds before it goes to the spool:
waiting 30 s would stall every batch behind it; the spool keeps them instead."""


class PredictionWriter:
    """Accepts events without ever blocking; nothing is lost while the database refuses writes.

    The request path encodes the event's rows and appends them to a deque (no lock, no thread
    wake-up); the writer thread wakes once per flush interval and commits everything waiting
    in a few large transactions, one statement per table.

    When a write fails the batch goes to the ``spool`` (a local file, fsynced), and so does
    every later batch until the spool is replayed, so events reach the database in the order
    they were served. Only a full queue, a full spool or an event no database can store
    drops; each drop is counted and logged. Without a spool a failed batch is dropped.
    """

    def __init__(
        self,
        engine: sa.Engine,
        metrics: Metrics,
        *,
        queue_size: int,
        batch_size: int,
        flush_seconds: float,
        spool: EventSpool | None = None,
    ) -> None:
        self.engine = engine
        self.metrics = metrics
        self.queue_size = queue_size
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.spool = spool
        dialect = engine.dialect.name
        self._encoders = {
            table.name: RowEncoder(table, dialect)
            for table in (predictions, prediction_items, shadow_predictions)
        }
        self._predictions = self._encoders[predictions.name]
        self._items = self._encoders[prediction_items.name]
        self._shadows = self._encoders[shadow_predictions.name]
        self._at = self._predictions.columns.index("at")
        self._queue: deque[_Encoded] = deque()
        self._writing = 0  # events taken off the queue and not yet committed (or dropped)
        self._later = 0  # events promised by submit_later and not yet submitted
        self._makers: list[Callable[[], Event]] = []  # their makers, until the loop is free
        self._draining: asyncio.AbstractEventLoop | None = None  # where _submit_made will run
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped = 0
        self.written = 0
        self.spooled = 0
        self.replayed = 0
        self._last_drop_log = 0.0
        self._last_drop: float | None = None
        self._failures = 0
        self._next_replay = 0.0
        self._next_adopt = 0.0
        self._replayed_run = 0  # replayed since the spool was last empty

    def start(self) -> None:
        if self.spool is not None:
            try:
                self.spool.open()  # adopts what a crashed server left: replayed first
            except OSError as exc:  # serve anyway; refused events are dropped and counted
                logger.error(
                    "Cannot open the event spool in %s (%s): events the database refuses "
                    "will be dropped.",
                    self.spool.folder,
                    exc,
                )
                self.spool = None
            self._publish_spool()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="champion-event-writer", daemon=True)
        self._thread.start()

    def submit(self, event: Event) -> bool:
        if len(self._queue) >= self.queue_size:
            self._drop(
                1,
                "Prediction event queue is full (%d events): dropped %d events so far. "
                "The database is not keeping up; responses are unaffected.",
                self.queue_size,
            )
            return False
        try:
            encoded = self._encode(event)
        except TypeError as exc:  # a value JSON cannot hold: the model's output, say
            self._drop(1, "A prediction event cannot be stored (%s): dropped %d so far.", exc)
            return False
        self._queue.append(encoded)  # deque.append is atomic under the GIL
        return True

    def submit_later(self, make: Callable[[], Event]) -> None:
        """Build the event with ``make`` and submit it once the running event loop is free:
        after the response that made it is sent. Counted in ``pending`` from now on."""
        self._later += 1
        self._makers.append(make)
        loop = asyncio.get_running_loop()
        if self._draining is not loop:
            # One callback for every event made meanwhile (many, under load): built and
            # encoded one after the other, their code stays in the CPU's caches.
            self._draining = loop
            loop.call_soon(self._submit_made)

    def _submit_made(self) -> None:
        self._draining = None
        makers, self._makers = self._makers, []
        for make in makers:
            try:
                self.submit(make())
            except Exception as exc:  # a bug in building it must not reach the loop's handler
                logger.exception("Building a prediction event failed")
                self._drop(1, "A prediction event could not be built (%r): dropped %d so far.", exc)
            finally:
                self._later -= 1

    def _encode(self, event: Event) -> _Encoded:
        if isinstance(event, ShadowEvent):
            return ((self._shadows, self._shadows(event.row())),)
        first = (self._predictions, self._predictions.ordered(event.values()))
        if not event.items:
            return (first,)
        return (first, *((self._items, self._items(row)) for row in event.item_rows()))

    def _drop(self, count: int, message: str, detail: object) -> None:
        self.dropped += count
        self.metrics.events_dropped.inc(count)
        now = time.monotonic()
        self._last_drop = now
        if now - self._last_drop_log > 5.0:  # one line per 5 s, not one per request
            self._last_drop_log = now
            logger.warning(message, detail, self.dropped)

    def pending(self) -> int:
        """Events accepted and not yet committed or dropped: 0 means every one is stored."""
        return len(self._queue) + self._writing + self._later

    @property
    def spooling(self) -> bool:
        """Whether events wait in the spool for the database."""
        return self.spool is not None and self.spool.waiting_bytes > 0

    @property
    def dropping(self) -> bool:
        """Whether an event was dropped in the last minute."""
        return self._last_drop is not None and (
            time.monotonic() - self._last_drop < _DROP_MEMORY_SECONDS
        )

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued (to the spool if the database refuses it), then stop."""
        if self._thread is None:
            return
        self._submit_made()  # what a stopped event loop left unbuilt
        self._stop.set()
        self._thread.join(timeout)
        if self._thread.is_alive():  # still writing: the spool stays open under it
            logger.error("The event writer did not finish within %g s", timeout)
            return
        self._thread = None
        if self.spool is not None:
            self.spool.close()

    def _run(self) -> None:
        while True:
            stopping = self._stop.wait(self.flush_seconds)
            try:
                self._flush(stopping)
            except Exception:  # a bug must not end the thread: every later event would be lost
                logger.exception("The prediction event writer failed; it carries on")
            if stopping:
                return

    def _flush(self, stopping: bool) -> None:
        if self.spool is not None and time.monotonic() >= self._next_adopt:
            self._next_adopt = time.monotonic() + _ADOPT_SECONDS
            self.spool.adopt()
        if self.spooling and (stopping or time.monotonic() >= self._next_replay):
            self._replay()
        # What waited at the wake-up, not what arrives meanwhile: chasing the newest events
        # would commit a few at a time, and every commit takes the GIL from the requests.
        # Stopping, write everything.
        waiting = len(self._queue)
        while self._queue and (waiting > 0 or stopping):
            size = min(self.batch_size, len(self._queue))
            self._writing = size  # before the pops: pending() never misses them
            batch = [self._queue.popleft() for _ in range(size)]
            waiting -= len(batch)
            try:
                self._write(batch)
            finally:
                self._writing = 0
        self.metrics.event_queue_depth.set(len(self._queue))
        self._publish_spool()

    def _write(self, batch: list[_Encoded]) -> None:
        if not self.spooling:  # once anything is spooled, later events queue up behind it
            try:
                self._store(batch)
                self.written += len(batch)
                self.metrics.events_written.inc(len(batch))
                return
            except sa.exc.SQLAlchemyError as exc:  # refused, lost, or no pooled connection
                self._refused(exc, len(batch))
        self._to_spool(batch)

    def _refused(self, exc: sa.exc.SQLAlchemyError, count: int) -> None:
        self._failures += 1
        wait = _RETRY_SECONDS[min(self._failures, len(_RETRY_SECONDS)) - 1]
        self._next_replay = time.monotonic() + wait
        if self._failures == 1 or self._failures % 50 == 0:
            logger.error(
                "The database refused %d prediction events (%s); spooling them, next try in %g s.",
                count,
                str(getattr(exc, "orig", None) or exc).strip().splitlines()[0],
                wait,
            )

    def _to_spool(self, batch: list[_Encoded]) -> None:
        if self.spool is None:
            self._drop(
                len(batch),
                "The %s database refused prediction events and this writer has no spool: "
                "dropped %d so far.",
                self.engine.dialect.name,
            )
            return
        lines = [
            b"["
            + b",".join(b'["%s",%s]' % (e.table.name.encode(), e.json(row)) for e, row in ev)
            + b"]"
            for ev in batch
        ]
        kept = self.spool.append(lines)
        self.spooled += kept
        self.metrics.events_spooled.inc(kept)
        if kept < len(batch):
            self._drop(
                len(batch) - kept,
                "The event spool is full or cannot be written (%s): dropped %d events so far.",
                self.spool.folder,
            )

    def _replay(self) -> None:
        assert self.spool is not None  # spooling implies a spool
        try:
            # A bounded share per wake-up: meanwhile new events go to the spool behind the
            # old ones, so a long replay never fills the queue in memory.
            replayed = self.spool.replay(
                self._replay_lines, self.batch_size, limit=_REPLAY_BATCHES * self.batch_size
            )
        except sa.exc.SQLAlchemyError as exc:
            self._refused(exc, 0)
            return
        self._failures = 0
        self._next_replay = 0.0  # accepted: go on at the next wake-up
        self._replayed_run += replayed
        if not self.spooling and self._replayed_run:
            logger.warning(
                "Replayed %d spooled prediction events into the database; the spool is empty.",
                self._replayed_run,
            )
            self._replayed_run = 0

    def _replay_lines(self, lines: list[bytes]) -> None:
        batch = [self._decode(line) for line in lines]
        self._store(batch)
        self.replayed += len(batch)
        self.metrics.events_replayed.inc(len(batch))

    def _decode(self, line: bytes) -> _Encoded:
        rows: list[tuple[str, list[object]]] = orjson.loads(line)
        # An item spooled before items carried their request's ``at`` (the last column)
        # takes it from its request, the first row of the same line.
        if rows[0][0] == predictions.name:
            at = rows[0][1][self._at]
            for name, row in rows[1:]:
                if name == prediction_items.name and len(row) < len(self._items.columns):
                    row.append(at)
        return tuple(
            (self._encoders[name], self._encoders[name].from_values(row)) for name, row in rows
        )

    def _store(self, batch: list[_Encoded]) -> None:
        """Commit ``batch``; raises SQLAlchemyError when the database refuses it.

        A batch with an event no database accepts (a value out of a column's range) is
        stored one event at a time, and only that event is dropped: one bad event must not
        hold the others in the spool forever.
        """
        try:
            self._insert(batch)
        except (sa.exc.DataError, sa.exc.IntegrityError) as exc:
            for event in batch:
                try:
                    self._insert([event])
                except (sa.exc.DataError, sa.exc.IntegrityError):
                    self._drop(1, "A prediction event cannot be stored (%s): dropped %d.", exc)

    def _insert(self, batch: list[_Encoded]) -> None:
        rows: dict[RowEncoder, list[EncodedRow]] = {e: [] for e in self._encoders.values()}
        for event in batch:
            for encoder, row in event:
                rows[encoder].append(row)
        with write(self.engine, durable=False, lock_wait=_LOCK_WAIT_SECONDS) as conn:
            for encoder, table_rows in rows.items():
                insert_encoded(conn, encoder, table_rows)

    def _publish_spool(self) -> None:
        if self.spool is not None:
            self.metrics.event_spool_bytes.set(self.spool.waiting_bytes)
