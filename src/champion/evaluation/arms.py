"""Which arms an endpoint's policy compares: the control, the challengers and their versions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from champion.errors import InvalidInput
from champion.registry.entities import VersionKey
from champion.serving.policies.ab import AbParams
from champion.serving.policies.bandit import BanditParams
from champion.serving.policies.base import parse_params
from champion.serving.policies.canary import CanaryParams
from champion.serving.policies.interleave import InterleaveParams
from champion.serving.stages import policy_under_test

__all__ = ["EXPERIMENT_POLICIES", "ExperimentArms", "configured_split", "experiment_arms"]

EXPERIMENT_POLICIES = ("ab", "bandit", "canary", "interleave")


@dataclass(frozen=True)
class ExperimentArms:
    """The arms of one endpoint configuration.

    ``refs`` are the version references as configured (``recs@champion``), ``versions`` what
    they resolve to now. Under ``interleave`` both versions answer every request, in the one
    arm ``interleave``; ``control`` is then the champion's key in ``refs``.
    """

    policy: str
    control: str
    challengers: tuple[str, ...]
    refs: dict[str, str]
    versions: dict[str, VersionKey]
    share: float | None = None
    """The canary's share of units."""
    expected_shares: dict[str, float] | None = None
    """Each arm's configured share of units (canary, ab), for the sample-ratio check."""
    reward: str | None = None
    timeout_ms: float | None = None
    stage: str | None = None
    """A pipeline endpoint's stage under test, whose arms these are."""

    @property
    def logged_arms(self) -> tuple[str, ...]:
        """Arm names as the prediction log records them."""
        if self.policy == "interleave":
            return ("interleave",)
        return (self.control, *self.challengers)


def experiment_arms(
    endpoint: str, policy: str, params: Mapping[str, Any], resolve: Callable[[str], VersionKey]
) -> ExperimentArms:
    """The arms of an endpoint's ``policy`` (a pipeline endpoint's: those of its stage under
    test); InvalidInput for one that runs no comparison."""
    policy, params, stage = policy_under_test(policy, params)
    if stage is not None:
        return replace(experiment_arms(endpoint, policy, params, resolve), stage=stage)
    timeout = params.get("timeout_ms")
    if policy == "canary":
        canary = parse_params(CanaryParams, params)
        refs = {"champion": canary.champion, "challenger": canary.challenger}
        return ExperimentArms(
            "canary",
            "champion",
            ("challenger",),
            refs,
            _resolved(refs, resolve),
            share=canary.share,
            expected_shares=configured_split(policy, params),
            timeout_ms=timeout,
        )
    if policy == "interleave":
        pair = parse_params(InterleaveParams, params)
        refs = {"champion": pair.champion, "challenger": pair.challenger}
        return ExperimentArms(
            "interleave",
            "champion",
            ("challenger",),
            refs,
            _resolved(refs, resolve),
            timeout_ms=timeout,
        )
    if policy == "ab":
        ab = parse_params(AbParams, params)
        control = ab.control_arm()
        return ExperimentArms(
            "ab",
            control,
            tuple(sorted(set(ab.arms) - {control})),
            dict(ab.arms),
            _resolved(dict(ab.arms), resolve),
            expected_shares=configured_split(policy, params),
            timeout_ms=timeout,
        )
    if policy == "bandit":
        bandit = parse_params(BanditParams, params)
        control = bandit.control or sorted(bandit.arms)[0]
        return ExperimentArms(
            "bandit",
            control,
            tuple(sorted(set(bandit.arms) - {control})),
            dict(bandit.arms),
            _resolved(dict(bandit.arms), resolve),
            reward=bandit.reward,
            timeout_ms=timeout,
        )
    raise InvalidInput(
        f"Endpoint {endpoint!r} uses the {policy} policy, which compares no "
        f"versions; an experiment needs one of: {', '.join(EXPERIMENT_POLICIES)}. "
        f"Configure e.g. a canary first: champion endpoints set {endpoint} --policy canary "
        "--param champion=... --param challenger=... --param share=0.01"
    )


def configured_split(policy: str, params: Mapping[str, Any]) -> dict[str, float] | None:
    """Each arm's configured share of units under a canary or an A/B split; None for the
    policies that adapt the split (bandit) or send every unit to both versions."""
    policy, params, _ = policy_under_test(policy, params)
    if policy == "canary":
        share = parse_params(CanaryParams, params).share
        return {"champion": 1.0 - share, "challenger": share}
    if policy == "ab":
        ab = parse_params(AbParams, params)
        weights = ab.weights or {arm: 1.0 for arm in ab.arms}
        total = sum(weights.values())
        return {arm: w / total for arm, w in weights.items()}
    return None


def _resolved(
    refs: Mapping[str, str], resolve: Callable[[str], VersionKey]
) -> dict[str, VersionKey]:
    return {arm: resolve(ref) for arm, ref in refs.items()}
