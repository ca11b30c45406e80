"""champion admin rebuild-aggregates: rollups recomputed from the raw rows."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from champion.db import read, write
from champion.events.arms import ArmWindow, arm_sums
from champion.events.rollup_tables import rollups
from champion.events.rollups import backlog, fold
from champion.events.total_tables import arm_moments
from champion.services import Services
from tests.cli.conftest import CommandLine
from tests.fixtures.events import T0, EventLog
from tests.fixtures.raw_reports import close


def test_rebuild_aggregates_repairs_damaged_rollups(
    services: Services, champion: CommandLine
) -> None:
    log = EventLog()
    for n in range(12):
        request = log.predict("champion" if n % 2 else "challenger", f"u{n % 5}", items=["a", "b"])
        log.react(request, "click", item="a", after=timedelta(seconds=n))
    log.write(services.engine)
    window = ArmWindow("recs", ["champion", "challenger"])
    with read(services.engine) as conn:
        expected = arm_sums(conn, window)
    assert fold(services.engine, T0 + timedelta(days=1)) == 24
    with write(services.engine) as conn:  # damage: a lost update
        conn.execute(rollups.update().values(requests=rollups.c.requests + 7))
        conn.execute(arm_moments.update().values(requests=arm_moments.c.requests + 7))
    with read(services.engine) as conn:
        assert arm_sums(conn, window) != expected

    result = champion("admin", "rebuild-aggregates")

    assert result.returncode == 0, result.stderr
    assert "Rebuilt the aggregates: 24 rows folded." in result.text
    with read(services.engine) as conn:
        close(arm_sums(conn, window), expected)
        assert backlog(conn) == 0
        assert conn.execute(sa.select(sa.func.sum(rollups.c.requests))).scalar_one() == 12


def test_rebuild_from_rollups_repairs_the_kept_totals(
    services: Services, champion: CommandLine
) -> None:
    log = EventLog()
    for n in range(10):
        request = log.predict("champion" if n % 2 else "challenger", f"u{n % 4}", items=["a"])
        log.react(request, "click", item="a", after=timedelta(seconds=n))
    log.write(services.engine)
    window = ArmWindow("recs", ["champion", "challenger"])
    fold(services.engine, T0 + timedelta(days=1))
    with read(services.engine) as conn:
        expected = arm_sums(conn, window)
    with write(services.engine) as conn:  # damage: a lost update of the kept moments
        conn.execute(arm_moments.update().values(clicked=arm_moments.c.clicked + 3))
    with read(services.engine) as conn:
        assert arm_sums(conn, window) != expected

    result = champion("admin", "rebuild-aggregates", "--from-rollups")  # one row per unit

    assert result.returncode == 0, result.stderr
    assert "Rebuilt the unit totals and moments from 4 rollup rows." in result.text
    with read(services.engine) as conn:
        close(arm_sums(conn, window), expected)
