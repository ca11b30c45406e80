"""Two controllers on one database: exactly one acts; when it stops, the other takes over."""

from __future__ import annotations

import itertools
import threading

import sqlalchemy as sa

from champion import audit
from champion.automation import RolloutController
from champion.db import read
from champion.metrics import Metrics
from champion.services import Services
from champion.settings import Settings
from tests.automation.conftest import WIN_RATES, Rig
from tests.fixtures.faults import until


def test_two_controllers_never_both_act(rig: Rig) -> None:
    rig.canary(0.1)
    steps = [0.1, 0.2, 0.3, 0.4, 0.5, 1.0]
    rig.experiment(
        goal="click_rate",
        automation="auto",
        min_sample=100_000,
        ramp={"steps": steps, "min_seconds": 0, "min_units": 0},
        guardrails=[],  # a guardrail would wait for evidence before each ramp
    )
    rig.traffic(40, WIN_RATES)
    # A second server process: its own engine (its own connections and sessions).
    other = Services.open(rig.services.settings, rig.clock)
    controllers = [
        RolloutController(
            rig.services.engine, rig.services.experiments, rig.services.rollout, identity="first"
        ),
        RolloutController(other.engine, other.experiments, other.rollout, identity="second"),
    ]
    acted: dict[str, int] = {"first": 0, "second": 0}
    start = threading.Barrier(2)

    def run(controller: RolloutController) -> None:
        start.wait()
        for _ in range(8):
            looks = controller.tick()
            acted[controller.identity] += sum(look.outcome == "acted" for look in looks)

    try:
        threads = [threading.Thread(target=run, args=(c,)) for c in controllers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        leaders = [c for c in controllers if c.leader]
        assert len(leaders) == 1
        leader, follower = leaders[0], next(c for c in controllers if not c.leader)
        with read(rig.services.engine) as conn:
            ramps = [
                r
                for r in reversed(audit.list_audit(conn, target="churn"))
                if r.action == "experiment.ramp"
            ]
        # Every step once, in order, all by the leader; the ramp stops before 100 %.
        assert [(r.details["from"], r.details["to"]) for r in ramps] == list(
            itertools.pairwise(steps[:5])
        )
        assert all(f"[controller {leader.identity}]" in r.reason for r in ramps)
        assert acted == {leader.identity: 4, follower.identity: 0}
        # The leader stops: the other one takes over at its next look.
        leader.close()
        assert follower.tick() and follower.leader
    finally:
        for controller in controllers:
            controller.close()
        other.close()


def _end_lock_sessions(settings: Settings) -> int:
    """What a database restart or an idle-session timeout does to the leader's session."""
    url = sa.make_url(settings.resolved_database_url())
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        ended = conn.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l "
                "JOIN pg_database d ON d.oid = l.database "
                "WHERE l.locktype = 'advisory' AND d.datname = :name"
            ),
            {"name": url.database},
        ).scalar_one()
    admin.dispose()
    return int(ended)


def test_the_leader_gauge_drops_the_moment_the_lock_is_lost_or_the_controller_stops(
    services: Services, settings: Settings
) -> None:
    metrics = Metrics()
    controller = RolloutController(
        services.engine, services.experiments, services.rollout, metrics=metrics
    )

    def gauge() -> float | None:
        return metrics.registry.get_sample_value("champion_controller_leader")

    assert gauge() == 0.0
    controller.tick()
    assert gauge() == 1.0
    if settings.database_url is not None:
        assert _end_lock_sessions(settings) == 1
        # No tick in between: the scrape itself sees the session is gone.
        until("the leader gauge to drop", lambda: gauge() == 0.0)
        controller.tick()  # the next look takes the lock again
        assert controller.leader and gauge() == 1.0
    controller.close()
    assert gauge() == 0.0
