"""A chart's windows read in one pass answer what each window's own ``version_stats`` does.

The event streams are ``test_rollups``'s (predictions over three days, several versions and
arms, rankings and interleaving, feedback before and after its request is folded, fold
passes at random points). The windows cut inside segments, on their boundaries and outside
the events (empty ones), and are compared window by window while some events are still
raw, once all are folded, and once the segments before the experiment are compacted.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from champion.clock import FixedClock
from champion.db import read
from champion.errors import InvalidInput
from champion.events import version_stats, version_stats_by_window
from champion.events.compaction import Compaction
from champion.events.rollups import fold
from champion.services import Services
from tests.events.test_rollups import DAY, FINISHED, STARTED, E, _apply, _reset, streams
from tests.fixtures.events import T0

EDGES: list[list[datetime | None]] = [
    # An empty window before the events, windows inside a day's segment and across them, an
    # experiment's boundaries, and an empty one after the events.
    [
        T0 - DAY,
        T0,
        T0 + timedelta(hours=5),
        T0 + timedelta(hours=29, minutes=30),
        STARTED,
        T0 + 2 * DAY,
        FINISHED,
        T0 + 3 * DAY,
        T0 + 5 * DAY,
    ],
    [None, T0 + timedelta(hours=36), None],  # open at both ends
    [T0 + DAY + timedelta(minutes=m) for m in range(0, 24 * 60 + 1, 72)],  # the page's: 20
]


def _same_window_by_window(services: Services) -> None:
    with read(services.engine) as conn:
        for edges in EDGES:
            found = version_stats_by_window(conn, E, edges)
            alone = [version_stats(conn, E, a, b) for a, b in itertools.pairwise(edges)]
            assert len(found) == len(edges) - 1
            for n, (mine, expected) in enumerate(zip(found, alone, strict=True)):
                assert _plain(mine) == _plain(expected), (edges[n], edges[n + 1])


def _plain(stats: list[Any]) -> list[dict[str, Any]]:
    # Values are float sums, added in another order by another grouping: equal to 1e-9.
    return [s.__dict__ | {"value": pytest.approx(s.value, rel=1e-9)} for s in stats]


@settings(
    max_examples=8,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=streams())
@pytest.mark.slow(seconds=5)
def test_windows_in_one_pass_equal_each_window_alone(
    services: Services, operations: list[tuple[str, Any]]
) -> None:
    _reset(services)
    _apply(services, operations)
    _same_window_by_window(services)  # some requests and feedback still raw
    fold(services.engine, T0 + 10 * DAY)
    _same_window_by_window(services)
    # The segments before the experiment (in each of these examples some hold requests).
    Compaction(services.engine, FixedClock(STARTED + DAY), DAY, batch_size=3).run()
    _same_window_by_window(services)


def _prediction(n: int, at: datetime, unit: str, arm: str = "champion") -> dict[str, Any]:
    return {
        "request_id": f"r{n}", "endpoint": E, "config_version": 1, "unit": unit,
        "unit_randomised": False, "arm": arm, "bucket": 0, "model": "m",
        "version": 2 if arm == "challenger" else 1, "kind": "predict", "inputs": {},
        "outputs": [], "latency_ms": 10.0 * (n + 1), "at": at, "fallback_from": None,
        "probability": None,
    }  # fmt: skip


def test_a_folded_request_counts_in_the_window_of_its_segment_start(services: Services) -> None:
    _reset(services)
    hour = timedelta(hours=1)
    requests = [
        _prediction(0, T0 + 1 * hour, "u0"),
        _prediction(1, T0 + 2 * hour, "u1", "challenger"),
        _prediction(2, T0 + 7 * hour, "u0"),
    ]
    _apply(services, [("predict", (r, [])) for r in requests[:2]])
    fold(services.engine, T0 + 3 * hour)  # the first two; the third stays raw
    _apply(services, [("predict", (requests[2], []))])
    edges: list[datetime | None] = [T0 - hour, T0 + 6 * hour, T0 + 12 * hour, T0 + DAY]
    with read(services.engine) as conn:
        found = version_stats_by_window(conn, E, edges)
        # The folded requests sit at their segment's start (T0): the first window.
        assert [(s.version, s.arm, s.requests, s.units) for s in found[0]] == [
            (1, "champion", 1, 1),
            (2, "challenger", 1, 1),
        ]
        assert found[0][0].latency_p50_ms == pytest.approx(10.0, rel=0.01)
        # The raw one at its own time, and the last window holds nothing.
        assert [(s.version, s.arm, s.requests, s.units) for s in found[1]] == [
            (1, "champion", 1, 1)
        ]
        assert found[1][0].latency_p50_ms == pytest.approx(30.0, rel=0.01)
        assert found[2] == []
        # One window from the first edge to the last is version_stats over that range.
        assert version_stats_by_window(conn, E, [edges[0], edges[-1]]) == [
            version_stats(conn, E, edges[0], edges[-1])
        ]


def test_edges_that_do_not_cut_windows_are_refused_naming_them(services: Services) -> None:
    bad: list[list[datetime | None]] = [
        [T0],
        [T0, None, T0 + DAY],
        [T0 + DAY, T0],
        [T0, T0, T0 + DAY],
    ]
    with read(services.engine) as conn:
        for edges in bad:
            with pytest.raises(InvalidInput, match="'edges' parameter of version_stats_by_wi"):
                version_stats_by_window(conn, E, edges)
