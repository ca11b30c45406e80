"""Retention: the event log deletes what it no longer needs, oldest first, in small batches.

A row may go when all of these hold:

* it is **folded**: its facts are in the stored aggregates (``folded`` is set by the fold
  pass), so experiments and reports keep their history; an unfolded row stays however old;
* it is older than the table's horizon (``keep_predictions``, ``keep_feedback``) and than
  the time every **guard** of its table allows (a guard is a function of a connection that
  says before when rows may go: e.g. drift summarised up to that day; ``None``: not yet);
* for feedback: its request is gone (or never existed). A late click is folded as a delta
  against the request's other feedback, which therefore stays while the request does.

Feedback whose request is gone can never be folded (there is nothing to credit it to): past
the feedback horizon it goes unfolded, or it would stay forever. Keep the horizons longer
than any outage after which predictions are replayed from a spool, so a click is not deleted
before its request arrives.

A prediction goes with its shown items (``prediction_items``) and shadow answers
(``shadow_predictions``). Predictions are judged by ``at`` and feedback by ``received_at``
(the server's clock: a client's ``at`` can be anything).

Each batch is one short transaction that selects up to ``batch_size`` rows through the
``ix_*_folded`` index (keyset: time, then id) and deletes them by primary key; between
batches the pass sleeps as long as the batch took, so it holds the database at most half
the time and requests never queue behind a long delete.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa

from champion import audit
from champion.clock import Clock
from champion.db import read, write
from champion.errors import InvalidInput
from champion.events import partitions
from champion.events.tables import feedback, prediction_items, predictions, shadow_predictions
from champion.settings import Settings

logger = logging.getLogger("champion.events")

__all__ = ["STARTED", "TABLES", "Retention", "RetentionGuard", "RetentionReport", "describe_keep"]

TABLES = ("predictions", "feedback")
"""The tables with a horizon; items and shadow answers go with their prediction."""

STARTED = "events.retention.started"
"""The audit action a pass records before its first delete (``deleted_before`` reads it)."""

_TIME = {"predictions": predictions.c.at, "feedback": feedback.c.received_at}
_KEY = {"predictions": predictions.c.request_id, "feedback": feedback.c.event_id}
_TABLE = {"predictions": predictions, "feedback": feedback}


class RetentionGuard(Protocol):
    """Before when the rows of a table may be deleted, as far as this guard knows; ``None``:
    no row may go yet. Guards of a table combine by ``min``."""

    def __call__(self, conn: sa.Connection) -> datetime | None: ...


def folded(table: sa.Table, value: bool = True) -> sa.ColumnElement[bool]:
    """``folded`` (or not) of ``table``'s rows, as the partial indexes are written."""
    return table.c.folded if value else sa.not_(table.c.folded)


@dataclass
class RetentionReport:
    """What a pass deleted (or, for a dry run, would delete), per table."""

    cutoffs: dict[str, datetime | None]
    deleted: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("predictions", "prediction_items", "shadow_predictions", "feedback"), 0
        )
    )
    batches: int = 0
    partitions: list[str] = field(default_factory=list)
    """The days whose partitions were dropped whole (PostgreSQL)."""
    seconds: float = 0.0
    dry_run: bool = False
    stopped: bool = False

    @property
    def total(self) -> int:
        return sum(self.deleted.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "cutoffs": {k: v.isoformat() if v else None for k, v in self.cutoffs.items()},
            "deleted": self.deleted,
            "batches": self.batches,
            "partitions": self.partitions,
            "seconds": round(self.seconds, 3),
            "dry_run": self.dry_run,
        }


Progress = Callable[[str, int], None]
"""Called after each batch with the table and the rows it deleted from it."""


class Retention:
    """Deletes folded events past their horizon; see the module doc.

    Parameters
    ----------
    keep
        The horizon per table (``"predictions"``, ``"feedback"``); ``None`` keeps forever.
    guards
        Per table, the guards that may hold rows back (more with :meth:`add_guard`).
    batch_size
        Rows per transaction.
    """

    def __init__(
        self,
        engine: sa.Engine,
        clock: Clock,
        keep: Mapping[str, timedelta | None],
        *,
        guards: Mapping[str, Sequence[RetentionGuard]] | None = None,
        batch_size: int = 2_000,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.keep = {table: keep.get(table) for table in TABLES}
        self.guards: dict[str, list[tuple[str, RetentionGuard]]] = {t: [] for t in TABLES}
        for table, found in (guards or {}).items():
            for guard in found:
                self.add_guard(table, guard)
        self.batch_size = batch_size

    @classmethod
    def from_settings(cls, settings: Settings, engine: sa.Engine, clock: Clock) -> Retention:
        keep = {"predictions": settings.keep_predictions, "feedback": settings.keep_feedback}
        return cls(engine, clock, keep, batch_size=settings.retention_batch_size)

    @property
    def enabled(self) -> bool:
        return any(keep is not None for keep in self.keep.values())

    def add_guard(self, table: str, guard: RetentionGuard, name: str | None = None) -> None:
        """Hold back rows of ``table`` (``predictions`` or ``feedback``) until ``guard`` allows."""
        if table not in self.guards:
            raise InvalidInput(
                f"Unknown table {table!r} for a retention guard; tables with retention: "
                f"{', '.join(TABLES)}."
            )
        label = name or str(getattr(guard, "__name__", repr(guard)))
        self.guards[table].append((label, guard))

    def cutoffs(self, conn: sa.Connection, now: datetime) -> dict[str, datetime | None]:
        """Per table, the time before which folded rows may go (``None``: none may)."""
        return {table: self.cutoff(conn, table, now)[0] for table in TABLES}

    def cutoff(
        self, conn: sa.Connection, table: str, now: datetime
    ) -> tuple[datetime | None, str | None]:
        """The table's cutoff and, when a guard set it below the horizon, that guard's name."""
        keep = self.keep[table]
        if keep is None:
            return None, None
        cutoff, holder = now - keep, None
        for name, guard in self.guards[table]:
            allowed = guard(conn)
            if allowed is None:
                return None, name
            if allowed < cutoff:
                cutoff, holder = allowed, name
        return cutoff, holder

    def run(
        self, *, progress: Progress | None = None, stop: threading.Event | None = None
    ) -> RetentionReport:
        """Delete every row that may go (predictions first, so their feedback follows in the
        same pass); records the pass in the audit log when it deleted something."""
        started = time.perf_counter()
        now = self.clock.now()
        with read(self.engine) as conn:
            cutoffs = self.cutoffs(conn, now)
        report = RetentionReport(cutoffs)
        # A table with nothing to delete when the pass began waits for the next pass: rows
        # folded meanwhile would go without the record that must come before them.
        going = self._announce(now, cutoffs)
        dropping = cutoffs["predictions"] if "predictions" in going else None
        if self.engine.dialect.name == "postgresql" and dropping is not None:
            self._drop_days(dropping, now, report, stop, progress)
        for table, delete_batch in (
            ("predictions", self._delete_predictions),
            ("feedback", self._delete_feedback),
            ("feedback", self._delete_orphans),
        ):
            cutoff = cutoffs[table] if table in going else None
            after: tuple[datetime, str] | None = None
            while cutoff is not None:
                if stop is not None and stop.is_set():
                    report.stopped = True
                    break
                began = time.perf_counter()
                deleted, after, selected = delete_batch(cutoff, after)
                if not selected:  # nothing left before the cutoff
                    break
                report.batches += 1
                for name, count in deleted.items():
                    report.deleted[name] += count
                if progress is not None:
                    progress(table, deleted[table])
                if selected < self.batch_size:  # that was the last of them
                    break
                # Yield: whatever waits for the write lock gets at least as long as we took.
                time.sleep(max(time.perf_counter() - began, 0.001))
        report.seconds = time.perf_counter() - started
        if report.total:
            self._audit(now, report)
        return report

    def _drop_days(
        self,
        cutoff: datetime,
        now: datetime,
        report: RetentionReport,
        stop: threading.Event | None,
        progress: Progress | None,
    ) -> None:
        """Drop each day partition wholly before ``cutoff`` whose predictions are all folded
        (PostgreSQL); what a day cannot drop whole, the batches delete."""
        with read(self.engine) as conn:
            days = sorted(d for d in partitions.day_partitions(conn, "predictions"))
        for day in days:
            if partitions.day_end(day) > cutoff or (stop is not None and stop.is_set()):
                return
            with read(self.engine) as conn:
                if conn.execute(
                    sa.select(sa.literal(True))
                    .where(predictions.c.at >= partitions.day_start(day))
                    .where(predictions.c.at < partitions.day_end(day))
                    .where(folded(predictions, False))
                    .limit(1)
                ).first():
                    continue  # the batches take its folded rows
                counts = partitions.count_day(conn, day)
            record = functools.partial(_record_drop, at=now, day=day, counts=counts, cutoff=cutoff)
            try:
                dropped = partitions.drop_day(self.engine, day, record)
            except sa.exc.OperationalError as exc:  # the tables stayed locked: next pass
                logger.warning("Could not drop the partitions of %s now (%s)", day, exc.orig)
                return
            if dropped:
                report.partitions.append(day.isoformat())
                for table, count in counts.items():
                    report.deleted[table] += count
                if progress is not None and counts["predictions"]:
                    progress("predictions", counts["predictions"])

    def plan(self) -> RetentionReport:
        """A dry run: how many rows a pass now would delete, per table."""
        started = time.perf_counter()
        now = self.clock.now()
        with read(self.engine) as conn:
            cutoffs = self.cutoffs(conn, now)
            report = RetentionReport(cutoffs, dry_run=True)
            going = self._going_predictions(cutoffs["predictions"])
            ids = going.subquery()
            report.deleted["predictions"] = _count(conn, sa.select(ids.c.request_id))
            for table in (prediction_items, shadow_predictions):
                request = table.c.request_id
                report.deleted[table.name] = _count(
                    conn, sa.select(request).where(request.in_(sa.select(ids.c.request_id)))
                )
            if cutoffs["feedback"] is not None:
                # Counted as the pass would find them: after this pass's predictions went.
                kept = sa.select(predictions.c.request_id).where(
                    predictions.c.request_id == feedback.c.request_id,
                    predictions.c.request_id.not_in(sa.select(ids.c.request_id)),
                )
                # Folded, or unfolded with its request gone (nothing will ever fold it).
                report.deleted["feedback"] = _count(
                    conn,
                    sa.select(feedback.c.event_id).where(
                        feedback.c.received_at < cutoffs["feedback"], ~kept.exists()
                    ),
                )
        report.seconds = time.perf_counter() - started
        return report

    def _going_predictions(self, cutoff: datetime | None) -> sa.Select[Any]:
        query = sa.select(predictions.c.request_id).where(folded(predictions))
        if cutoff is None:
            return query.where(sa.false())
        return query.where(predictions.c.at < cutoff)

    def _delete_predictions(
        self, cutoff: datetime, after: tuple[datetime, str] | None
    ) -> tuple[dict[str, int], tuple[datetime, str] | None, int]:
        with write(self.engine, durable=False) as conn:
            last, ids = _next_batch(conn, "predictions", cutoff, after, self.batch_size)
            if not ids:
                return {"predictions": 0}, None, 0
            # Checked again as it is deleted: a row unflagged meanwhile (a rebuild) stays.
            gone = list(
                conn.execute(
                    sa.delete(predictions)
                    .where(predictions.c.request_id.in_(ids), folded(predictions))
                    .returning(predictions.c.request_id)
                ).scalars()
            )
            deleted = {"predictions": len(gone)}
            for table in (prediction_items, shadow_predictions):
                result = conn.execute(sa.delete(table).where(table.c.request_id.in_(gone)))
                deleted[table.name] = result.rowcount
        return deleted, last, len(ids)

    def _delete_feedback(
        self, cutoff: datetime, after: tuple[datetime, str] | None
    ) -> tuple[dict[str, int], tuple[datetime, str] | None, int]:
        request_kept = _request_kept()
        with write(self.engine, durable=False) as conn:
            # Feedback whose request is kept is passed over: the keyset moves on past it.
            last, ids = _next_batch(conn, "feedback", cutoff, after, self.batch_size)
            if not ids:
                return {"feedback": 0}, None, 0
            result = conn.execute(
                sa.delete(feedback).where(
                    feedback.c.event_id.in_(ids), folded(feedback), ~request_kept
                )
            )
        return {"feedback": result.rowcount}, last, len(ids)

    def _delete_orphans(
        self, cutoff: datetime, after: tuple[datetime, str] | None
    ) -> tuple[dict[str, int], tuple[datetime, str] | None, int]:
        """Unfolded feedback past the horizon whose request is gone: nothing will fold it."""
        orphan = folded(feedback, False) & ~_request_kept()
        with write(self.engine, durable=False) as conn:
            last, ids = _next_batch(conn, "feedback", cutoff, after, self.batch_size, orphan)
            if not ids:
                return {"feedback": 0}, None, 0
            result = conn.execute(sa.delete(feedback).where(feedback.c.event_id.in_(ids), orphan))
        return {"feedback": result.rowcount}, last, len(ids)

    def _announce(self, now: datetime, cutoffs: dict[str, datetime | None]) -> list[str]:
        """Record which tables this pass will delete from, and before when, ahead of the
        first delete: exact windows stop reading the raw rows of a segment once its rows
        may be gone (``cuts``), so no read between a delete and the pass's record misses
        them. Returns those tables."""
        with read(self.engine) as conn:
            going = [table for table in TABLES if _any_going(conn, table, cutoffs[table])]
        if not going:
            return going
        with write(self.engine) as conn:
            audit.record(
                conn,
                at=now,
                actor="retention",
                action=STARTED,
                target="events",
                details={
                    "cutoffs": {t: c.isoformat() for t, c in cutoffs.items() if c is not None},
                    "deleting": going,
                },
                reason="Deleting events past retention from " + ", ".join(going),
            )
        return going

    def _audit(self, now: datetime, report: RetentionReport) -> None:
        keep = {t: describe_keep(k) for t, k in self.keep.items() if k is not None}
        with write(self.engine) as conn:
            audit.record(
                conn,
                at=now,
                actor="retention",
                action="events.retention",
                target="events",
                details={**report.to_json(), "keep": keep},
                reason="Deleted folded events past retention: "
                + ", ".join(f"{table} older than {k}" for table, k in keep.items()),
            )


def _any_going(conn: sa.Connection, table: str, cutoff: datetime | None) -> bool:
    # A row a pass may delete: folded and older than the cutoff (an unfolded feedback event
    # past it goes too once its request is gone, so any feedback that old counts).
    if cutoff is None:
        return False
    at = _TIME[table]
    which = folded(predictions) if table == "predictions" else sa.true()
    query = sa.select(sa.literal(True)).where(at < cutoff, which).limit(1)
    return conn.execute(query).first() is not None


def _record_drop(
    conn: sa.Connection, *, at: datetime, day: date, counts: dict[str, int], cutoff: datetime
) -> None:
    audit.record(
        conn,
        at=at,
        actor="retention",
        action="events.retention.drop_day",
        target="events",
        details={"day": day.isoformat(), "deleted": counts},
        reason=f"Dropped the partitions of {day.isoformat()}: every prediction of that day "
        f"is folded and older than the cutoff {cutoff.isoformat()}",
    )


def _next_batch(
    conn: sa.Connection,
    name: str,
    cutoff: datetime,
    after: tuple[datetime, str] | None,
    size: int,
    which: sa.ColumnElement[bool] | None = None,
) -> tuple[tuple[datetime, str] | None, list[str]]:
    """The next ``size`` rows of ``name`` before ``cutoff`` (after ``after``) that ``which``
    picks (default: the folded ones), and the last one's (time, id) to continue from;
    ``(None, [])`` when there are none."""
    at, key = _TIME[name], _KEY[name]
    which = folded(_TABLE[name]) if which is None else which
    query = sa.select(at, key).where(which, at < cutoff)
    if after is not None:
        query = query.where(sa.tuple_(at, key) > sa.tuple_(*after))
    rows = conn.execute(query.order_by(at, key).limit(size)).all()
    if not rows:
        return None, []
    return (rows[-1][0], rows[-1][1]), [row[1] for row in rows]


def _request_kept() -> sa.Exists:
    return (
        sa.select(predictions.c.request_id)
        .where(predictions.c.request_id == feedback.c.request_id)
        .exists()
    )


def _count(conn: sa.Connection, query: sa.Select[Any]) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one())


def describe_keep(keep: timedelta) -> str:
    """``timedelta(days=30)`` → ``"30d"``, as the settings are written.

    >>> describe_keep(timedelta(days=30)), describe_keep(timedelta(minutes=90))
    ('30d', '90m')
    """
    seconds = int(keep.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
