"""Assignment regimes: the ramp steps of an experiment, read from the endpoint's history.

A canary ramp changes who is in which arm: at 5 % the units in buckets 500 to 4999 are
champion units, at 50 % they are challenger units. Pooling the steps would count those units
in both arms and would let any change over time (a season, a campaign, the novelty of the
feature) pose as the challenger's effect, because the challenger's share of the data grows
with time. So an experiment is analysed one **regime** at a time.

A regime is a run of consecutive endpoint configurations that assign units alike: the same
policy, salt, versions and split (a configuration that only changes e.g. the call timeout
stays in the regime). Every ramp writes a new configuration and every prediction records the
``config_version`` that routed it, so the regime of a request is known exactly, whatever the
clock says: a request that a replica (or a request in flight) still routed at the old share
after a ramp belongs to the old step, never to the new one. Within a regime the bucket, and
so the arm, of a unit never changes: a unit is analysed in the arm it was first assigned in
the regime, and a unit that the ramp moved is, in the new step, a unit of its new arm.

The design (see README, "Canary ramps"): the decision uses the **current step only**, and
only the last step before 100 % may promote on the goal. Earlier steps are reported for
information, each with its units per arm and its sample-ratio check against its own split.
Within one step the arms are two random halves of the same units over the same time, so a
time trend cannot pose as an effect. Combining the steps by inverse-variance weights was
rejected: a returning unit appears in several steps (in both arms, for the units a ramp
moves), so the step estimates are correlated in a way their variances do not show, and the
early steps, small by design (they exist to catch failures), would add little power for that
risk. Letting a single step promote keeps the false-positive rate of the whole ramp at
``alpha``: the always-valid sequential test may be looked at any time within that step, and
no other step spends any of ``alpha`` on a win.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from champion.evaluation.arms import ExperimentArms
from champion.evaluation.health import HealthCheck, srm_check
from champion.events.arms import ArmWindow, arm_counts
from champion.serving.policies import PolicyArms
from champion.serving.stages import policy_under_test
from champion.serving.tables import endpoint_configs

__all__ = [
    "Regime",
    "StepNumbers",
    "assignment_regimes",
    "current_regime",
    "regime_window",
    "step_numbers",
    "window_regimes",
]

# Parameters that do not change who is in which arm.
_NOT_ASSIGNMENT = frozenset({"timeout_ms"})


@dataclass(frozen=True)
class Regime:
    """One assignment regime of an experiment: a ramp step (or the whole experiment, for a
    policy without ramps).

    ``index`` counts the steps from 0; ``first_config`` and ``last_config`` bound the
    endpoint configurations it covers; ``last`` is true for the last step before 100 %, the
    only step of a canary whose goal verdict may promote (always true for other policies).
    """

    index: int
    policy: str
    share: float | None
    expected_shares: dict[str, float] | None
    first_config: int
    last_config: int
    started_at: datetime
    last: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.index + 1,
            "policy": self.policy,
            "share": self.share,
            "expected_shares": self.expected_shares,
            "config_versions": [self.first_config, self.last_config],
            "started_at": self.started_at.isoformat(),
            "last_before_full": self.last,
        }


def _assignment_key(policy: str, salt: str, params: dict[str, Any], split: bool) -> str:
    # A policy whose configuration fixes the split (its arms have shares: canary, ab) starts a
    # regime at each new split; the others (bandit, interleave) have one for the experiment.
    if not split:
        return policy
    kept = {k: v for k, v in params.items() if k not in _NOT_ASSIGNMENT}
    return json.dumps([policy, salt, kept], sort_keys=True, default=str)


def _tested(policy: str, params: dict[str, Any]) -> dict[str, Any]:
    tested, tested_params, _ = policy_under_test(policy, params)
    return {"policy": tested, "params": dict(tested_params)}


def _is_last(policy: str, share: float | None, ramp_steps: tuple[float, ...]) -> bool:
    if policy != "canary" or share is None:
        return True
    later = [step for step in ramp_steps if step > share + 1e-9]
    return not later or later[0] >= 1.0


def assignment_regimes(
    conn: sa.Connection,
    endpoint: str,
    since_config: int,
    started_at: datetime | None,
    ramp_steps: tuple[float, ...],
    compared_arms: Callable[[Mapping[str, Any]], PolicyArms | None],
) -> list[Regime]:
    """The regimes of the experiment that started on ``endpoint`` with configuration
    ``since_config`` at ``started_at``, oldest first (see the module docstring).

    They end at the first configuration with another policy (the promotion or rollback
    that finished the experiment); ``ramp_steps`` (the design's) says which step is the
    last before 100 %. ``compared_arms`` is the policy's: it reads each step's shares.
    """
    c = endpoint_configs
    rows = conn.execute(
        sa.select(c.c.config_version, c.c.policy, c.c.params, c.c.salt, c.c.created_at)
        .where((c.c.endpoint == endpoint) & (c.c.config_version >= since_config))
        .order_by(c.c.config_version)
    ).all()
    groups: list[tuple[str, list[Any]]] = []
    # A pipeline endpoint's experiment is its stage under test's: its policy and params.
    configs = [SimpleNamespace(**(r._asdict() | _tested(r.policy, r.params))) for r in rows]
    for row in configs:
        if groups and row.policy != groups[0][1][0].policy:
            break
        arms = compared_arms(row.params)
        split = arms is not None and arms.shares is not None
        key = _assignment_key(row.policy, row.salt, dict(row.params), split)
        if groups and groups[-1][0] == key:
            groups[-1][1].append(row)
        else:
            groups.append((key, [row]))
    regimes = []
    for index, (_, members) in enumerate(groups):
        first = members[0]
        arms = compared_arms(first.params)
        shares = None if arms is None else arms.shares
        share = None if arms is None else arms.share
        regimes.append(
            Regime(
                index=index,
                policy=first.policy,
                share=share,
                expected_shares=shares,
                first_config=first.config_version,
                last_config=members[-1].config_version,
                # The first step starts with the experiment, not with its configuration.
                started_at=max(first.created_at, started_at)
                if index == 0 and started_at is not None
                else first.created_at,
                last=_is_last(first.policy, share, ramp_steps),
            )
        )
    return regimes


def window_regimes(
    conn: sa.Connection, window: ArmWindow, arms: ExperimentArms, ramp_steps: tuple[float, ...]
) -> list[Regime]:
    """The regimes of an experiment's ``window``; none without its first configuration."""
    if window.since_config is None:
        return []
    return assignment_regimes(
        conn,
        window.endpoint,
        window.since_config,
        window.start,
        ramp_steps,
        arms.compared_arms,
    )


def current_regime(regimes: list[Regime], end: datetime | None) -> Regime | None:
    """The regime in force at ``end`` (None: now), the last one started before it."""
    started = [r for r in regimes if end is None or r.started_at < end]
    if started:
        return started[-1]
    return regimes[0] if regimes else None


def regime_window(window: ArmWindow, regime: Regime | None) -> ArmWindow:
    """``window`` narrowed to the predictions routed by ``regime``'s configurations."""
    if regime is None:
        return window
    return replace(window, since_config=regime.first_config, until_config=regime.last_config)


@dataclass(frozen=True)
class StepNumbers:
    """One step as the report shows it: its regime, the (units, requests, failed requests)
    of each arm among the predictions it routed, and its sample-ratio check against its own
    split."""

    regime: Regime
    counts: dict[str, tuple[int, int, int]]
    srm: HealthCheck

    def to_json(self) -> dict[str, Any]:
        return {
            **self.regime.to_json(),
            "units": {arm: n[0] for arm, n in self.counts.items()},
            "requests": {arm: n[1] for arm, n in self.counts.items()},
            "srm": self.srm.to_json(),
        }


def step_numbers(
    conn: sa.Connection, arms: ExperimentArms, window: ArmWindow, regimes: list[Regime]
) -> tuple[StepNumbers, ...]:
    """Each regime's units per arm and sample-ratio check, within ``window``'s times."""
    found = []
    for regime in regimes:
        counts = arm_counts(conn, regime_window(window, regime))
        counts = {arm: counts.get(arm, (0, 0, 0)) for arm in arms.logged_arms}
        found.append(StepNumbers(regime, counts, srm_check(arms, counts, regime.expected_shares)))
    return tuple(found)
