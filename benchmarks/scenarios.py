"""The validity harness's scenarios: nulls where any verdict is wrong, and lifts to detect.

Each scenario deploys an endpoint with a fresh salt, starts an experiment on ``auto`` and
serves its simulated users hour by hour through a :class:`~benchmarks.simulation.Transport`
(champion's services in process, or its HTTP API); every ``look_hours`` the controller looks
and ramps, promotes or rolls back as it would in a server. A run ends at the first promotion
or rollback, or at the horizon.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import numpy as np
from benchmarks.simulation import (
    CANDIDATES,
    CHAMPION_ITEMS,
    RANKED_ITEMS,
    Outcome,
    Population,
    Transport,
    at_hour,
    population,
    visits_by_hour,
)

__all__ = [
    "SCENARIOS",
    "Scenario",
    "classify",
    "clicked_items",
    "pipeline_stages",
    "ranked_hour",
    "run_scenario",
]

EXAMINATION = 1.0 / np.arange(1, RANKED_ITEMS + 1)
"""Position bias: the item at rank r (0-based) is looked at with probability 1 / (1 + r)."""
ATTRACTIVE, DULL = 0.5, 0.1
"""Click probability of an examined item its user likes (the top half of the ranker the user
prefers) or not, before the user's own propensity."""


@dataclass(frozen=True)
class Scenario:
    """One simulated experiment design and world; ``better`` is the arm that should win
    (None: a null, where every promotion or rollback is wrong)."""

    name: str
    policy: str
    description: str
    method: str = "sequential"
    units: int = 1000
    sigma: float = 2.0
    mean_visits: float = 3.0
    hours: int = 48
    alpha: float = 0.05
    min_sample: int = 100
    """Units per arm before a verdict: a fixed-horizon test's planned sample."""
    look_hours: int = 4
    """The controller looks after every ``look_hours`` simulated hours (and at the end)."""
    base_rate: float = 0.10
    lift: float = 0.0
    """Relative lift of the click rate of the ``better`` arm (ab and canary)."""
    challengers: int = 1
    trend: float = 0.0
    """Rise of the base click rate once the canary first ramps (0.10 → 0.12: 0.02)."""
    steps: tuple[float, ...] = (0.05, 0.2, 0.5, 1.0)
    """canary: the ramp, from the first share; each step lasts at least ``step_hours`` and
    has ``step_units`` challenger units."""
    step_hours: int = 8
    step_units: int = 15
    prefer_share: float = 0.5
    """interleave: share of units that prefer the challenger's ranking."""
    identical: bool = False
    """interleave: the challenger ranks exactly as the champion does."""
    pipeline: bool = False
    """interleave: on the ``rerank`` stage of a pipeline endpoint whose ``retrieve`` stage
    hands it ``CANDIDATES`` items (which ones depends on the unit), not on a whole endpoint."""
    failing: str | None = None
    """ab with an error-rate guardrail: the challenger version (``flaky`` fails at the
    guardrail's tolerance, 1 %; ``flakier`` at 3 %)."""
    better: str | None = None

    @property
    def null(self) -> bool:
        return self.better is None

    def sized(self, **changes: Any) -> Scenario:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items()}


def _ab(name: str, description: str, **more: Any) -> Scenario:
    return Scenario(name, "ab", description, **more)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        _ab(
            "aa-sequential",
            "A/A, sequential test, a look every 4 hours",
        ),
        _ab(
            "aa-delta",
            "A/A, delta method (fixed horizon: decides once, at min_sample)",
            method="delta",
        ),
        _ab(
            "lift-sequential",
            "A/B, challenger click rate +60 %, sequential (power)",
            lift=0.6,
            better="challenger",
        ),
        Scenario(
            "canary-aa-trend",
            "canary",
            "canary A/A, 2,000 units, ramp 5 → 20 → 50 → 100 % (8 hours and 15 challenger "
            "units a step), click rate 0.10 before the first ramp and 0.12 after, sequential",
            units=2000,
            trend=0.02,
        ),
        Scenario(
            "canary-aa-trend-light",
            "canary",
            "the same canary A/A with activity LogNormal(0, 0.5)",
            units=2000,
            sigma=0.5,
            trend=0.02,
        ),
        Scenario(
            "canary-lift",
            "canary",
            "the same canary, challenger click rate +60 % (power)",
            units=2000,
            trend=0.02,
            lift=0.6,
            better="challenger",
        ),
        Scenario(
            "interleave-split",
            "interleave",
            "interleave (team draft), half the units prefer each ranker, sign test (fixed horizon)",
            method="interleaving",
        ),
        Scenario(
            "interleave-split-sequential",
            "interleave",
            "the same, sequential test",
        ),
        Scenario(
            "interleave-identical",
            "interleave",
            "interleave, two identical rankers, sign test",
            method="interleaving",
            identical=True,
        ),
        Scenario(
            "interleave-lift",
            "interleave",
            "interleave, 60 % of units prefer the challenger, sign test (power)",
            method="interleaving",
            prefer_share=0.6,
            better="challenger",
        ),
        Scenario(
            "stage-interleave-identical",
            "interleave",
            "pipeline endpoint retrieve → rerank, interleave on the rerank stage between the "
            "same re-ranker registered twice, half the units prefer each half of the items, "
            "fixed horizon",
            method="interleaving",
            identical=True,
            pipeline=True,
        ),
        Scenario(
            "stage-interleave-identical-sequential",
            "interleave",
            "the same stage A/A, sequential test",
            identical=True,
            pipeline=True,
        ),
        Scenario(
            "stage-interleave-lift",
            "interleave",
            "the same pipeline endpoint, the rerank stage's challenger orders the candidates "
            "the other way round and 60 % of units prefer that, fixed horizon (power)",
            method="interleaving",
            prefer_share=0.6,
            pipeline=True,
            better="challenger",
        ),
        _ab(
            "multi-aa",
            "ab with three challengers identical to the control, sequential",
            challengers=3,
        ),
        _ab(
            "multi-lift",
            "ab with three challengers, one of them (c) +60 % (power)",
            challengers=3,
            lift=0.6,
            better="c",
        ),
        _ab(
            "guardrail-at-tolerance",
            "error_rate guardrail, tolerance 0.01: the challenger fails on exactly 1 % of "
            "requests (the champion never), goal out of play, sequential",
            failing="flaky",
        ),
        _ab(
            "guardrail-at-tolerance-delta",
            "the same guardrail at its tolerance, delta method",
            method="delta",
            failing="flaky",
        ),
        _ab(
            "guardrail-breach",
            "the same guardrail, the challenger fails on 3 % (power: roll back)",
            failing="flakier",
            better="control",
        ),
    )
}


def classify(scenario: Scenario, outcome: Outcome) -> str:
    """``right``, ``wrong`` or ``undecided``: in a null, any promotion or rollback that names
    an arm is wrong; with a real difference, acting for the better arm is right."""
    if outcome.decision not in {"promote", "rollback"}:
        return "undecided"
    if scenario.null:
        return "wrong"
    if scenario.better == "control":
        return "right" if outcome.decision == "rollback" else "wrong"
    if outcome.decision == "promote":
        return "right" if outcome.arm == scenario.better else "wrong"
    return "wrong"


def run_scenario(rig: Transport, scenario: Scenario, seed: int) -> Outcome:
    """Serve one seeded run of ``scenario`` on ``rig`` (a fresh home) and say how it ended."""
    rng = np.random.default_rng(seed)
    users = population(
        scenario.units,
        rng,
        sigma=scenario.sigma,
        mean_visits=scenario.mean_visits,
        share_preferring_challenger=scenario.prefer_share,
    )
    _deploy(rig, scenario, seed)
    trended = False
    ramps: list[float] = []
    for hour, visits in enumerate(visits_by_hour(users, scenario.hours, rng)):
        base = scenario.base_rate + (scenario.trend if trended else 0.0)
        if scenario.policy == "interleave":
            ranked_hour(rig, users, hour, visits, rng)
        else:
            _hour(rig, scenario, users, hour, visits, base, rng)
        if (hour + 1) % scenario.look_hours and hour + 1 < scenario.hours:
            continue
        outcome = rig.look(hour + 1)
        if outcome is not None:
            outcome.ramps = ramps
            return outcome
        share = rig.share() if scenario.policy == "canary" else None
        if share is not None and (not ramps or share > ramps[-1]):
            ramps.append(share)
            trended = len(ramps) > 1
    return Outcome("none", ramps=ramps)


def _deploy(rig: Transport, scenario: Scenario, seed: int) -> None:
    design: dict[str, Any] = {
        "goal": "click_rate",
        "method": scenario.method,
        "automation": "auto",
        "guardrails": [],
        "min_sample": scenario.min_sample,
        "alpha": scenario.alpha,
    }
    salt = f"validity-{seed}"
    if scenario.policy == "interleave":
        model = "rerank" if scenario.pipeline else "ranks"
        pair = {"champion": f"{model}/1", "challenger": f"{model}/{2 if scenario.identical else 3}"}
        if scenario.pipeline:
            rig.deploy("stages", pipeline_stages(pair), salt=salt)
        else:
            rig.deploy("interleave", pair, salt=salt)
        rig.start(
            {
                "goal": "interleaving",
                "method": scenario.method,
                "automation": "auto",
                "min_sample": scenario.min_sample,
                "alpha": scenario.alpha,
            }
        )
        return
    if scenario.policy == "canary":
        first = scenario.steps[0]
        params = {"champion": "clicks/1", "challenger": "clicks/2", "share": first}
        rig.deploy("canary", params, salt=salt)
        design["ramp"] = {
            "steps": list(scenario.steps),
            "min_seconds": scenario.step_hours * 3600,
            "min_units": scenario.step_units,
        }
        rig.start(design)
        return
    if scenario.failing is not None:
        arms = {"control": "guarded/1", "challenger": f"guarded/{_FAILING[scenario.failing]}"}
        # The goal never reaches its sample: only the guardrail can decide.
        design.update(guardrails=[{"metric": "error_rate", "tolerance": 0.01}], min_sample=10**9)
    elif scenario.challengers == 1:
        arms = {"control": "clicks/1", "challenger": "clicks/2"}
    else:
        names = ("b", "c", "d")[: scenario.challengers]
        arms = {"control": "clicks/1"} | {n: f"clicks/{i + 2}" for i, n in enumerate(names)}
    rig.deploy("ab", {"arms": arms}, salt=salt)
    rig.start(design)


_FAILING = {"flaky": 2, "flakier": 3}


def pipeline_stages(pair: dict[str, str]) -> dict[str, Any]:
    """A pipeline endpoint's parameters: ``retrieve`` hands ``CANDIDATES`` items to
    ``rerank``, which interleaves the two re-rankers of ``pair``."""
    rerank = {
        "name": "rerank",
        "policy": "interleave",
        "params": pair,
        "inputs": {"candidates": "retrieve.items"},
    }
    return {"stages": [{"name": "retrieve", "model": "retrieve/1", "k": CANDIDATES}, rerank]}


BETTER_VERSION = {"control": 1, "challenger": 2, "b": 2, "c": 3, "d": 4}
"""The version number serving each arm (the canary's challenger is version 2 too)."""


def _hour(
    rig: Transport,
    scenario: Scenario,
    users: Population,
    hour: int,
    visits: list[tuple[int, float]],
    base: float,
    rng: np.random.Generator,
) -> None:
    times = [at_hour(hour, seconds) for _, seconds in visits]
    draws = rng.random(len(visits))
    served = rig.predict(
        [(users.ids[u], float(d), at) for (u, _), d, at in zip(visits, draws, times, strict=True)]
    )
    better = BETTER_VERSION.get(scenario.better or "", 0) if scenario.lift else 0
    clicks = rng.random(len(visits))
    events = []
    for (unit, _), at, answer, coin in zip(visits, times, served, clicks, strict=True):
        rate = base * users.propensity[unit] * (1.0 + scenario.lift * (answer.version == better))
        if coin < min(rate, 1.0):
            events.append((answer.request_id, None, at + timedelta(seconds=1)))
    rig.feedback(events)


_CHAMPION_TOP = frozenset(CHAMPION_ITEMS[:RANKED_ITEMS])


def clicked_items(
    items: tuple[str, ...], likes_champion: bool, propensity: float, rng: np.random.Generator
) -> list[str]:
    """The items of one ranked answer a user clicks: each is examined with probability
    1 / (1 + rank) and, once examined, clicked at ATTRACTIVE if it is in the top half of the
    ranking the user prefers (DULL otherwise), times the user's propensity."""
    coins = rng.random(len(items))
    found = []
    for rank, (item, coin) in enumerate(zip(items, coins, strict=True)):
        liked = (item in _CHAMPION_TOP) == likes_champion
        if coin < min(EXAMINATION[rank] * (ATTRACTIVE if liked else DULL) * propensity, 1.0):
            found.append(item)
    return found


def ranked_hour(
    rig: Transport,
    users: Population,
    hour: int,
    visits: list[tuple[int, float]],
    rng: np.random.Generator,
) -> None:
    """Serve one hour of ranking visits (interleaved or not) and send their clicks."""
    times = [at_hour(hour, seconds) for _, seconds in visits]
    served = rig.rank([(users.ids[u], at) for (u, _), at in zip(visits, times, strict=True)])
    events = []
    for (unit, _), at, answer in zip(visits, times, served, strict=True):
        likes_champion = not users.prefers_challenger[unit]
        for item in clicked_items(answer.items, likes_champion, users.propensity[unit], rng):
            events.append((answer.request_id, item, at + timedelta(seconds=1)))
    rig.feedback(events)
