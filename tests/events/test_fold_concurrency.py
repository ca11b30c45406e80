"""Fold passes running at once, while feedback keeps arriving, count every event once."""

from __future__ import annotations

import threading
from datetime import timedelta

import numpy as np

from champion.db import read, write
from champion.db.dialects import insert_ignoring_duplicates
from champion.events.arms import ArmWindow, arm_sums
from champion.events.rollups import backlog, fold
from champion.events.tables import feedback
from champion.events.version_stats import version_stats
from champion.services import Services
from tests.fixtures import raw_reports as raw
from tests.fixtures.events import T0, EventLog


def test_concurrent_passes_and_late_feedback_count_each_event_once(services: Services) -> None:
    rng = np.random.default_rng(7)
    log = EventLog()
    requests = [
        log.predict(
            "champion" if n % 2 else "challenger",
            f"u{n % 40}",
            items=["a", "b", "c"],
            at=T0 + timedelta(seconds=n),
        )
        for n in range(400)
    ]
    for request in requests[::3]:
        log.react(request, "click", item="a")
    log.write(services.engine)
    late = [
        {
            "event_id": f"late{n}",
            "request_id": requests[int(rng.integers(len(requests)))],
            "item": str(rng.choice(["a", "b", "c", "z"])),
            "kind": str(rng.choice(["click", "purchase"])),
            "value": 1.5,
            "label": None,
            "at": T0 + timedelta(hours=1),
            "received_at": T0 + timedelta(hours=1, seconds=n),
        }
        for n in range(300)
    ]
    errors: list[BaseException] = []

    def folding() -> None:
        try:
            for _ in range(6):
                fold(services.engine, T0 + timedelta(days=1), batch=50)
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)

    def sending() -> None:
        try:
            for start in range(0, len(late), 10):
                with write(services.engine) as conn:
                    insert_ignoring_duplicates(conn, feedback, late[start : start + 10], "event_id")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=folding) for _ in range(3)]
    threads.append(threading.Thread(target=sending))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    fold(services.engine, T0 + timedelta(days=1))
    window = ArmWindow("recs", ["champion", "challenger"])
    with read(services.engine) as conn:
        assert backlog(conn) == 0
        expected, stats = raw.arm_sums(conn, window), raw.version_stats(conn, "recs")
        with_feedback = {arm: s["totals"]["with_feedback"] for arm, s in expected.items()}
        found = arm_sums(conn, window)
        assert {arm: s.totals["with_feedback"] for arm, s in found.items()} == with_feedback
        assert {arm: s.sums for arm, s in found.items()} == {
            arm: s["sums"] for arm, s in expected.items()
        }
        mine = version_stats(conn, "recs")
    assert [(s.clicks, s.purchases, s.clicked_impressions) for s in mine] == [
        (s["clicks"], s["purchases"], s["clicked_impressions"]) for s in stats
    ]
