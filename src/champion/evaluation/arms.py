"""Which arms an endpoint's policy compares: the control, the challengers and their versions.

Each policy says what its parameters compare (``compared_arms``), so a policy from the
``champion.policies`` entry point runs experiments as the built-in ones do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from champion.errors import InvalidInput
from champion.registry.entities import VersionKey
from champion.serving.policies import PolicyArms, PolicyFactory
from champion.serving.stages import policy_under_test

__all__ = ["ExperimentArms", "endpoint_arms", "experiment_arms"]


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
    factory: PolicyFactory | None = field(default=None, compare=False, repr=False)
    """The policy the arms came from, asked again for each ramp step's parameters."""

    def compared_arms(self, params: Mapping[str, Any]) -> PolicyArms | None:
        """The arms under other parameters of the same policy (a ramp step's)."""
        return None if self.factory is None else self.factory.compared_arms(params)

    @property
    def logged_arms(self) -> tuple[str, ...]:
        """Arm names as the prediction log records them."""
        if self.policy == "interleave":
            return ("interleave",)
        return (self.control, *self.challengers)


def experiment_arms(
    endpoint: str,
    policy: PolicyFactory,
    params: Mapping[str, Any],
    resolve: Callable[[str], VersionKey],
) -> ExperimentArms:
    """The arms of an endpoint's ``policy``; InvalidInput for one that runs no comparison."""
    arms = policy.compared_arms(params)
    if arms is None:
        raise InvalidInput(
            f"Endpoint {endpoint!r} uses the {policy.name} policy, which compares no "
            "versions; an experiment needs a policy that does (ab, bandit, canary, interleave "
            "or a plugin's). Configure e.g. a canary first: champion endpoints set "
            f"{endpoint} --policy canary --param champion=... --param challenger=... "
            "--param share=0.01"
        )
    return ExperimentArms(
        policy.name,
        arms.control,
        arms.challengers,
        dict(arms.refs),
        {arm: resolve(ref) for arm, ref in arms.refs.items()},
        share=arms.share,
        expected_shares=arms.shares,
        reward=arms.reward,
        timeout_ms=params.get("timeout_ms"),
        factory=policy,
    )


def endpoint_arms(
    endpoint: str,
    policy: str,
    params: Mapping[str, Any],
    resolve: Callable[[str], VersionKey],
    policies: Callable[[str], PolicyFactory],
) -> ExperimentArms:
    """The arms of an endpoint configured with the policy named ``policy`` (a pipeline
    endpoint's: those of its stage under test); InvalidInput for one that compares none."""
    tested, tested_params, stage = policy_under_test(policy, params)
    arms = experiment_arms(endpoint, policies(tested), tested_params, resolve)
    return replace(arms, stage=stage)
