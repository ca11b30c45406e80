"""Two controllers on one database: exactly one acts; when it stops, the other takes over."""

from __future__ import annotations

import itertools
import threading

from champion import audit
from champion.automation import RolloutController
from champion.db import read
from champion.services import Services
from tests.automation.conftest import WIN_RATES, Rig


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
