"""canary: a share of units goes to the challenger; the rest, and any failure, to the champion."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field

from champion.registry.entities import VersionKey
from champion.serving.assignment import BUCKETS
from champion.serving.policies.base import (
    Assignment,
    PolicyArms,
    PolicyParams,
    Resolve,
    Route,
    RoutedVersionAnswers,
    check_references,
    parse_params,
)

__all__ = ["CanaryParams", "CanaryPolicy"]


class CanaryParams(PolicyParams):
    champion: str
    challenger: str
    share: float = Field(ge=0.0, le=1.0, description="Share of units sent to the challenger.")


class CanaryPolicy(RoutedVersionAnswers):
    """Units whose bucket is below ``share * 10000`` go to the challenger.

    Ramping up only adds units at the margin: a unit in the canary at 5 % (bucket < 500) is
    still in it at 20 % (bucket < 2000), and ramping down only removes units.

    Examples
    --------
    >>> import random
    >>> from champion.registry.entities import VersionKey
    >>> from champion.serving.policies.base import Assignment
    >>> keys = {"m@champion": VersionKey("m", 1), "m@challenger": VersionKey("m", 2)}
    >>> canary = CanaryPolicy.build(
    ...     {"champion": "m@champion", "challenger": "m@challenger", "share": 0.05}, keys.get)
    >>> canary.route(Assignment("u", 499, False, {}, random.Random(0))).arm
    'challenger'
    >>> canary.route(Assignment("u", 500, False, {}, random.Random(0))).arm
    'champion'
    """

    name: ClassVar[str] = "canary"
    kinds: ClassVar[frozenset[str] | None] = None
    example_params: ClassVar[dict[str, Any]] = {
        "champion": "m/1",
        "challenger": "m/2",
        "share": 0.2,
    }

    def __init__(
        self,
        champion: VersionKey,
        challenger: VersionKey,
        share: float,
        timeout_seconds: float | None = None,
    ) -> None:
        self.champion = champion
        self.challenger = challenger
        self.share = share
        self.timeout_seconds = timeout_seconds

    @classmethod
    def references(cls, params: Mapping[str, Any]) -> list[str]:
        parsed = parse_params(CanaryParams, params)
        return check_references([parsed.champion, parsed.challenger])

    @classmethod
    def build(cls, params: Mapping[str, Any], resolve: Resolve) -> CanaryPolicy:
        parsed = parse_params(CanaryParams, params)
        return cls(
            resolve(parsed.champion),
            resolve(parsed.challenger),
            parsed.share,
            parsed.timeout_seconds(),
        )

    @property
    def threshold(self) -> int:
        return round(self.share * BUCKETS)

    @classmethod
    def compared_arms(cls, params: Mapping[str, Any]) -> PolicyArms:
        parsed = parse_params(CanaryParams, params)
        return PolicyArms(
            "champion",
            {"champion": parsed.champion, "challenger": parsed.challenger},
            shares={"champion": 1.0 - parsed.share, "challenger": parsed.share},
            share=parsed.share,
        )

    def versions(self) -> tuple[VersionKey, ...]:
        return (self.champion, self.challenger)

    def route(self, assignment: Assignment) -> Route:
        if assignment.bucket < self.threshold:
            return Route(
                arm="challenger",
                calls=(self.challenger,),
                fallback=self.champion,
                probability=self.share,
                timeout_seconds=self.timeout_seconds,
            )
        return Route(
            arm="champion",
            calls=(self.champion,),
            probability=1.0 - self.share,
            timeout_seconds=self.timeout_seconds,
        )
