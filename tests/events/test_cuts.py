"""Windows that cut folded segments read what the raw rows hold, before and after folding.

``test_rollups``'s event streams (three days, day segments, an experiment whose start and
end are boundaries off midnight), read over windows whose start, end and inner edges fall
inside segments (and one on a boundary), compared with main's SQL over the raw rows while
some events are still raw and once all are folded. Then retention deletes the raw rows of
the first days: a window cutting those segments counts each whole in the window holding its
start, and says which ones.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings

from champion import audit
from champion.clock import FixedClock
from champion.db import read, write
from champion.events import Retention
from champion.events.aggregates import Scope
from champion.events.arms import (
    ArmWindow,
    arm_counts,
    arm_sums,
    clicked_positions,
    propensity_sums,
    ranked_requests,
    read_ahead,
)
from champion.events.covariates import covariate_sums
from champion.events.cuts import cuts, snap_back
from champion.events.interleaving import interleaved_units
from champion.events.rollups import fold
from champion.events.tables import feedback, prediction_items, predictions
from champion.events.version_stats import version_stats, version_stats_by_window
from champion.services import Services
from tests.events.test_rollups import (
    ARMS,
    DAY,
    FINISHED,
    STARTED,
    STREAMS,
    E,
    _apply,
    _reset,
    _same,
    _sums_of,
    streams,
)
from tests.fixtures import raw_reports as raw
from tests.fixtures.events import T0

HOUR = timedelta(hours=1)
WINDOWS = (
    ArmWindow(E, ARMS, None, T0 + 5 * HOUR, T0 + 29 * HOUR + timedelta(minutes=30)),
    ArmWindow(E, ARMS, 1, STARTED + 3 * HOUR, FINISHED - 2 * HOUR),
    ArmWindow(E, ("champion", "challenger"), None, T0 + 50 * HOUR),
    ArmWindow(E, ARMS, None, None, T0 + 40 * HOUR + timedelta(minutes=1)),
    ArmWindow(E, ARMS, None, T0 + HOUR, T0 + 2 * HOUR),  # inside one segment
)
EDGES: list[list[datetime | None]] = [
    [T0 + 5 * HOUR + timedelta(minutes=7 * k) for k in range(21)],  # the page's, in one day
    [T0 + 3 * HOUR, T0 + 20 * HOUR, T0 + DAY, STARTED, T0 + 45 * HOUR, T0 + 71 * HOUR],
    [None, T0 + 36 * HOUR, None],
]
# Timelines' points: from the experiment's start (each look reads the rollups to the segment
# its end cuts, all looks in one pass) and from inside a segment (each look reads its own).
TIMELINES: list[tuple[ArmWindow, list[datetime | None]]] = [
    (
        ArmWindow(E, ARMS, 1, STARTED),
        [STARTED + 5 * HOUR, STARTED + 10 * HOUR, T0 + 2 * DAY, STARTED + 25 * HOUR, None],
    ),
    (WINDOWS[1], [STARTED + 5 * HOUR, STARTED + 10 * HOUR, FINISHED - 2 * HOUR]),
]
PRE = T0 + 2 * HOUR  # a covariate's pre-period starts inside a segment too


def _reports(conn: sa.Connection) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for n, window in enumerate(WINDOWS):
        found[f"arm_sums{n}"] = _sums_of(arm_sums(conn, window))
        found[f"arm_counts{n}"] = arm_counts(conn, window)
        found[f"ranked_requests{n}"] = ranked_requests(conn, window)
        found[f"clicked_positions{n}"] = clicked_positions(conn, window)
        found[f"propensity{n}"] = propensity_sums(conn, window, "click")
        if window.start is not None and window.start > PRE:
            found[f"cuped{n}"] = covariate_sums(conn, window, "ctr", PRE, window.start)
        found[f"version_stats{n}"] = [
            s.__dict__ for s in version_stats(conn, E, window.start, window.end)
        ]
        found[f"interleaving{n}"] = interleaved_units(conn, E, window.start, window.end)
    for n, (timeline, ends) in enumerate(TIMELINES):
        read_ahead(conn, timeline, ends)
        for k, end in enumerate(ends):
            found[f"arm_sums{n}_at{k}"] = _sums_of(arm_sums(conn, replace(timeline, end=end)))
    for n, edges in enumerate(EDGES):
        for k, stats in enumerate(version_stats_by_window(conn, E, edges)):
            found[f"version_stats_by_window{n}.{k}"] = [s.__dict__ for s in stats]
    return found


def _oracle(conn: sa.Connection) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for n, window in enumerate(WINDOWS):
        found[f"arm_sums{n}"] = raw.arm_sums(conn, window)
        found[f"arm_counts{n}"] = raw.arm_counts(conn, window)
        found[f"ranked_requests{n}"] = raw.ranked_requests(conn, window)
        found[f"clicked_positions{n}"] = raw.clicked_positions(conn, window)
        found[f"propensity{n}"] = raw.propensity_sums(conn, window, "click")
        if window.start is not None and window.start > PRE:
            found[f"cuped{n}"] = raw.covariate_sums(conn, window, "ctr", PRE, window.start)
        found[f"version_stats{n}"] = raw.version_stats(conn, E, window.start, window.end)
        found[f"interleaving{n}"] = raw.interleaved_units(conn, E, window.start, window.end)
    for n, (timeline, ends) in enumerate(TIMELINES):
        for k, end in enumerate(ends):
            found[f"arm_sums{n}_at{k}"] = raw.arm_sums(conn, replace(timeline, end=end))
    for n, edges in enumerate(EDGES):
        for k, (a, b) in enumerate(itertools.pairwise(edges)):
            found[f"version_stats_by_window{n}.{k}"] = raw.version_stats(conn, E, a, b)
    return found


@settings(STREAMS, max_examples=10)
@given(operations=streams())
@pytest.mark.slow(seconds=7)
def test_windows_cutting_segments_read_what_the_raw_rows_hold(
    services: Services, operations: list[tuple[str, Any]]
) -> None:
    _reset(services)
    _apply(services, operations)
    for _ in ("some events raw", "every event folded (the raw rows stay)"):
        with read(services.engine) as conn:
            _same(_reports(conn), _oracle(conn))
        fold(services.engine, T0 + 10 * DAY)


def _served(services: Services, times: Sequence[datetime]) -> None:
    # One request at each of ``times``, folded.
    rows: list[dict[str, Any]] = [
        {
            "request_id": f"r{n}",
            "endpoint": E,
            "config_version": 1,
            "unit": f"u{n}",
            "unit_randomised": False,
            "arm": "champion",
            "bucket": 0,
            "model": "m",
            "version": 1,
            "kind": "predict",
            "inputs": {},
            "outputs": [],
            "latency_ms": 5.0,
            "at": at,
            "fallback_from": None,
            "probability": None,
        }
        for n, at in enumerate(times)
    ]
    with write(services.engine) as conn:
        conn.execute(predictions.insert(), rows)
    fold(services.engine, T0 + 10 * DAY)


def test_a_cut_segment_whose_raw_rows_retention_deleted_counts_whole_and_says_so(
    services: Services,
) -> None:
    _reset(services)
    _served(services, (T0 + HOUR, T0 + 10 * HOUR, T0 + DAY + HOUR))
    window = (T0 + 5 * HOUR, T0 + DAY + 5 * HOUR)

    def requests() -> int:
        with read(services.engine) as conn:
            return sum(s.requests for s in version_stats(conn, E, *window))

    assert requests() == 2  # exact: r1 and r2
    with write(services.engine) as conn:
        found = cuts(conn, version_scope(*window))
        assert found.whole == () and found.scope.raw == (window,)
        # Retention deletes every folded row before T0 + 6h (and says so in the audit log).
        gone = predictions.c.at < T0 + 6 * HOUR
        conn.execute(prediction_items.delete())
        conn.execute(feedback.delete())
        conn.execute(predictions.delete().where(gone))
        cutoff = (T0 + 6 * HOUR).isoformat()
        audit.record(
            conn,
            at=T0 + 10 * DAY,
            actor="retention",
            action="events.retention",
            target="events",
            details={"cutoffs": {"predictions": cutoff}, "deleted": {"predictions": 1}},
            reason="test",
        )
    # The first day's segment starts before the window: counted nowhere, as before; the
    # second day's is still cut exactly.
    assert requests() == 1
    with read(services.engine) as conn:
        found = cuts(conn, version_scope(*window))
        assert found.whole == ((T0, T0 + DAY),)
        assert found.scope.raw == ((T0 + DAY, T0 + DAY + 5 * HOUR),)


def test_reads_during_a_retention_pass_never_miss_the_rows_it_deletes(
    services: Services,
) -> None:
    # Day one's requests go (on PostgreSQL its partitions are dropped whole), and one of day
    # two's in a batch; a window ending inside day one cuts its segment.
    _reset(services)
    _served(services, (T0 + HOUR, T0 + 10 * HOUR, T0 + DAY + HOUR, T0 + 2 * DAY + HOUR))
    window = (T0, T0 + 5 * HOUR)
    now = T0 + 2 * DAY + 12 * HOUR
    retention = Retention(services.engine, FixedClock(now), {"predictions": DAY}, batch_size=1)
    seen: list[tuple[int, tuple[tuple[datetime, datetime], ...]]] = []

    def look(*_: object) -> None:
        with read(services.engine) as conn:
            found = cuts(conn, version_scope(*window))
            requests = sum(s.requests for s in version_stats(conn, E, *window))
        seen.append((requests, found.whole))

    look()
    assert seen == [(1, ())]  # exact: r0 alone, from the raw rows
    report = retention.run(progress=look)
    assert report.deleted["predictions"] == 3
    look()
    # From the first delete on, day one counts whole in the window holding its start (r0
    # and r1), never as the raw rows left at that moment (none once r0 is gone).
    assert seen[1:] == [(2, ((T0, T0 + DAY),))] * (len(seen) - 1)
    assert len(seen) >= 3


def version_scope(start: datetime, end: datetime) -> Scope:
    return Scope(E, start=start, end=end)


def test_timeline_points_move_back_to_segment_starts_when_they_stay_in_order(
    services: Services,
) -> None:
    _reset(services)
    _served(services, (T0 + HOUR, T0 + DAY + HOUR, T0 + 2 * DAY + HOUR))
    points = [T0 + 10 * HOUR, T0 + DAY + 5 * HOUR, T0 + DAY + 6 * HOUR, T0 + 3 * DAY]
    with read(services.engine) as conn:
        moved = snap_back(conn, E, points, T0)
    # The first stays (its segment starts at the timeline's start), the second moves to its
    # day's start, the third stays (its segment's start is not after the second), and the
    # last is on a midnight, a boundary.
    assert moved == [T0 + 10 * HOUR, T0 + DAY, T0 + DAY + 6 * HOUR, T0 + 3 * DAY]
