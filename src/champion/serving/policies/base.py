"""The Policy protocol: how an endpoint routes a request and credits what it served.

A policy is pure: it reads no clock, does no I/O and draws randomness only from the
``random.Random`` it is handed (seeded from the request id), so the same request routes the
same way every time and every policy can be property-tested.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from champion.registry.entities import VersionKey, VersionRef
from champion.types import ItemId, Json
from champion.validation import invalid_input

__all__ = [
    "ArmName",
    "Assignment",
    "NamedArms",
    "Policy",
    "PolicyArms",
    "PolicyFactory",
    "PolicyParams",
    "Resolve",
    "Route",
    "RoutedVersionAnswers",
    "Served",
    "ServedItem",
    "check_references",
    "parse_params",
    "single_answer",
]

Resolve = Callable[[str], VersionKey]
"""Turns a reference such as ``recs@champion`` into the version it points at now."""


@dataclass(frozen=True)
class Assignment:
    """Who asks: the unit, its bucket (``hash(salt, unit) mod 10000``), per-request randomness."""

    unit: str
    bucket: int
    randomised: bool
    context: Mapping[str, Any]
    rng: random.Random


@dataclass(frozen=True)
class Route:
    """Where one request goes.

    ``calls`` are called concurrently and all are needed for the answer; if one fails,
    ``fallback`` (the champion) answers alone. ``shadows`` run off the response path and only
    log. ``probability`` is the chance this unit had of landing in ``arm``.
    """

    arm: str
    calls: tuple[VersionKey, ...]
    fallback: VersionKey | None = None
    shadows: tuple[VersionKey, ...] = ()
    probability: float | None = None
    timeout_seconds: float | None = None


@dataclass(frozen=True)
class ServedItem:
    item: ItemId
    position: int
    score: float | None
    credit: VersionKey


@dataclass(frozen=True)
class Served:
    """The answer the client gets and, for rankings, each shown item's credit."""

    version: VersionKey
    outputs: list[Json] = field(default_factory=list)
    items: list[ServedItem] = field(default_factory=list)


class Policy(Protocol):
    name: ClassVar[str]

    def versions(self) -> tuple[VersionKey, ...]:
        """Every version this policy may call; the server loads them before routing."""
        ...

    def route(self, assignment: Assignment) -> Route: ...

    def attribute(
        self,
        route: Route,
        outputs: Mapping[VersionKey, list[Json]],
        *,
        ranking: bool,
        k: int,
        rng: random.Random,
    ) -> Served:
        """Build the response from each called version's outputs.

        For rankings each output list holds ``(item, score)`` pairs, best first, and the
        result's ``items`` carry positions (from 1) and the credited version.
        """
        ...


@dataclass(frozen=True)
class PolicyArms:
    """The arms a policy compares, read from its parameters: what an experiment on it needs.

    ``refs`` maps each arm to its version reference as configured (``recs@champion``), and
    ``control`` is the arm every other one (a challenger) is compared with. ``shares`` is each
    arm's configured share of units, which the sample-ratio check expects; None when the
    policy adapts the split (bandit) or sends every unit to every arm. ``share`` is the share
    a ramp moves (the challenger's, under canary); ``reward`` the feedback a bandit learns from.

    Examples
    --------
    >>> PolicyArms("a", {"a": "m/1", "c": "m/3", "b": "m/2"}).challengers
    ('b', 'c')
    """

    control: str
    refs: dict[str, str]
    shares: dict[str, float] | None = None
    share: float | None = None
    reward: str | None = None

    @property
    def challengers(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.refs) - {self.control}))


class PolicyFactory(Protocol):
    """A policy class: validates its parameters and builds itself with versions resolved."""

    name: str
    kinds: frozenset[str] | None
    """The model kinds it can serve; None for any."""
    example_params: dict[str, Any]
    """Parameters naming versions m/1, m/2, ... for the contract checks (champion.testing)."""

    def references(self, params: Mapping[str, Any]) -> list[str]:
        """Validate ``params`` and return every version reference in them."""
        ...

    def build(self, params: Mapping[str, Any], resolve: Resolve) -> Policy: ...

    def compared_arms(self, params: Mapping[str, Any]) -> PolicyArms | None:
        """Validate ``params`` and return the arms they compare; None for a policy that
        compares no versions (an experiment on it is refused)."""
        ...


ArmName = Annotated[str, Field(min_length=1, max_length=64)]
"""An arm's name, logged with every prediction (in 64 characters)."""


class PolicyParams(BaseModel):
    """Parameters every policy accepts."""

    # Strict: the parameters are stored as given, so what is stored must be what was checked
    # (a true read as a 1 ms timeout, or "0.5" as a share, would only fail later).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    timeout_ms: float | None = Field(
        default=None,
        gt=0,
        le=600_000,
        description="Calls slower than this fail (and fall back to the champion).",
    )

    def timeout_seconds(self) -> float | None:
        return None if self.timeout_ms is None else self.timeout_ms / 1000.0


P = TypeVar("P", bound=PolicyParams)


def parse_params(model: type[P], params: Mapping[str, Any]) -> P:
    """Validate ``params`` against ``model``; errors name ``params.<field>``."""
    try:
        return model.model_validate(dict(params))
    except ValidationError as exc:
        raise invalid_input(exc, "params") from None


def check_references(references: Sequence[str]) -> list[str]:
    """Every reference must read ``model/number`` or ``model@alias``."""
    for reference in references:
        VersionRef.parse(reference)
    return list(references)


class RoutedVersionAnswers:
    """For policies whose every route calls one version: that version's output is the answer."""

    def attribute(
        self,
        route: Route,
        outputs: Mapping[VersionKey, list[Json]],
        *,
        ranking: bool,
        k: int,
        rng: random.Random,
    ) -> Served:
        version = route.calls[0]
        return single_answer(version, outputs[version], ranking=ranking, k=k)


class NamedArms(RoutedVersionAnswers):
    """Policies over named arms (ab, bandit): the chosen arm's version answers, and a failing
    version falls back to the control arm's."""

    arms: dict[str, VersionKey]
    control: str
    timeout_seconds: float | None

    def versions(self) -> tuple[VersionKey, ...]:
        return tuple(dict.fromkeys(self.arms[name] for name in sorted(self.arms)))

    def _route_to(self, arm: str, probability: float) -> Route:
        version, control = self.arms[arm], self.arms[self.control]
        return Route(
            arm=arm,
            calls=(version,),
            fallback=None if version == control else control,
            probability=probability,
            timeout_seconds=self.timeout_seconds,
        )


def single_answer(version: VersionKey, outputs: list[Json], *, ranking: bool, k: int) -> Served:
    """The response when one version answers: its outputs, or its items credited to it."""
    if not ranking:
        return Served(version=version, outputs=outputs)
    items = [
        ServedItem(item=item, position=position, score=score, credit=version)
        for position, (item, score) in enumerate(outputs[:k], start=1)
    ]
    return Served(version=version, items=items)
