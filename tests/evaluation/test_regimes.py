"""Ramp steps: read from the endpoint's configurations, analysed one at a time, each with its
own sample-ratio check."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np

from champion.clock import FixedClock
from champion.db import read, write
from champion.evaluation.analysis import Analysis, analyse
from champion.evaluation.arms import experiment_arms
from champion.evaluation.decision import decide
from champion.evaluation.design import parse_design
from champion.evaluation.regimes import assignment_regimes
from champion.events.arms import ArmWindow
from champion.registry.entities import VersionKey
from champion.services import Services
from champion.serving.assignment import bucket
from champion.serving.policies import CanaryPolicy
from champion.serving.tables import endpoint_configs
from champion.settings import Settings
from tests.conftest import ModelFolders
from tests.fixtures.events import T0, EventLog

SALT = "steps"
VERSIONS = {"m@champion": VersionKey("m", 1), "m@challenger": VersionKey("m", 2)}
DESIGN = parse_design({"goal": "click_rate", "min_sample": 20, "ramp": {"steps": [0.1, 0.5, 1]}})


def _params(share: float, **more: Any) -> dict[str, Any]:
    return {"champion": "m@champion", "challenger": "m@challenger", "share": share, **more}


def _configs(services: Services, *configs: tuple[str, dict[str, Any], timedelta]) -> None:
    rows = [
        {
            "endpoint": "recs",
            "config_version": n,
            "policy": policy,
            "params": params,
            "salt": SALT,
            "created_at": T0 + at,
            "created_by": "t",
            "reason": "",
        }
        for n, (policy, params, at) in enumerate(configs, start=1)
    ]
    with write(services.engine) as conn:
        conn.execute(endpoint_configs.insert(), rows)


def _arm(unit: str, share: float) -> str:
    return "challenger" if bucket(SALT, unit) < round(share * 10_000) else "champion"


def _look(services: Services, share: float, end: Any = None) -> Analysis:
    arms = experiment_arms("recs", CanaryPolicy, _params(share), VERSIONS.__getitem__)
    window = ArmWindow("recs", (), since_config=1, start=T0, end=end)
    with read(services.engine) as conn:
        return analyse(conn, DESIGN, arms, window)


def test_steps_are_the_runs_of_configurations_that_assign_alike(services: Services) -> None:
    hour = timedelta(hours=1)
    _configs(
        services,
        ("canary", _params(0.1), 0 * hour),
        ("canary", _params(0.1, timeout_ms=500), 1 * hour),  # same assignment: same step
        ("canary", _params(0.5), 2 * hour),
        ("canary", _params(0.5, timeout_ms=500), 3 * hour),
        ("blue_green", {"blue": "m/1", "green": "m/2", "live": "green"}, 4 * hour),
        ("canary", _params(0.1), 5 * hour),  # a later experiment's
    )
    with read(services.engine) as conn:
        steps = assignment_regimes(
            conn, "recs", 1, T0 + timedelta(minutes=5), (0.1, 0.5, 1.0), CanaryPolicy.compared_arms
        )
    found = [(s.index, s.share, s.first_config, s.last_config, s.last) for s in steps]
    assert found == [(0, 0.1, 1, 2, False), (1, 0.5, 3, 4, True)]
    assert [s.started_at for s in steps] == [T0 + timedelta(minutes=5), T0 + 2 * hour]
    assert steps[1].expected_shares == {"champion": 0.5, "challenger": 0.5}
    assert steps[1].to_json()["config_versions"] == [3, 4]


def test_a_ramp_moves_units_to_the_challenger_without_counting_them_twice(
    services: Services,
) -> None:
    _configs(
        services,
        ("canary", _params(0.1), timedelta(0)),
        ("canary", _params(0.5), timedelta(hours=1)),
    )
    log = EventLog()
    units = [f"u{n}" for n in range(400)]
    for unit in units:
        log.predict(_arm(unit, 0.1), unit, at=T0 + timedelta(minutes=10), config_version=1)
        log.predict(_arm(unit, 0.5), unit, at=T0 + timedelta(minutes=70), config_version=2)
    log.write(services.engine)
    analysis = _look(services, 0.5)
    moved = [u for u in units if _arm(u, 0.1) != _arm(u, 0.5)]
    assert moved  # some units changed arm at the ramp
    challengers = sum(_arm(u, 0.5) == "challenger" for u in units)
    # Every unit counts once, in the arm of the current step.
    assert analysis.metrics["challenger"].units == challengers
    assert analysis.metrics["champion"].units == len(units) - challengers
    assert analysis.regime is not None and (analysis.regime.index, analysis.regime.share) == (
        1,
        0.5,
    )
    first, second = analysis.steps
    assert first.counts["challenger"][0] == sum(_arm(u, 0.1) == "challenger" for u in units)
    assert second.counts["challenger"][0] == challengers


def test_requests_still_routed_at_the_old_share_never_count_against_the_new_step(
    services: Services,
) -> None:
    """The controller's flaky rollback: right after a 10 % → 50 % ramp, a replica (or a
    request in flight) still routes at 10 %; counted by the clock, those units made the new
    step's split look like 9 to 1 instead of 1 to 1."""
    _configs(
        services,
        ("canary", _params(0.1), timedelta(0)),
        ("canary", _params(0.5), timedelta(hours=1)),
    )
    log = EventLog()
    after = T0 + timedelta(hours=1, minutes=1)
    for n in range(600):  # a stale replica, after the ramp, at the old share
        unit = f"late{n}"
        log.predict(_arm(unit, 0.1), unit, at=after, config_version=1)
    for n in range(100):  # the new configuration, at 50 %
        unit = f"new{n}"
        log.predict(_arm(unit, 0.5), unit, at=after, config_version=2)
    log.write(services.engine)
    analysis = _look(services, 0.5)
    srm = next(h for h in analysis.health if h.name == "srm")
    assert srm.status == "ok", srm.detail
    assert sum(c[0] for c in analysis.step.values()) == 100
    first, second = analysis.steps
    assert first.srm.status == "ok" and first.srm.numbers["expected_shares"]["challenger"] == 0.1
    assert second.srm.status == "ok" and second.srm.numbers["expected_shares"]["challenger"] == 0.5
    assert sum(first.counts[arm][0] for arm in ("champion", "challenger")) == 600
    decision = decide(DESIGN, analysis, T0 + timedelta(hours=1), after + timedelta(hours=1))
    assert decision.action != "hold" or "sample ratio" not in decision.reason


def test_a_broken_split_in_an_earlier_step_is_reported_in_that_step(services: Services) -> None:
    _configs(
        services,
        ("canary", _params(0.1), timedelta(0)),
        ("canary", _params(0.5), timedelta(hours=1)),
    )
    log = EventLog()
    for n in range(300):  # at 10 %, but half the units logged as challenger: broken
        log.predict("challenger" if n % 2 else "champion", f"a{n}", config_version=1)
    for n in range(200):
        unit = f"b{n}"
        log.predict(_arm(unit, 0.5), unit, at=T0 + timedelta(hours=2), config_version=2)
    log.write(services.engine)
    first, second = _look(services, 0.5).steps
    assert first.srm.status == "alert" and second.srm.status == "ok"
    assert first.to_json()["srm"]["status"] == "alert" and first.to_json()["step"] == 1


def test_a_look_in_the_past_covers_the_step_in_force_then(services: Services) -> None:
    _configs(
        services,
        ("canary", _params(0.1), timedelta(0)),
        ("canary", _params(0.5), timedelta(hours=1)),
    )
    log = EventLog()
    rng = np.random.default_rng(0)
    for n in range(200):
        unit = f"u{n}"
        log.predict(_arm(unit, 0.1), unit, at=T0 + timedelta(minutes=int(rng.integers(0, 59))))
    log.write(services.engine)
    analysis = _look(services, 0.5, end=T0 + timedelta(minutes=59))
    assert analysis.regime is not None and analysis.regime.share == 0.1
    assert len(analysis.steps) == 1
    assert sum(c[0] for c in analysis.step.values()) == 200


def test_a_win_before_the_last_step_ramps_on_instead_of_promoting(services: Services) -> None:
    _configs(services, ("canary", _params(0.1), timedelta(0)))
    log = EventLog()
    for n in range(2000):
        unit = f"u{n}"
        arm = _arm(unit, 0.1)
        request = log.predict(arm, unit, config_version=1)
        if arm == "challenger" or n % 10 == 0:  # 100 % against 10 %
            log.react(request, "click")
    log.write(services.engine)
    analysis = _look(services, 0.1)
    goal = analysis.goal("challenger")
    assert goal is not None and goal.verdict == "better"
    decision = decide(DESIGN, analysis, T0, T0 + timedelta(days=1))
    assert (decision.decision, decision.action, decision.share) == ("continue", "ramp", 0.5)


def test_a_ramp_by_hand_starts_a_step_with_its_own_minimum_time(
    settings: Settings, model_folder: ModelFolders
) -> None:
    clock = FixedClock(T0)
    services = Services.open(settings, clock)
    try:
        for alias in ("champion", "challenger"):
            services.registry.register(
                model_folder("constant"), model="churn", actor="t", aliases_to_set=(alias,)
            )
        canary = {"champion": "churn@champion", "challenger": "churn@challenger"}
        services.endpoints.set("churn", "canary", canary | {"share": 0.05}, actor="t")
        body = {"goal": "click_rate", "ramp": {"steps": [0.05, 0.5, 1.0], "min_seconds": 600}}
        services.experiments.set("churn", body, actor="t")
        clock.at += timedelta(hours=2)
        services.endpoints.set("churn", "canary", canary | {"share": 0.2}, actor="alice")
        clock.at += timedelta(seconds=60)
        report = services.experiments.report(services.experiments.get("churn"))
    finally:
        services.close()
    assert "Step 20% has run 60 s of the 600 s" in report.decision.reason
    assert report.analysis is not None and report.analysis.regime is not None
    assert report.analysis.regime.started_at == T0 + timedelta(hours=2)
