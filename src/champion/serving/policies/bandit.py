"""bandit: Thompson sampling over versions on a binary reward from feedback."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from pydantic import Field, model_validator

from champion.registry.entities import VersionKey
from champion.serving.policies.base import (
    ArmName,
    Assignment,
    NamedArms,
    PolicyArms,
    PolicyParams,
    Resolve,
    Route,
    check_references,
    parse_params,
)

__all__ = ["BanditParams", "BanditPolicy"]

_DRAWS = 20_000


class BanditParams(PolicyParams):
    arms: dict[ArmName, str] = Field(min_length=2, description="Arm name → version reference.")
    reward: str = Field(
        default="click",
        pattern=r"^[a-z][a-z0-9_]{0,31}$",
        description="Feedback kind that counts as a success.",
    )
    floor: float = Field(
        default=0.05, ge=0.0, lt=0.5, description="Minimum share of traffic every arm keeps."
    )
    control: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> BanditParams:
        if self.floor * len(self.arms) > 1.0:
            raise ValueError(f"floor {self.floor} times {len(self.arms)} arms exceeds 1")
        if self.control is not None and self.control not in self.arms:
            raise ValueError(f"control {self.control!r} is not one of the arms {sorted(self.arms)}")
        return self


class BanditPolicy(NamedArms):
    """Probability matching: each arm is chosen with the posterior probability that it is best.

    Posteriors are Beta(1 + successes, 1 + failures) per arm, where a success is a request
    with at least one ``reward`` feedback event. Choosing arm i with probability
    P(θ_i is the largest) is exactly Thompson sampling's choice distribution; computing it once
    per posterior update (Monte Carlo, fixed seed) lets every request log the probability of
    its arm, mixed with the floor: ``p = floor + (1 - K·floor)·P(best)``. Later analysis
    weights outcomes by 1/p (inverse propensity).
    """

    name: ClassVar[str] = "bandit"
    kinds: ClassVar[frozenset[str] | None] = None
    example_params: ClassVar[dict[str, Any]] = {
        "arms": {"a": "m/1", "b": "m/2", "c": "m/3"},
        "floor": 0.1,
    }

    def __init__(
        self,
        arms: dict[str, VersionKey],
        reward: str,
        floor: float,
        control: str,
        counts: Mapping[str, tuple[int, int]] | None = None,
        timeout_seconds: float | None = None,
    ) -> None:
        self.arms = arms
        self.reward = reward
        self.floor = floor
        self.control = control
        self.counts = {name: (counts or {}).get(name, (0, 0)) for name in sorted(arms)}
        self.timeout_seconds = timeout_seconds
        self.probabilities = self._probabilities()

    @classmethod
    def references(cls, params: Mapping[str, Any]) -> list[str]:
        return check_references(list(parse_params(BanditParams, params).arms.values()))

    @classmethod
    def build(cls, params: Mapping[str, Any], resolve: Resolve) -> BanditPolicy:
        parsed = parse_params(BanditParams, params)
        control = parsed.control or sorted(parsed.arms)[0]
        return cls(
            {n: resolve(r) for n, r in parsed.arms.items()},
            parsed.reward,
            parsed.floor,
            control,
            None,
            parsed.timeout_seconds(),
        )

    @classmethod
    def compared_arms(cls, params: Mapping[str, Any]) -> PolicyArms:
        parsed = parse_params(BanditParams, params)
        control = parsed.control or sorted(parsed.arms)[0]
        return PolicyArms(control, dict(parsed.arms), reward=parsed.reward)

    def with_counts(self, counts: Mapping[str, tuple[int, int]]) -> BanditPolicy:
        """The same bandit with new (successes, trials) per arm."""
        return BanditPolicy(
            self.arms, self.reward, self.floor, self.control, counts, self.timeout_seconds
        )

    def _probabilities(self) -> dict[str, float]:
        names = sorted(self.arms)
        rng = np.random.default_rng(0)  # fixed: the same counts always give the same split
        draws = np.column_stack(
            [
                rng.beta(1 + s, 1 + max(t - s, 0), _DRAWS)
                for s, t in (self.counts[name] for name in names)
            ]
        )
        best = np.bincount(draws.argmax(axis=1), minlength=len(names)) / _DRAWS
        mixed = self.floor + (1 - self.floor * len(names)) * best
        return dict(zip(names, (float(p) for p in mixed / mixed.sum()), strict=True))

    def route(self, assignment: Assignment) -> Route:
        pick = assignment.rng.random()
        arm = sorted(self.arms)[-1]
        for name, probability in self.probabilities.items():
            pick -= probability
            if pick < 0:
                arm = name
                break
        return self._route_to(arm, self.probabilities[arm])
