"""The fold pass: raw prediction and feedback rows added once to the stored aggregates.

A pass takes predictions not folded yet and older than ``now - lag`` (in batches, one
transaction each), computes each request's facts from its raw rows (the request, its shown
items, all its feedback so far; see ``facts``), adds them to the rollup tables and marks the
request and exactly the feedback it used as folded. Feedback that arrives once its request
is folded is added by a later pass as a delta: the request's facts with that feedback minus
its facts with only the feedback folded before. Nothing keys on a time watermark, only on the
flags, so a prediction replayed late with an old time is folded like any other and no event
is counted twice or missed. On PostgreSQL the rows are taken ``FOR UPDATE SKIP LOCKED``; on
SQLite the write transaction serialises passes.

Every report reads the rollups plus the same facts computed for what is not folded yet, so
its answer is the same before and after a pass, and once raw rows are folded they may be
deleted (retention) without changing any report.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from champion.audit import audit_log
from champion.db.dialects import among, sum_upsert
from champion.db.engine import write
from champion.errors import InvalidInput
from champion.events.facts import Facts, Key, request_facts
from champion.events.rollup_tables import (
    compacted_segments,
    interleaving_rollups,
    labelled_predictions,
    ranked_clicks,
    reward_rollups,
    rollup_sketches,
    rollups,
    slot_rollups,
    slot_sketches,
)
from champion.events.slots import keep_all, kept_since, prune, slot_floor
from champion.events.tables import feedback, prediction_items, predictions
from champion.events.totals import clear_totals, experiment_bounds, maintain, mark_built

__all__ = [
    "BATCH",
    "DAY",
    "add_sums",
    "backlog",
    "clear",
    "fold",
    "has_work",
    "load_raw",
    "rebuild",
    "segment_floor",
    "segment_starts",
]

BATCH = 5_000
"""Requests (or late feedback events) folded per transaction."""

DAY = timedelta(days=1)
"""The functions' default segment, a UTC day; a server folds with
``CHAMPION_ROLLUP_SEGMENT_SECONDS`` (an hour by default)."""

_SUM_TABLES = {
    t.name: t
    for t in (
        rollups, reward_rollups, rollup_sketches, interleaving_rollups, slot_rollups,
        slot_sketches,
    )
}  # fmt: skip
_ROW_TABLES = {t.name: t for t in (labelled_predictions, ranked_clicks)}


def fold(
    target: sa.Engine | sa.Connection,
    now: datetime,
    *,
    lag: timedelta = timedelta(0),
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
    segment: timedelta = DAY,
) -> int:
    """Fold every prediction older than ``now - lag`` and every late feedback event of a
    folded request; returns how many rows (predictions and feedback) were folded.
    ``segment`` is the length of a segment (it divides a day; see :func:`segment_starts`).

    With an engine each batch commits on its own; with a connection every batch runs in the
    caller's transaction (the retention pass folds first, then deletes, in one). ``progress``
    gets the rows folded by each batch.
    """
    cutoff = now - lag
    total = 0
    # Late feedback once, before the new requests: those take their own feedback with them,
    # so none of theirs is late within this pass. Looking for late feedback before every
    # batch would walk all the unfolded feedback each time, which after a bulk load is the
    # feedback of every request not folded yet (quadratic in the backlog).
    for step in (_fold_late, _fold_fresh):
        while True:
            if isinstance(target, sa.Engine):
                with write(target) as conn:
                    done = step(conn, cutoff, batch, segment)
            else:
                done = step(target, cutoff, batch, segment)
            if done == 0:
                break
            total += done
            if progress is not None:
                progress(done)
    return total


def backlog(conn: sa.Connection) -> int:
    """Predictions not folded yet."""
    query = sa.select(sa.func.count()).where(sa.not_(predictions.c.folded))
    return int(conn.execute(query).scalar_one())


def has_work(conn: sa.Connection) -> bool:
    """Whether a pass would fold anything: a prediction not folded yet, or feedback not
    folded yet on a folded one."""
    fresh = sa.select(predictions.c.request_id).where(sa.not_(predictions.c.folded))
    late = _late_feedback(feedback.c.event_id)
    return any(conn.execute(query.limit(1)).first() is not None for query in (fresh, late))


def _late_feedback(*columns: sa.ColumnElement[Any]) -> sa.Select[Any]:
    """``columns`` of the feedback that arrived once its request was folded."""
    p, f = predictions, feedback
    return (
        sa.select(*columns)
        .join(p, p.c.request_id == f.c.request_id)
        .where(sa.not_(f.c.folded) & p.c.folded)
    )


def clear(conn: sa.Connection) -> None:
    """Empty every rollup table and the totals kept beside them, and mark every raw row
    unfolded (before a refold)."""
    for table in (*_SUM_TABLES.values(), *_ROW_TABLES.values(), compacted_segments):
        conn.execute(table.delete())
    clear_totals(conn)
    keep_all(conn)
    for events in (predictions, feedback):
        conn.execute(events.update().where(events.c.folded).values(folded=False))


def rebuild(
    engine: sa.Engine,
    now: datetime,
    *,
    lag: timedelta = timedelta(0),
    progress: Callable[[int, int], None] | None = None,
    segment: timedelta = DAY,
) -> int:
    """Empty the rollups, mark every raw row unfolded and fold them all again (for upgrades
    and repairs); ``progress`` gets (rows folded so far, rows to fold). Returns the rows
    folded. Refused once retention has deleted raw rows: the rollups then hold the only
    copy of their history, and a rebuild would lose it."""
    with write(engine) as conn:
        deleted = conn.execute(
            sa.select(sa.func.min(audit_log.c.at)).where(audit_log.c.action == "events.retention")
        ).scalar_one_or_none()
        if deleted is not None:
            raise InvalidInput(
                "Retention has deleted raw events since "
                f"{deleted:%Y-%m-%d %H:%M} UTC: the rollups hold the only copy of their "
                "history, and rebuilding them from the raw rows left would lose it."
            )
        clear(conn)
        # Empty and kept by the refold from here on, as the rollups are; the slots only for
        # the last day.
        mark_built(conn)
        prune(conn, now)
        total = backlog(conn) + int(
            conn.execute(sa.select(sa.func.count()).select_from(feedback)).scalar_one()
        )
    if engine.dialect.name == "postgresql":
        # Every row just changed its flag: with the statistics of before (all folded) the
        # planner sorts the whole backlog for each batch (0.8 s a batch at 10^6 rows)
        # instead of reading the unfolded rows' index in order (17 ms).
        with write(engine) as conn:
            conn.execute(sa.text("ANALYZE predictions, feedback"))
    done = 0

    def advance(rows: int) -> None:
        nonlocal done
        done += rows
        if progress is not None:
            progress(done, max(total, done))

    return fold(engine, now, lag=lag, progress=advance, segment=segment)


def _fold_late(conn: sa.Connection, cutoff: datetime, batch: int, segment: timedelta) -> int:
    """Feedback that arrived once its request was folded, added as a delta."""
    p, f = predictions, feedback
    conn.info.pop("champion_pending_facts", None)  # what reads computed before this pass
    late = (
        _late_feedback(f.c.event_id, f.c.request_id, p.c.at).order_by(f.c.received_at).limit(batch)
    )
    if conn.dialect.name == "postgresql":
        # Locks the request too: two passes adding deltas to one request at once would each
        # count the same change.
        late = late.with_for_update(skip_locked=True)
    found = conn.execute(late).all()
    if not found:
        return 0
    events = [event_id for event_id, _, _ in found]
    facts = Facts()
    requests = sorted({request_id for _, request_id, _ in found})
    raw = load_raw(conn, requests, events=set(events), within=_span([at for _, _, at in found]))
    _facts(conn, raw, facts, delta=True, segment=segment)
    _store(conn, facts)
    _mark_feedback_folded(conn, events)
    return len(events)


def _fold_fresh(conn: sa.Connection, cutoff: datetime, batch: int, segment: timedelta) -> int:
    """Requests older than ``cutoff`` not folded yet, each with all its feedback so far."""
    p = predictions
    conn.info.pop("champion_pending_facts", None)
    fresh = (
        sa.select(p.c.request_id, p.c.at)
        .where(sa.not_(p.c.folded) & (p.c.at < cutoff))
        .order_by(p.c.at)
        .limit(batch)
    )
    if conn.dialect.name == "postgresql":
        fresh = fresh.with_for_update(skip_locked=True)
    found = conn.execute(fresh).all()
    if not found:
        return 0
    requests = [request_id for request_id, _ in found]
    within = _span([at for _, at in found])
    raw = load_raw(conn, requests, within=within)
    facts = Facts()
    _facts(conn, raw, facts, delta=False, segment=segment)
    _store(conn, facts)
    listed = among(conn.dialect.name, p.c.request_id, requests)
    conn.execute(p.update().where(listed, p.c.at.between(*within)).values(folded=True))
    events = [e["event_id"] for _, _, feedback_rows in raw for e in feedback_rows]
    _mark_feedback_folded(conn, events)
    return len(requests) + len(events)


def _mark_feedback_folded(conn: sa.Connection, events: list[str]) -> None:
    if events:
        update = feedback.update().where(among(conn.dialect.name, feedback.c.event_id, events))
        conn.execute(update.values(folded=True))


def _span(times: Sequence[datetime]) -> tuple[datetime, datetime]:
    return min(times), max(times)


# Every column but the inputs, which no fact needs (and which hold most of a row's bytes),
# and the outputs, which only a label needs (read for those requests only).
_REQUEST = [c for c in predictions.columns if c.name not in ("inputs", "outputs")]

Raw = list[tuple[Mapping[str, Any], list[Mapping[str, Any]], list[Mapping[str, Any]]]]


def load_raw(
    conn: sa.Connection,
    request_ids: Sequence[str],
    *,
    events: set[str] | None = None,
    within: tuple[datetime, datetime] | None = None,
) -> Raw:
    """Each request's prediction row, shown items and feedback rows (with their ``folded``
    flag); ``events`` limits the unfolded feedback to those event ids. ``within``: the
    earliest and latest ``at`` of the requests, which lets PostgreSQL read only those days'
    partitions (a lookup by id alone reads every day kept). A request's ``outputs`` are read
    only when it has a label (what scores it)."""
    p, i, f = predictions, prediction_items, feedback
    dialect = conn.dialect.name
    found: dict[str, tuple[dict[str, Any], list[Mapping[str, Any]], list[Mapping[str, Any]]]]
    found = {}
    for start in range(0, len(request_ids), 5_000):
        chunk = list(request_ids[start : start + 5_000])
        requests = sa.select(*_REQUEST).where(among(dialect, p.c.request_id, chunk))
        shown = sa.select(i).where(among(dialect, i.c.request_id, chunk)).order_by(i.c.position)
        if within is not None:
            requests = requests.where(p.c.at.between(*within))
            shown = shown.where(i.c.at.between(*within))
        for row in _dicts(conn, requests):
            row["outputs"] = None
            found[row["request_id"]] = (row, [], [])
        for row in _dicts(conn, shown):
            if row["request_id"] in found:
                found[row["request_id"]][1].append(row)
        reactions = sa.select(f).where(among(dialect, f.c.request_id, chunk))
        labelled = set()
        for row in _dicts(conn, reactions.order_by(f.c.event_id)):
            used = row["folded"] or events is None or row["event_id"] in events
            if row["request_id"] in found and used:
                found[row["request_id"]][2].append(row)
                if row["kind"] == "label":
                    labelled.add(row["request_id"])
        if labelled:
            outputs = sa.select(p.c.request_id, p.c.outputs).where(
                among(dialect, p.c.request_id, sorted(labelled))
            )
            if within is not None:
                outputs = outputs.where(p.c.at.between(*within))
            for request_id, output in conn.execute(outputs):
                found[request_id][0]["outputs"] = output
    return [found[r] for r in request_ids if r in found]


def _dicts(conn: sa.Connection, query: sa.Select[Any]) -> list[dict[str, Any]]:
    # One dict per row, the column names taken once (a RowMapping rebuilds them per row).
    result = conn.execute(query)
    names = list(result.keys())
    return [dict(zip(names, values, strict=True)) for values in result]


def _facts(conn: sa.Connection, raw: Raw, facts: Facts, *, delta: bool, segment: timedelta) -> None:
    # Added straight into the batch's facts (a merge would copy every sum again).
    starts = segment_starts(conn, [request for request, _, _ in raw], segment)
    since = kept_since(conn)
    for (request, items, events), start in zip(raw, starts, strict=True):
        # Per slot only where the slots are kept (a backfill of old events adds none).
        slot = slot_floor(request["at"])
        kept = slot if slot >= since else None
        request_facts(request, items, events, start, facts, slot=kept)
        if delta:
            folded = [e for e in events if e["folded"]]
            request_facts(request, items, folded, start, facts, -1.0, kept)


def segment_starts(
    conn: sa.Connection, requests: Sequence[Mapping[str, Any]], segment: timedelta = DAY
) -> list[datetime]:
    """The start of each request's segment: the latest UTC midnight (or multiple of
    ``segment`` after one) or start or end of an experiment on its endpoint at or before its
    time."""
    bounds = experiment_bounds(conn, {r["endpoint"] for r in requests})
    starts = []
    for r in requests:
        at: datetime = r["at"].astimezone(UTC)
        start = segment_floor(at, segment)
        times = bounds[r["endpoint"]]
        index = bisect.bisect_right(times, at) - 1
        if index >= 0 and times[index] > start:
            start = times[index]
        starts.append(start)
    return starts


def segment_floor(at: datetime, segment: timedelta = DAY) -> datetime:
    """The latest multiple of ``segment`` after a UTC midnight at or before ``at``.

    >>> segment_floor(datetime(2026, 3, 1, 13, 47, 5, tzinfo=UTC), timedelta(minutes=5))
    datetime.datetime(2026, 3, 1, 13, 45, tzinfo=datetime.timezone.utc)
    """
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    seconds = int(segment.total_seconds())
    since = (at - midnight).total_seconds()
    return midnight + timedelta(seconds=int(since // seconds) * seconds)


def _store(conn: sa.Connection, facts: Facts) -> None:
    # Tables and rows in one fixed order: two passes upserting the same rollup rows at once
    # (a rebuild beside the server's loop) then take their row locks in the same order,
    # and wait for each other instead of deadlocking.
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    for name, table in _SUM_TABLES.items():
        keyed = facts.sums.get(name)
        if keyed:
            add_sums(conn, table, keyed)
    maintain(conn, facts.sums.get("rollups", {}), facts.sums.get("rollup_sketches"))
    for name, table in _ROW_TABLES.items():
        rows = facts.rows.get(name)
        if rows:
            keys = [c.name for c in table.primary_key.columns]
            statement = dialect.insert(table).on_conflict_do_nothing(index_elements=keys)
            conn.execute(statement, [rows[key] for key in sorted(rows)])


def add_sums(conn: sa.Connection, table: sa.Table, keyed: dict[Key, dict[str, float]]) -> None:
    """Add ``keyed`` (primary key → sums of the other columns) to ``table``'s rows, creating
    the rows that do not exist yet."""
    upsert = sum_upsert(table, conn.dialect.name)
    values = upsert.columns[len(table.primary_key.columns) :]
    zeros = [0] * len(values)
    upsert(conn, ([*key, *map(sums.get, values, zeros)] for key, sums in sorted(keyed.items())))
