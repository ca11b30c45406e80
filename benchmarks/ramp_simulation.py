"""An A/A canary ramped while the world changes, written straight into the event tables.

Both arms serve the same model, so every true effect is zero, but the click rate moves from
one ramp step to the next (e.g. 0.10 at 5 % and 0.12 at 50 %, a campaign or a season). Units
come back with heavy-tailed visit counts (1 + a Lomax draw, as recommendation users do) and
each has its own click propensity (gamma, mean 1), so per-unit totals are clustered and
skewed. Just after each ramp a share of requests is still routed at the old share by a
replica that has not seen the new configuration yet (they carry the old
``config_version``). Units are assigned by the real :func:`bucket`; every look runs the real
``analyse`` and ``decide``.

The same looks are also analysed the way champion did before assignment regimes (every step
pooled, arms grouped by (arm, unit) over the whole window): that is what a time trend fools.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa

from champion.db import read, write
from champion.evaluation.analysis import Analysis, analyse
from champion.evaluation.arms import experiment_arms
from champion.evaluation.decision import Decision, decide
from champion.evaluation.design import ExperimentDesign, parse_design
from champion.evaluation.online import arm_metrics
from champion.evaluation.stattests import SequentialTest
from champion.events.arms import ArmWindow
from champion.events.tables import feedback, predictions
from champion.registry.entities import VersionKey
from champion.serving.assignment import bucket
from champion.serving.policies import CanaryPolicy
from champion.serving.tables import endpoint_configs

START = datetime(2026, 5, 4, tzinfo=UTC)
SALT = "ramp-sim"
VERSIONS = {"m@champion": VersionKey("m", 1), "m@challenger": VersionKey("m", 2)}


@dataclass(frozen=True)
class RampScenario:
    units: int = 25_000
    shares: tuple[float, ...] = (0.05, 0.5)
    rates: tuple[float, ...] = (0.10, 0.12)
    """Each step's mean click rate per request, in both arms alike."""
    hours_per_step: float = 24.0
    visit_tail: float = 1.5
    """The Lomax shape of extra visits: smaller is heavier-tailed."""
    max_visits: int = 200
    propensity_shape: float = 2.0
    stale_minutes: float = 30.0
    """For this long after a ramp, ``stale_share`` of requests keep the old routing."""
    stale_share: float = 0.2
    looks_per_step: int = 2


@dataclass(frozen=True)
class RunOutcome:
    promoted: bool
    """Did any look's decision promote (the new analysis)?"""
    pooled_promoted: bool
    """Would a look have found a significant win with every step pooled (the old one)?"""
    srm_alerts: int
    """Looks whose sample-ratio check (current step, or any listed step) alerted."""
    decisions: tuple[Decision, ...]
    last: Analysis


def design_of(scenario: RampScenario, min_sample: int = 100) -> ExperimentDesign:
    """The canary's design: the sequential test, tuned (as documented) near the expected
    sample, the scenario's units."""
    body = {
        "goal": "click_rate",
        "min_sample": min_sample,
        "sequential_tuning": float(scenario.units),
        "ramp": {"steps": [*scenario.shares, 1.0]},
    }
    return parse_design(body)


def _params(share: float) -> dict[str, Any]:
    return {"champion": "m@champion", "challenger": "m@challenger", "share": share}


def write_ramp(
    engine: sa.Engine, endpoint: str, scenario: RampScenario, rng: np.random.Generator
) -> list[datetime]:
    """Write the configurations and the events of one run; returns each step's start."""
    span = timedelta(hours=scenario.hours_per_step)
    starts = [START + k * span for k in range(len(scenario.shares))]
    configs = [
        {
            "endpoint": endpoint,
            "config_version": k + 1,
            "policy": "canary",
            "params": _params(share),
            "salt": SALT,
            "created_at": starts[k],
            "created_by": "simulation",
            "reason": "",
        }
        for k, share in enumerate(scenario.shares)
    ]
    n = scenario.units
    buckets = np.array([bucket(SALT, f"{endpoint}-u{i}") for i in range(n)])
    visits = np.minimum(1 + np.floor(rng.pareto(scenario.visit_tail, n)), scenario.max_visits)
    propensity = rng.gamma(scenario.propensity_shape, 1.0 / scenario.propensity_shape, n)
    unit_of = np.repeat(np.arange(n), visits.astype(int))
    hours = rng.uniform(0.0, scenario.hours_per_step * len(scenario.shares), unit_of.size)
    step = np.minimum((hours // scenario.hours_per_step).astype(int), len(starts) - 1)
    into_step = (hours - step * scenario.hours_per_step) * 60.0
    stale = (step > 0) & (into_step < scenario.stale_minutes)
    stale &= rng.random(unit_of.size) < scenario.stale_share
    routed = step - stale.astype(int)
    shares = np.array(scenario.shares)[routed]
    challenger = buckets[unit_of] < np.round(shares * 10_000)
    rate = np.array(scenario.rates)[step] * propensity[unit_of]
    clicked = rng.random(unit_of.size) < np.minimum(rate, 1.0)
    rows, clicks = [], []
    for r in range(unit_of.size):
        at = START + timedelta(hours=float(hours[r]))
        request = f"{endpoint}-r{r}"
        rows.append(
            {
                "request_id": request,
                "endpoint": endpoint,
                "config_version": int(routed[r]) + 1,
                "unit": f"{endpoint}-u{unit_of[r]}",
                "unit_randomised": False,
                "arm": "challenger" if challenger[r] else "champion",
                "bucket": int(buckets[unit_of[r]]),
                "model": "m",
                "version": 2 if challenger[r] else 1,
                "kind": "predict",
                "inputs": {},
                "outputs": [],
                "latency_ms": 1.0,
                "at": at,
                "fallback_from": None,
                "probability": None,
            }
        )
        if clicked[r]:
            later = at + timedelta(seconds=30)
            clicks.append(
                {
                    "event_id": f"{request}-c",
                    "request_id": request,
                    "item": None,
                    "kind": "click",
                    "value": None,
                    "label": None,
                    "at": later,
                    "received_at": later,
                }
            )
    with write(engine) as conn:
        conn.execute(endpoint_configs.insert(), configs)
        conn.execute(predictions.insert(), rows)
        if clicks:
            conn.execute(feedback.insert(), clicks)
    return starts


def analyse_ramp(
    engine: sa.Engine,
    endpoint: str,
    scenario: RampScenario,
    starts: list[datetime],
    design: ExperimentDesign,
) -> RunOutcome:
    """Look ``looks_per_step`` times into every step, as the controller would."""
    span = timedelta(hours=scenario.hours_per_step)
    promoted = pooled = False
    alerts = 0
    decisions = []
    tuned = SequentialTest(design.sequential_tuning)
    with read(engine) as conn:
        for k, share in enumerate(scenario.shares):
            arms = experiment_arms(endpoint, CanaryPolicy, _params(share), VERSIONS.__getitem__)
            for look in range(1, scenario.looks_per_step + 1):
                end = starts[k] + span * (look / scenario.looks_per_step)
                window = ArmWindow(endpoint, (), since_config=1, start=START, end=end)
                analysis = analyse(conn, design, arms, window, full=False)
                decision = decide(design, analysis, starts[k], end)
                decisions.append(decision)
                promoted |= decision.decision == "promote"
                if any(s.srm.status == "alert" for s in analysis.steps):
                    alerts += 1
                # Before assignment regimes: every step pooled over the whole window.
                everything = ArmWindow(endpoint, arms.logged_arms, 1, START, end)
                pooled_arms = arm_metrics(conn, everything, {}, sources=("events",))
                a = pooled_arms["champion"].metrics["click_rate"]
                b = pooled_arms["challenger"].metrics["click_rate"]
                result = tuned.run(a, b, alpha=design.alpha)
                pooled |= bool(result.significant) and result.effect > 0
    return RunOutcome(promoted, pooled, alerts, tuple(decisions), analysis)


def forget(engine: sa.Engine, endpoint: str) -> None:
    """Delete one run's rows, so the next run's queries stay as fast as the first's."""
    with write(engine) as conn:
        requests = sa.select(predictions.c.request_id).where(predictions.c.endpoint == endpoint)
        conn.execute(feedback.delete().where(feedback.c.request_id.in_(requests)))
        conn.execute(predictions.delete().where(predictions.c.endpoint == endpoint))
        conn.execute(endpoint_configs.delete().where(endpoint_configs.c.endpoint == endpoint))
