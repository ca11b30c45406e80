"""A timeline whose points cut folded segments: every look read in one pass equals the same
look read on its own and the raw rows.

The property test in ``test_cuts`` reaches this path only when its random stream happens to
put events where a look cuts a folded segment; here every case does. Units come back across
the looks (folded before a cut and again inside it), clicks arrive after their request was
folded, and some requests are not folded yet, with one segment length a day (the library's
default) and one an hour (the server's).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from champion.db import read
from champion.events.arms import ArmWindow, arm_sums, read_ahead
from champion.events.cuts import looks
from champion.events.rollups import fold
from champion.services import Services
from tests.events.test_rollups import DAY, STARTED, E, _reset, _same, _sums_of
from tests.fixtures import raw_reports as raw
from tests.fixtures.events import T0, EventLog

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
WINDOW = ArmWindow(E, ("champion", "challenger"), 1, STARTED)
# Two looks inside the experiment's first partial day, one a few minutes after the other
# (the same segment cut twice), one on a midnight, one inside the next day, and now.
ENDS: list[datetime | None] = [
    STARTED + 2 * HOUR + 10 * MINUTE,
    STARTED + 5 * HOUR + 20 * MINUTE,
    STARTED + 5 * HOUR + 31 * MINUTE,
    T0 + 2 * DAY,
    T0 + 2 * DAY + 7 * HOUR + 45 * MINUTE,
    None,
]
FOLDED_UNTIL = T0 + 2 * DAY + 9 * HOUR  # 26 h 43 after the start; the experiment ends at 29 h 43


def _log() -> EventLog:
    log = EventLog(endpoint=E)
    visits = {  # unit: hours after the experiment's start of each request
        "u0": (0.5, 1.9, 2.4, 5.4, 18.0),
        "u1": (1.0, 5.3, 5.45),
        "u2": (2.2, 2.3, 20.0, 26.0),
        "u3": (4.0, 24.5),
        "u4": (5.35, 29.0),  # not folded
        "u5": (13.0,),
    }
    for n, (unit, hours) in enumerate(visits.items()):
        arm = ("champion", "challenger")[n % 2]
        for k, h in enumerate(hours):
            at = STARTED + timedelta(hours=h)
            request = log.predict(arm, unit, version=1 + n % 2, latency_ms=2.0 + n + k, at=at)
            if (n + k) % 2 == 0:
                log.react(request, "click", after=timedelta(minutes=3))
            if k == 0 and n < 3:
                # Arrives after its request is folded (a late delta in the cut segment).
                log.react(request, "purchase", value=4.5, after=FOLDED_UNTIL - at + HOUR)
    return log


@pytest.mark.parametrize("segment", [DAY, HOUR], ids=["day", "hour"])
def test_one_pass_timeline_looks_equal_each_look_alone_and_the_raw_rows(
    services: Services, segment: timedelta
) -> None:
    _reset(services)
    log = _log()
    late = [f for f in log.feedback if f["at"] > FOLDED_UNTIL]
    log.feedback = [f for f in log.feedback if f["at"] <= FOLDED_UNTIL]
    log.write(services.engine)
    fold(services.engine, FOLDED_UNTIL, segment=segment)
    # After the fold: late feedback on folded requests, and requests the fold has not reached.
    log.feedback = late
    for unit, hours in (("u0", 27.5), ("u6", 28.0)):
        log.predict("champion", unit, at=STARTED + timedelta(hours=hours))
    log.write(services.engine)

    with read(services.engine) as conn:
        assert looks(conn, WINDOW.scope, ENDS) is not None  # the one-pass path is taken
        read_ahead(conn, WINDOW, ENDS)
        in_one_pass = [_sums_of(arm_sums(conn, replace(WINDOW, end=end))) for end in ENDS]
    for end, found in zip(ENDS, in_one_pass, strict=True):
        look = replace(WINDOW, end=end)
        with read(services.engine) as conn:
            alone = _sums_of(arm_sums(conn, look))
            expected = raw.arm_sums(conn, look)
        _same({"arm_sums": alone}, {"arm_sums": expected})
        _same({"arm_sums": found}, {"arm_sums": expected})
        assert found == alone, end
