"""In process: the endpoint page's windowed ``/stats`` (``?buckets=20``), per window or in one pass.

``GET /v1/endpoints/{e}/stats?start=…&end=…&buckets=20`` answers the whole range's
per-version stats and each window's. This times what the route reads in its transaction,
the median of ``--repeat`` fresh transactions, two ways in turn when the code has both:

- ``per_window``: ``version_stats`` over the range, then once per window (the route before);
- ``one_pass``: ``version_stats`` over the range, then ``version_stats_by_window`` for
  every window at once (the route now), checked equal to ``per_window`` window by window.

Three ranges: ``page``, the 20 windows of ``--window-seconds`` ending with the one that holds
now, as the page asks (on a database loaded in the past they hold no event); ``whole``, 20
windows from the endpoint's first event to its last, where the windows hold folded rows;
``snapped``, ``--snapped-windows`` (4) windows over the same range with the edges between
them moved back to segment boundaries as ``/stats?buckets=`` moves them once a window is at
least a segment (``--segment-seconds``, a day) wide (a checkout without ``chart_edges``
leaves them equal). Every edge inside a folded segment reads that segment's raw rows (see
``aggregates``): ``whole``'s windows are narrower than a day, so it reads nearly every raw
row; ``snapped`` reads only the partial segments at its two ends.
Run from the repository root over a database ``analysis_scale.py --keep`` left (it is only
read; a checkout without ``version_stats_by_window`` times ``per_window`` only):

    nice -n 10 .venv/bin/python benchmarks/windowed_stats.py --sqlite /tmp/bench.db
    PYTHONPATH=<checkout>/src nice -n 10 .venv/bin/python benchmarks/windowed_stats.py \\
        --sqlite /tmp/bench.db
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from champion import events
from champion.db import make_engine, read
from champion.events.aggregates import Scope, first_time
from champion.events.tables import predictions
from champion.events.version_stats import VersionStats, version_stats

Edges = list[datetime]
Answer = list[list[VersionStats]]
Way = Callable[[sa.Connection, str, Edges], Answer]


def _edges(start: datetime, end: datetime, count: int) -> Edges:
    width = (end - start) / count
    return [start + width * k for k in range(count)] + [end]


def _per_window(conn: sa.Connection, endpoint: str, edges: Edges) -> Answer:
    whole = version_stats(conn, endpoint, edges[0], edges[-1])
    return [whole] + [version_stats(conn, endpoint, a, b) for a, b in itertools.pairwise(edges)]


def _one_pass(conn: sa.Connection, endpoint: str, edges: Edges) -> Answer:
    whole = version_stats(conn, endpoint, edges[0], edges[-1])
    # Looked up when called: a checkout from before it times per_window only.
    windows: Answer = events.version_stats_by_window(conn, endpoint, edges)
    return [whole, *windows]


def _time(
    engine: sa.Engine, ways: dict[str, Way],
    endpoint: str, edges: Edges, repeat: int,
) -> tuple[dict[str, float], dict[str, Answer]]:  # fmt: skip
    # The ways take turns, round by round: a shared host's load then weighs on both alike.
    seconds: dict[str, list[float]] = {way: [] for way in ways}
    answers: dict[str, Answer] = {}
    for _ in range(repeat):
        for way, run in ways.items():
            with read(engine) as conn:  # a fresh snapshot: nothing cached from the last round
                began = time.perf_counter()
                answers[way] = run(conn, endpoint, edges)
                seconds[way].append(time.perf_counter() - began)
    return {way: statistics.median(times) for way, times in seconds.items()}, answers


def _ranges(
    engine: sa.Engine, endpoint: str, window: int, count: int, snapped: int, segment: int
) -> dict[str, Edges]:
    size = timedelta(seconds=window)
    now = datetime.now(UTC)
    newest = datetime.fromtimestamp(now.timestamp() // window * window, UTC)
    ranges = {"page": _edges(newest - (count - 1) * size, newest + size, count)}
    with read(engine) as conn:
        first = first_time(conn, Scope(endpoint))
        last = conn.execute(
            sa.select(sa.func.max(predictions.c.at)).where(predictions.c.endpoint == endpoint)
        ).scalar_one()
    if first is not None and last is not None:
        last = last if last.tzinfo is not None else last.replace(tzinfo=UTC)
        ranges["whole"] = _edges(first, last + timedelta(seconds=1), count)
        ranges["snapped"] = _snapped(first, last + timedelta(seconds=1), snapped, segment)
    return ranges


def _snapped(start: datetime, end: datetime, count: int, segment: int) -> Edges:
    try:
        from champion.events.cuts import chart_edges
    except ImportError:  # a checkout from before it: equal windows
        return _edges(start, end, count)
    return chart_edges(start, end, count, timedelta(seconds=segment))


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--sqlite", help="a SQLite file (opened read-only)")
    where.add_argument("--database", help="a PostgreSQL URL")
    parser.add_argument("--endpoint", default="bench")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--windows", type=int, default=20)
    parser.add_argument("--window-seconds", type=int, default=60)
    parser.add_argument("--snapped-windows", type=int, default=4)
    parser.add_argument("--segment-seconds", type=int, default=86_400)
    parser.add_argument("--only", choices=("page", "whole", "snapped"), help="time one range only")
    args = parser.parse_args(argv)
    url = f"sqlite:///file:{args.sqlite}?mode=ro&uri=true" if args.sqlite else args.database
    engine = make_engine(url)
    ways: dict[str, Way] = {"per_window": _per_window}
    if hasattr(events, "version_stats_by_window"):
        ways["one_pass"] = _one_pass
    found: dict[str, Any] = {}
    ranges = _ranges(
        engine,
        args.endpoint,
        args.window_seconds,
        args.windows,
        args.snapped_windows,
        args.segment_seconds,
    )
    for name, edges in ranges.items():
        if args.only not in (None, name):
            continue
        medians, answers = _time(engine, ways, args.endpoint, edges, args.repeat)
        timings = {f"{way}_seconds": round(seconds, 4) for way, seconds in medians.items()}
        if len(answers) == 2:
            assert answers["one_pass"] == answers["per_window"], name
        requests = [sum(s.requests for s in window) for window in answers["per_window"][1:]]
        found[name] = {
            "start": edges[0].isoformat(),
            "end": edges[-1].isoformat(),
            "requests_per_window": requests,
            **timings,
        }
        print(json.dumps({name: found[name]}), flush=True)
    return found


if __name__ == "__main__":
    main()
