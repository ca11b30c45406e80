"""A chart's windows of a minute or ten seconds inside one segment read the slot rows the fold
pass keeps, answer what the raw rows hold (units counted once per window, late feedback,
requests not folded yet), and once the server's fold loop has dropped those rows (a day on),
the raw rows again.

(The Hypothesis streams of ``test_cuts`` read such windows too, before and after folding.)
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from champion.clock import FixedClock
from champion.db import read
from champion.events.aggregates import Scope
from champion.events.cuts import exact
from champion.events.folder import RollupFolder
from champion.events.rollup_tables import slot_rollups
from champion.events.rollups import fold
from champion.events.slot_stats import slot_windows
from champion.events.slots import KEPT_FOR, SLOT, kept_since
from champion.events.version_stats import version_stats_by_window
from champion.services import Services
from tests.events.test_rollups import _reset, _same
from tests.fixtures import raw_reports as raw
from tests.fixtures.events import T0, EventLog

E = "recs"
MINUTE = timedelta(minutes=1)
START = T0 + timedelta(hours=10)
EDGES: list[datetime] = [START + k * MINUTE for k in range(6)]
TEN_SECONDS: list[datetime] = [START + k * SLOT for k in range(7)]  # the first minute's


def _stats(
    services: Services, edges: list[datetime] = EDGES
) -> tuple[list[list[dict[str, Any]]], set[int]]:
    """Each window's stats (and which windows read per slot), checked against the raw rows
    (percentiles within the histograms' accuracy)."""
    with read(services.engine) as conn:
        found = [[s.__dict__ for s in w] for w in version_stats_by_window(conn, E, edges)]
        scope = exact(conn, Scope(E, start=edges[0], end=edges[-1]), edges[1:-1])
        per_slot = set(slot_windows(conn, scope, edges).windows)
        expected = [raw.version_stats(conn, E, a, b) for a, b in itertools.pairwise(edges)]
    _same(
        {f"version_stats{n}": stats for n, stats in enumerate(found)},
        {f"version_stats{n}": stats for n, stats in enumerate(expected)},
    )
    return found, per_slot


def test_windows_read_the_kept_slots_then_raw_rows_once_those_are_dropped(
    services: Services,
) -> None:
    _reset(services)
    log = EventLog(endpoint=E)
    # Before the windows (their segment's first request, so the segment is cut), then two
    # requests a minute from three units: a unit comes back within a minute and across them.
    log.predict("champion", "early", at=T0 + timedelta(hours=1))
    clicked = []
    for k in range(5):
        for n, unit in enumerate(("u1", "u2", "u1")):
            at = START + k * MINUTE + timedelta(seconds=10 + 15 * n)
            arm, version = ("challenger", 2) if unit == "u2" else ("champion", 1)
            request = log.predict(
                arm, unit, version=version, at=at, latency_ms=1.0 + k + n, items=["a", "b"]
            )
            clicked.append(request)
    log.react(clicked[0], "click", item="a")
    late = EventLog(endpoint=E, predictions=list(log.predictions))
    log.write(services.engine)
    fold(services.engine, START + 3 * MINUTE)  # the first three minutes folded, two raw
    late.react(clicked[1], "click", item="b")  # feedback once its request is folded
    late.react(clicked[0], "purchase", value=1.0)  # and once its first feedback is
    late.react(clicked[-1], "purchase", value=2.5)  # and for a request not folded yet
    late.predictions = []  # written already
    late.write(services.engine)

    for _ in ("late feedback raw", "late feedback folded"):
        assert _stats(services, TEN_SECONDS)[1] == {0, 1, 2, 3, 4, 5}
        found, per_slot = _stats(services)
        assert per_slot == {0, 1, 2, 3, 4}
        fold(services.engine, START + 3 * MINUTE)
    assert sum(s["units"] for s in found[0]) == 2  # u1 twice in a minute, u2 once
    assert sum(s["clicks"] for w in found for s in w) == 2
    assert sum(s["value"] for w in found for s in w) == 3.5

    # A day later the server's fold loop drops those slots: the windows read raw rows.
    later = START + KEPT_FOR + timedelta(hours=1)
    folder = RollupFolder(services.engine, FixedClock(later), None, lag=timedelta(0))
    try:
        folder.tick()
    finally:
        folder.close()
    # An old request replayed late is folded without a slot row (its slot is not kept).
    replayed = EventLog(endpoint=E)
    replayed.predict("champion", "u3", at=START + timedelta(seconds=30))
    replayed.write(services.engine)
    fold(services.engine, later)
    with read(services.engine) as conn:
        assert kept_since(conn) == later.replace(second=0) - KEPT_FOR
        left = conn.execute(sa.select(sa.func.count()).select_from(slot_rollups)).scalar_one()
    assert left == 0
    found, per_slot = _stats(services)
    assert per_slot == set()
    assert _stats(services, TEN_SECONDS)[1] == set()
