"""ab: a fixed split of units over two or more versions, by weight."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field, model_validator

from champion.registry.entities import VersionKey
from champion.serving.assignment import BUCKETS
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

__all__ = ["AbParams", "AbPolicy"]


class AbParams(PolicyParams):
    arms: dict[ArmName, str] = Field(min_length=2, description="Arm name → version reference.")
    weights: dict[str, float] | None = Field(
        default=None, description="Arm name → positive weight; equal when omitted."
    )
    control: str | None = Field(
        default=None,
        description="The arm that answers when another arm's version fails; default: the arm "
        "named 'control' or 'champion', else the first arm by name.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> AbParams:
        if self.weights is not None:
            if set(self.weights) != set(self.arms):
                raise ValueError(
                    f"weights must name exactly the arms {sorted(self.arms)}, "
                    f"got {sorted(self.weights)}"
                )
            if any(w <= 0 for w in self.weights.values()):
                raise ValueError("every weight must be positive")
        if self.control is not None and self.control not in self.arms:
            raise ValueError(f"control {self.control!r} is not one of the arms {sorted(self.arms)}")
        return self

    def control_arm(self) -> str:
        if self.control is not None:
            return self.control
        for name in ("control", "champion"):
            if name in self.arms:
                return name
        return sorted(self.arms)[0]


class AbPolicy(NamedArms):
    """Arms own consecutive bucket ranges, in order of arm name, sized by weight.

    Examples
    --------
    >>> import random
    >>> from champion.registry.entities import VersionKey
    >>> from champion.serving.policies.base import Assignment
    >>> ab = AbPolicy.build({"arms": {"a": "m/1", "b": "m/2"}, "weights": {"a": 3, "b": 1}},
    ...                     lambda ref: VersionKey("m", int(ref[-1])))
    >>> [ab.route(Assignment("u", b, False, {}, random.Random(0))).arm for b in (0, 7499, 7500)]
    ['a', 'a', 'b']
    """

    name: ClassVar[str] = "ab"
    kinds: ClassVar[frozenset[str] | None] = None
    example_params: ClassVar[dict[str, Any]] = {
        "arms": {"control": "m/1", "treatment": "m/2"},
        "weights": {"control": 1, "treatment": 3},
    }

    def __init__(
        self,
        arms: dict[str, VersionKey],
        weights: dict[str, float],
        control: str,
        timeout_seconds: float | None = None,
    ) -> None:
        self.arms = arms
        self.weights = weights
        self.control = control
        self.timeout_seconds = timeout_seconds
        total = sum(weights.values())
        self.shares = {name: weights[name] / total for name in sorted(arms)}
        self._bounds: list[tuple[int, str]] = []
        cumulative = 0.0
        for name in sorted(arms):
            cumulative += self.shares[name]
            self._bounds.append((round(cumulative * BUCKETS), name))

    @classmethod
    def references(cls, params: Mapping[str, Any]) -> list[str]:
        return check_references(list(parse_params(AbParams, params).arms.values()))

    @classmethod
    def build(cls, params: Mapping[str, Any], resolve: Resolve) -> AbPolicy:
        parsed = parse_params(AbParams, params)
        weights = parsed.weights or dict.fromkeys(parsed.arms, 1.0)
        arms = {name: resolve(ref) for name, ref in parsed.arms.items()}
        return cls(arms, weights, parsed.control_arm(), parsed.timeout_seconds())

    @classmethod
    def compared_arms(cls, params: Mapping[str, Any]) -> PolicyArms:
        parsed = parse_params(AbParams, params)
        weights = parsed.weights or {arm: 1.0 for arm in parsed.arms}
        total = sum(weights.values())
        shares = {arm: w / total for arm, w in weights.items()}
        return PolicyArms(parsed.control_arm(), dict(parsed.arms), shares=shares)

    def route(self, assignment: Assignment) -> Route:
        arm = next(name for bound, name in self._bounds if assignment.bucket < bound)
        return self._route_to(arm, self.shares[arm])
