"""Per-unit totals and per-arm moments kept by the fold pass: reports read them (not the
rollups), late feedback for an earlier segment changes every later point exactly, and
``/stats`` reads its per-version totals."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from champion.db import read, write
from champion.evaluation.tables import experiments
from champion.events.arms import ArmWindow, arm_counts, arm_sums, read_ahead
from champion.events.partitions import make_days
from champion.events.rollup_tables import rollups
from champion.events.rollups import fold
from champion.events.tables import feedback, predictions
from champion.events.total_tables import arm_moments, pending_rebuilds, unit_totals
from champion.events.totals import built
from champion.events.totals_rebuild import rebuild_totals
from champion.events.version_stats import version_stats
from champion.services import Services
from tests.fixtures import raw_reports as raw
from tests.fixtures.events import T0

E = "recs"
DAY = timedelta(days=1)
STARTED = T0 + timedelta(hours=5)
WINDOW = ArmWindow(E, ("champion", "challenger"), 1, STARTED)
ENDS: list[datetime | None] = [T0 + DAY, T0 + 2 * DAY, None]  # segment boundaries


def _request(n: int, unit: str, at: datetime, arm: str = "champion") -> dict[str, Any]:
    return {
        "request_id": f"r{n}",
        "endpoint": E,
        "config_version": 1,
        "unit": unit,
        "unit_randomised": True,
        "arm": arm,
        "bucket": 0,
        "model": "m",
        "version": 1 if arm == "champion" else 2,
        "kind": "predict",
        "inputs": {},
        "outputs": [],
        "latency_ms": 10.0 + n,
        "at": at,
        "fallback_from": None,
        "probability": None,
    }


def _click(n: int, request: dict[str, Any], at: datetime, kind: str = "click") -> dict[str, Any]:
    return {
        "event_id": f"e{n}",
        "request_id": request["request_id"],
        "item": None,
        "kind": kind,
        "value": 2.5 if kind == "purchase" else None,
        "label": None,
        "at": at,
        "received_at": at,
    }


def _start(services: Services) -> None:
    if services.engine.dialect.name == "postgresql":
        make_days(services.engine, T0.date(), ahead=4)
    with write(services.engine) as conn:
        conn.execute(
            experiments.insert(),
            [
                {
                    "endpoint": E,
                    "design": {},
                    "status": "running",
                    "since_config": 1,
                    "started_at": STARTED,
                    "step_started_at": STARTED,
                    "finished_at": None,
                    "revision": 1,
                    "created_by": "test",
                    "updated_at": STARTED,
                    "updated_by": "test",
                }
            ],
        )


def _sums(conn: sa.Connection, window: ArmWindow) -> dict[str, Any]:
    return {
        arm: {"units": s.units, "totals": s.totals, "sums": s.sums}
        for arm, s in arm_sums(conn, window).items()
    }


def _expected(conn: sa.Connection, window: ArmWindow) -> dict[str, Any]:
    return {
        arm: {k: v for k, v in sums.items() if k in ("units", "totals", "sums")}
        for arm, sums in raw.arm_sums(conn, window).items()
    }


def test_late_feedback_for_an_earlier_segment_changes_every_later_point(
    services: Services,
) -> None:
    _start(services)
    u1 = [_request(n, "u1", STARTED + n * DAY + timedelta(hours=1)) for n in range(3)]
    others = [
        _request(10 + n, f"v{n}", STARTED + timedelta(hours=2 + 20 * n), arm)
        for n, arm in enumerate(("champion", "challenger", "challenger"))
    ]
    with write(services.engine) as conn:
        conn.execute(predictions.insert(), [*u1, *others])
        conn.execute(feedback.insert(), [_click(1, u1[2], u1[2]["at"])])
    fold(services.engine, STARTED + 4 * DAY)
    # u1 came back on two later days; a purchase and a click on its first request arrive
    # now: its totals change at the first point and every one after it.
    with write(services.engine) as conn:
        late = timedelta(days=3)
        conn.execute(
            feedback.insert(),
            [
                _click(2, u1[0], u1[0]["at"] + late, "purchase"),
                _click(3, u1[0], u1[0]["at"] + late),
            ],
        )
    with read(services.engine) as conn:
        pending = [_sums(conn, replace(WINDOW, end=end)) for end in ENDS]
    fold(services.engine, STARTED + 4 * DAY)
    with read(services.engine) as conn:
        expected = [_expected(conn, replace(WINDOW, end=end)) for end in ENDS]
        raw.close(pending, expected, "before the late feedback was folded")
        read_ahead(conn, WINDOW, ENDS)
        raw.close([_sums(conn, replace(WINDOW, end=end)) for end in ENDS], expected, "timeline")
    assert expected[0]["champion"]["totals"]["purchased"] == 1.0
    # The reports read the kept moments: with the unit rows of the rollups gone, they hold.
    with write(services.engine) as conn:
        conn.execute(rollups.delete())
    with read(services.engine) as conn:
        found = [_sums(conn, replace(WINDOW, end=end)) for end in ENDS]
        raw.close(found, expected, "from the moments")
        assert arm_counts(conn, WINDOW) == {"champion": (2, 4, 0), "challenger": (2, 2, 0)}


def test_rebuild_recomputes_what_the_fold_kept(services: Services) -> None:
    _start(services)
    requests = [
        _request(
            n, f"u{n % 7}", STARTED + timedelta(hours=7 * n), ("champion", "challenger")[n % 2]
        )
        for n in range(30)
    ]
    with write(services.engine) as conn:
        conn.execute(predictions.insert(), requests)
        conn.execute(
            feedback.insert(),
            [_click(n, r, r["at"] + timedelta(hours=30)) for n, r in enumerate(requests[::3])],
        )
    fold(services.engine, STARTED + 3 * DAY)  # some clicks come after their request's fold
    fold(services.engine, STARTED + 12 * DAY)
    with write(services.engine) as conn:
        kept = [
            conn.execute(sa.select(t).order_by(*t.primary_key)).all()
            for t in (unit_totals, arm_moments)
        ]
        stats = version_stats(conn, E)
        assert (
            rebuild_totals(conn)
            == conn.execute(sa.select(sa.func.count()).select_from(rollups)).scalar_one()
        )
        again = [
            conn.execute(sa.select(t).order_by(*t.primary_key)).all()
            for t in (unit_totals, arm_moments)
        ]
        raw.close(
            [list(map(tuple, rows)) for rows in again], [list(map(tuple, rows)) for rows in kept]
        )
        assert version_stats(conn, E) == stats
        expected = raw.version_stats(conn, E, None, None)
        percentiles = ("latency_p50_ms", "latency_p99_ms")  # histograms: within 1 %
        raw.close(
            [{k: v for k, v in s.__dict__.items() if k not in percentiles} for s in stats],
            [{k: v for k, v in s.items() if k not in percentiles} for s in expected],
            "stats",
        )


def test_an_upgraded_database_reads_the_rollups_until_rebuilt(services: Services) -> None:
    _start(services)
    requests = [_request(n, f"u{n % 3}", STARTED + timedelta(hours=n)) for n in range(9)]
    with write(services.engine) as conn:
        conn.execute(predictions.insert(), requests)
    fold(services.engine, STARTED + DAY)
    with write(services.engine) as conn:
        # As a database folded before the totals existed: rollups, no totals, a rebuild due.
        conn.execute(unit_totals.delete())
        conn.execute(arm_moments.delete())
        conn.execute(pending_rebuilds.insert().values(name="unit_totals", since=STARTED))
    with read(services.engine) as conn:
        assert not built(conn)
        raw.close(_sums(conn, WINDOW), _expected(conn, WINDOW))
    with write(services.engine) as conn:
        rebuild_totals(conn)
    with read(services.engine) as conn:
        assert built(conn)
        raw.close(_sums(conn, WINDOW), _expected(conn, WINDOW))
