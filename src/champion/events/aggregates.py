"""Aggregates read from the rollups plus what is not folded yet, in one snapshot.

Every read has two halves: the rollup rows of the scope (folded requests, whole segments by
their start) and the facts of the requests the fold pass has not reached, plus the deltas of
folded requests whose feedback arrived since (``facts``, computed from raw rows, by their
exact time). Callers read in one transaction (``champion.db.read``: a snapshot on both
databases), so a fold pass running meanwhile is seen entirely or not at all.

A segment runs from one boundary to the next (UTC midnights, every segment length after one,
an experiment's start and end), so a scope whose start and end are boundaries takes whole
segments. Any other time (a scope's start or end, a chart's inner edge: a *cut*) may fall
inside a folded segment; the read then needs no segment length to stay exact
(``cuts.exact``, which sets :attr:`Scope.raw`):

- the segment holding a cut is the one whose start is the latest ``segment_start`` of the
  endpoint at or before it, and it runs at most to the next ``segment_start`` after it (a
  folded request sits in the segment starting last at or before its time, so no folded
  request between those two starts belongs to another segment). The boundaries known without
  a segment length narrow both: no segment crosses a UTC midnight or an experiment's start
  or end, so a cut on one of those cuts nothing;
- when that start is before the cut, the time range from it to the next start (clipped to
  the scope) is read from the raw rows: each request in it with all its feedback, folded or
  not, by its exact time (:func:`raw_facts`), and the rollup rows of the segments starting
  in it are left out of every rollup read (:func:`where`);
- the pending facts of that range (requests not folded yet, deltas of late feedback) are
  left out too: the raw read counts those requests whole, once. The label and click rows
  keep their request's exact time when folded, so they are read as before;
- units stay distinct: a unit with a request in a raw range counts once per window and
  version unless its folded rows there already count it (``version_stats`` and ``moments``
  look those up for the pending facts' units, raw ranges included).

Only the partial segments at the cuts come from raw rows: a chart whose windows are at
least a segment wide cuts only at its two ends once its inner edges sit on segment
boundaries (``cuts.chart_edges``, what ``/stats?buckets=`` uses). Once retention has deleted
the raw rows of such a range (its audit records say up to when), it is not cut: its segment
counts whole in the window holding its start, as reads did before, and ``cuts.cuts`` says
which segments those are (``/stats`` answers them as ``whole_segments``).
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from champion.events.facts import Facts, request_facts
from champion.events.rollup_tables import rollup_sketches, rollups
from champion.events.rollups import load_raw
from champion.events.tables import feedback, predictions

__all__ = [
    "Histograms",
    "Looks",
    "Scope",
    "by_window",
    "first_time",
    "pending",
    "pending_within",
    "per_window",
    "raw_facts",
    "rows_of",
    "sketches",
    "sketches_by_window",
    "snapshot_cache",
    "stretch",
    "totals",
    "unindexed",
    "where",
]

_BY = ("endpoint", "config_version", "arm", "model", "version", "unit")


@dataclass(frozen=True)
class Scope:
    """Which events a read covers; ``arms`` None is every arm."""

    endpoint: str
    arms: Sequence[str] | None = None
    since_config: int | None = None
    until_config: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    model: str | None = None
    version: int | None = None
    raw: tuple[tuple[datetime, datetime], ...] = ()
    """Time ranges read from the raw rows whatever is folded (increasing, disjoint; set by
    ``cuts.exact``): the rollup rows of segments starting in them are left out."""


@dataclass(frozen=True)
class Looks:
    """A timeline's cumulative looks at one scope, ``[start, ends[k])``, when some end cuts a
    folded segment (``cuts.looks``): look ``k`` reads the rollups and the pending facts up
    to ``snapped[k]`` (the start of the range its end cuts, or its end) and the requests of
    ``raw`` (every request of the ranges cut, whole) from there to its end. ``scopes`` are
    the looks as a read of one names them (``cuts.exact``)."""

    ends: Sequence[datetime | None]
    snapped: Sequence[datetime | None]
    scopes: Sequence[Scope]
    raw: Facts

    def spanning(self, at: datetime) -> tuple[int, int]:
        """The looks ``k`` from the first to the last returned (exclusive) whose raw part,
        ``[snapped[k], ends[k])``, holds ``at`` (both lists increase)."""
        ends, snapped = self._sorted
        first = bisect.bisect_right(ends, at)
        return first, max(first, bisect.bisect_right(snapped, at))

    @functools.cached_property
    def _sorted(self) -> tuple[list[datetime], list[datetime]]:
        return [_last(end) for end in self.ends], [_last(s) for s in self.snapped]


_FOREVER = datetime.max.replace(tzinfo=UTC)


def _last(at: datetime | None) -> datetime:
    return _FOREVER if at is None else at


def where(
    table: sa.Table, scope: Scope, time: str = "segment_start", *, indexed: bool = True
) -> sa.ColumnElement[bool]:
    """The rows of ``table`` in ``scope``, by ``time`` (a rollup's segment or a row's time;
    by segment, those starting in the scope's ``raw`` ranges are left out); ``indexed`` off
    keeps the endpoint's index out (see :func:`unindexed`)."""
    c = table.c
    condition = (c.endpoint if indexed else unindexed(c.endpoint)) == scope.endpoint
    if scope.arms is not None:
        condition &= c.arm.in_(list(scope.arms))
    if scope.since_config is not None:
        condition &= c.config_version >= scope.since_config
    if scope.until_config is not None:
        condition &= c.config_version <= scope.until_config
    if scope.start is not None:
        condition &= c[time] >= scope.start
    if scope.end is not None:
        condition &= c[time] < scope.end
    if scope.model is not None:
        condition &= (c.model == scope.model) & (c.version == scope.version)
    if time == "segment_start":
        for start, end in scope.raw:
            condition &= sa.not_((c.segment_start >= start) & (c.segment_start < end))
    return condition


def unindexed(column: sa.Column[Any]) -> sa.ColumnElement[Any]:
    """``column`` as an expression no index serves (SQLite's unary ``+``), for queries of
    the rows not folded yet: without statistics SQLite's planner prefers an index on the
    endpoint (every row of it) to the partial index of unfolded rows (a few)."""
    return column + ""


def pending(conn: sa.Connection, scope: Scope) -> Facts:
    """The facts in ``scope`` not in the rollups yet: unfolded requests with all their
    feedback, and for folded requests the feedback not folded yet (as deltas). Keys end with
    the request's time (where the rollups have a segment's start). In the scope's ``raw``
    ranges, every request with all its feedback instead (see the module docstring). Kept
    for the transaction: callers read it, never change it."""
    cache = snapshot_cache(conn)
    key = ("pending in", replace(scope, arms=_arms(scope)))
    if key not in cache:
        facts = _endpoint_pending(conn, scope.endpoint)
        if scope.raw:
            facts = _outside(facts, scope.raw).merge(raw_facts(conn, scope.endpoint, scope.raw))
        cache[key] = pending_within(facts, scope)
    found: Facts = cache[key]
    return found


def raw_facts(
    conn: sa.Connection, endpoint: str, ranges: Sequence[tuple[datetime, datetime]]
) -> Facts:
    """The facts of every request of ``endpoint`` in the time ``ranges``, folded or not, with
    all its feedback, keyed by its time; no label or click rows (those of folded requests are
    read from their copies). Kept for the transaction."""
    cache = snapshot_cache(conn)
    key = ("raw", endpoint, tuple(ranges))
    if key in cache:
        found: Facts = cache[key]
        return found
    for held, facts in list(cache.items()):
        # Ranges inside those of facts read before (a timeline's looks): a subset of them.
        if isinstance(held, tuple) and held[:2] == key[:2] and _covers(held[2], ranges):
            found = Facts()
            for table, keyed in facts.sums.items():
                found.sums[table] = {k: v for k, v in keyed.items() if _inside(k[-1], ranges)}
            cache[key] = found
            return found
    p = predictions
    query = sa.select(p.c.request_id, p.c.at).where(
        (p.c.endpoint == endpoint) & _in_ranges(p.c.at, ranges)
    )
    times = dict(conn.execute(query).all())
    facts = Facts()
    if times:
        within = (min(times.values()), max(times.values()))
        for request, items, events in load_raw(conn, sorted(times), within=within):
            request_facts(request, items, events, request["at"], facts)
    facts.rows = {}
    cache[key] = facts
    return facts


def _in_ranges(
    at: sa.Column[Any], ranges: Sequence[tuple[datetime, datetime]]
) -> sa.ColumnElement[bool]:
    inside: sa.ColumnElement[bool] = sa.false()
    for start, end in ranges:
        inside |= (at >= start) & (at < end)
    return inside


def _inside(at: datetime, ranges: Sequence[tuple[datetime, datetime]]) -> bool:
    return any(a <= at < b for a, b in ranges)


def _covers(
    held: Sequence[tuple[datetime, datetime]], ranges: Sequence[tuple[datetime, datetime]]
) -> bool:
    return all(any(a <= start and end <= b for a, b in held) for start, end in ranges)


def _outside(facts: Facts, ranges: Sequence[tuple[datetime, datetime]]) -> Facts:
    # The sums of ``facts`` whose time is in none of ``ranges``, and every row.
    found = Facts(rows=dict(facts.rows))
    for table, keyed in facts.sums.items():
        found.sums[table] = {k: v for k, v in keyed.items() if not _inside(k[-1], ranges)}
    return found


def by_window(facts: Facts, edges: Sequence[datetime | None]) -> list[Facts]:
    """Pending ``facts`` of ``[edges[0], edges[-1])`` split into the windows between
    consecutive ``edges`` (increasing; only the first and the last may be None), each fact by
    the time its key (or row) ends with: the request's, where a rollup has its segment's
    start."""
    inner = [edge for edge in edges[1:-1] if edge is not None]
    found = [Facts() for _ in edges[1:]]
    for table, keyed in facts.sums.items():
        for key, values in keyed.items():
            found[bisect.bisect_right(inner, key[-1])].sums.setdefault(table, {})[key] = values
    for table, rows in facts.rows.items():
        for key, row in rows.items():
            found[bisect.bisect_right(inner, row["at"])].rows.setdefault(table, {})[key] = row
    return found


# Computed once per endpoint and transaction: a report asks for several scopes, and its
# transaction is one snapshot (the fold pass drops the entry before it writes).
CACHE = "champion_pending_facts"


def snapshot_cache(conn: sa.Connection) -> dict[Any, Any]:
    """Answers kept for ``conn``'s transaction only (one snapshot): a new transaction starts
    empty, and the fold pass empties it before it writes."""
    transaction = conn.get_transaction()
    cached: tuple[Any, dict[Any, Any]] | None = conn.info.get(CACHE)
    if cached is None or transaction is None or cached[0] is not transaction:
        cached = (transaction, {})
        if transaction is not None:
            conn.info[CACHE] = cached
    return cached[1]


def _endpoint_pending(conn: sa.Connection, endpoint: str) -> Facts:
    cache = snapshot_cache(conn)
    if ("pending", endpoint) in cache:
        facts: Facts = cache[("pending", endpoint)]
        return facts
    p, f = predictions, feedback
    inside = unindexed(p.c.endpoint) == endpoint
    unfolded = sa.select(p.c.request_id, p.c.at).where(sa.not_(p.c.folded) & inside)
    late = (
        sa.select(p.c.request_id, p.c.at)
        .where(p.c.request_id.in_(sa.select(f.c.request_id).where(sa.not_(f.c.folded))))
        .where(p.c.folded & inside)
    )
    found: dict[str, datetime] = {
        request_id: at for query in (unfolded, late) for request_id, at in conn.execute(query)
    }
    ids = sorted(found)
    within = (min(found.values()), max(found.values())) if found else None
    facts = Facts()
    for request, items, events in load_raw(conn, ids, within=within):
        request_facts(request, items, events, request["at"], facts)
        if request["folded"]:
            folded = [e for e in events if e["folded"]]
            request_facts(request, items, folded, request["at"], facts, -1.0)
    cache[("pending", endpoint)] = facts
    return facts


def pending_within(facts: Facts, scope: Scope) -> Facts:
    """The facts of ``facts`` (keys ending with a request's time) in ``scope``."""
    arms = None if scope.arms is None else set(scope.arms)

    def inside(config: int, arm: str | None, at: datetime) -> bool:
        return (
            (arms is None or arm in arms)
            and (scope.since_config is None or config >= scope.since_config)
            and (scope.until_config is None or config <= scope.until_config)
            and (scope.start is None or at >= scope.start)
            and (scope.end is None or at < scope.end)
        )

    def version(model: str, number: int) -> bool:
        return scope.model is None or (model, number) == (scope.model, scope.version)

    found = Facts()
    for table, keyed in facts.sums.items():
        kept = found.sums.setdefault(table, {})
        for key, values in keyed.items():
            arm = "interleave" if table == "interleaving_rollups" else key[2]
            if not inside(key[1], arm, key[-1]):
                continue
            if table in ("rollups", "rollup_sketches") and not version(key[3], key[4]):
                continue
            kept[key] = values
    for table, rows in facts.rows.items():
        found.rows[table] = {
            key: row
            for key, row in rows.items()
            if inside(row["config_version"], row["arm"], row["at"])
            and ("model" not in row or version(row["model"], row["version"]))
        }
    return found


def totals(
    conn: sa.Connection,
    scope: Scope,
    by: Sequence[str],
    columns: Sequence[str],
    facts: Facts | None = None,
    nonzero: str | None = None,
) -> dict[tuple[Any, ...], list[float]]:
    """Sums of rollup ``columns`` grouped ``by`` (names among endpoint, config_version, arm,
    model, version, unit), folded and pending together (``facts``: pending, computed once
    by the caller). ``nonzero`` (a column that never goes below 0) leaves out the folded
    groups where it sums to 0, in the database."""
    r = rollups
    query = (
        sa.select(*(r.c[name] for name in by), *(sa.func.sum(r.c[name]) for name in columns))
        .where(where(r, scope))
        .group_by(*(r.c[name] for name in by))
    )
    if nonzero is not None:
        query = query.having(sa.func.sum(r.c[nonzero]) > 0)
    found: dict[tuple[Any, ...], list[float]] = {}
    for row in conn.execute(query):
        found[tuple(row[: len(by)])] = [float(v or 0) for v in row[len(by) :]]
    facts = pending(conn, scope) if facts is None else facts
    positions = [_BY.index(name) for name in by]
    for key, values in facts.sums.get("rollups", {}).items():
        group = tuple(key[i] for i in positions)
        into = found.setdefault(group, [0.0] * len(columns))
        for n, name in enumerate(columns):
            into[n] += values.get(name, 0)
    return found


def stretch(at: sa.ColumnElement[Any], ends: Sequence[datetime | None]) -> Any:
    """The index of the first of ``ends`` after ``at`` (rows past the last are left out by
    the scope's end)."""

    # A binary search in nested CASEs: log2(n) comparisons a row, not up to n (a chart's 20
    # windows over every rollup row of an endpoint spent most of their time here).
    def first_after(low: int, high: int) -> Any:
        if low == high:
            return sa.literal(low)
        middle = (low + high) // 2
        return sa.case(
            (at < ends[middle], first_after(low, middle)), else_=first_after(middle + 1, high)
        )

    return first_after(0, len(ends) - 1)


def per_window(
    scope: Scope,
    ends: Sequence[datetime | None],
    query: Callable[[Scope, sa.ColumnElement[int]], sa.Select[Any]],
) -> sa.Select[Any] | sa.CompoundSelect[Any]:
    """One statement: ``query`` of each window of ``scope`` (from its start to ``ends[0]``,
    then from each of ``ends`` to the next) given the window and its index as a column, in
    UNION ALL. Each part reads its own range of the segment index and groups only its
    rows: grouped by a window expression (:func:`stretch`), SQLite sorts every row of the
    range at once, about 1.4x slower over 3 x 10^6 rollup rows."""
    starts = [scope.start, *ends[:-1]]
    parts = [
        query(replace(scope, start=start, end=end), sa.literal_column(str(n), sa.Integer))
        for n, (start, end) in enumerate(zip(starts, ends, strict=True))
    ]
    return parts[0] if len(parts) == 1 else sa.union_all(*parts)


Histograms = dict[tuple[Any, ...], dict[int, int]]


def _sketch_key(scope: Scope, by: Sequence[str], measure: str) -> tuple[Any, ...]:
    return ("sketches", replace(scope, arms=_arms(scope)), tuple(by), measure)


def _arms(scope: Scope) -> tuple[str, ...] | None:
    return None if scope.arms is None else tuple(scope.arms)


def sketches(
    conn: sa.Connection,
    scope: Scope,
    by: Sequence[str],
    measure: str,
    facts: Facts | None = None,
) -> Histograms:
    """Histogram counts of ``measure`` (``latency`` or ``delay``) grouped ``by``; ``facts``:
    the scope's pending facts (read when needed by default)."""
    cache = snapshot_cache(conn)
    key = _sketch_key(scope, by, measure)
    cached: Histograms | None = cache.get(key)
    if cached is None:
        cached = cache[key] = _stretches(conn, scope, [scope.end], by, measure)[0]
    found = {group: dict(counts) for group, counts in cached.items()}
    _add_pending(found, pending(conn, scope) if facts is None else facts, by, measure)
    return found


def sketches_by_window(
    conn: sa.Connection,
    scope: Scope,
    ends: Sequence[datetime | None],
    by: Sequence[str],
    measure: str,
    facts: Sequence[Facts],
    folded: list[Histograms] | None = None,
) -> list[Histograms]:
    """The :func:`sketches` of each window of ``scope`` (from its start to ``ends[0]``, then
    from each of ``ends`` to the next; only the last may be None) from one query, each with
    its own pending ``facts`` (see :func:`by_window`); ``folded``: each window's folded
    counts, when the caller has them kept."""
    found = _stretches(conn, scope, ends, by, measure) if folded is None else folded
    for histograms, pending_facts in zip(found, facts, strict=True):
        _add_pending(histograms, pending_facts, by, measure)
    return found


def _add_pending(found: Histograms, facts: Facts, by: Sequence[str], measure: str) -> None:
    positions = [_BY.index(name) for name in by]
    for key, values in facts.sums.get("rollup_sketches", {}).items():
        if key[5] != measure:
            continue
        counts = found.setdefault(tuple(key[i] for i in positions), {})
        counts[key[6]] = counts.get(key[6], 0) + round(values["count"])


def _stretches(
    conn: sa.Connection,
    scope: Scope,
    ends: Sequence[datetime | None],
    by: Sequence[str],
    measure: str,
) -> list[Histograms]:
    # The folded counts of each stretch of ``scope`` up to each of ``ends``, in one query.
    s = rollup_sketches
    group = [*(s.c[name] for name in by), s.c.bucket]
    k = stretch(s.c.segment_start, ends).label("k")
    query = (
        sa.select(*group, k, sa.func.sum(s.c.count))
        .where(where(s, replace(scope, end=ends[-1])) & (s.c.measure == measure))
        .group_by(*group, k)
    )
    stretches: list[Histograms] = [{} for _ in ends]
    for row in conn.execute(query):
        counts = stretches[int(row[-2])].setdefault(tuple(row[: len(by)]), {})
        counts[int(row[-3])] = counts.get(int(row[-3]), 0) + int(row[-1])
    return stretches


def rows_of(facts: Facts, table: str) -> Iterable[dict[str, Any]]:
    """The pending rows of one slim table (labelled predictions, ranked clicks)."""
    return facts.rows.get(table, {}).values()


def first_time(conn: sa.Connection, scope: Scope) -> datetime | None:
    """When ``scope``'s first request was served: the start of its segment once folded
    (its own time in a range read from raw rows)."""
    r, p = rollups, predictions
    folded = sa.select(sa.func.min(r.c.segment_start)).where(where(r, scope) & (r.c.requests > 0))
    unfolded = sa.not_(p.c.folded) | _in_ranges(p.c.at, scope.raw)
    raw = sa.select(sa.func.min(p.c.at)).where(where(p, scope, "at") & unfolded)
    times = [conn.execute(folded).scalar_one(), conn.execute(raw).scalar_one()]
    found = [t if t.tzinfo is not None else t.replace(tzinfo=UTC) for t in times if t is not None]
    return min(found, default=None)
