"""blue_green: two versions loaded, one live; switching is one atomic configuration change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from champion.registry.entities import VersionKey
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

__all__ = ["BlueGreenParams", "BlueGreenPolicy"]


class BlueGreenParams(PolicyParams):
    blue: str
    green: str
    live: Literal["blue", "green"] = "blue"


class BlueGreenPolicy(RoutedVersionAnswers):
    """Every request goes to the live colour; both colours stay loaded for an instant switch.

    A switch (``champion endpoints switch NAME`` or a PUT with the other ``live``) replaces the
    endpoint's routing in one assignment: a request sees the old or the new state, never a mix.
    """

    name: ClassVar[str] = "blue_green"
    kinds: ClassVar[frozenset[str] | None] = None
    example_params: ClassVar[dict[str, Any]] = {"blue": "m/1", "green": "m/2", "live": "green"}

    def __init__(
        self, blue: VersionKey, green: VersionKey, live: str, timeout_seconds: float | None = None
    ) -> None:
        self.blue = blue
        self.green = green
        self.live = live
        self.timeout_seconds = timeout_seconds

    @classmethod
    def references(cls, params: Mapping[str, Any]) -> list[str]:
        parsed = parse_params(BlueGreenParams, params)
        return check_references([parsed.blue, parsed.green])

    @classmethod
    def build(cls, params: Mapping[str, Any], resolve: Resolve) -> BlueGreenPolicy:
        parsed = parse_params(BlueGreenParams, params)
        return cls(
            resolve(parsed.blue), resolve(parsed.green), parsed.live, parsed.timeout_seconds()
        )

    @classmethod
    def compared_arms(cls, params: Mapping[str, Any]) -> PolicyArms | None:
        """None: one version answers each unit, so there is nothing to compare."""
        parse_params(BlueGreenParams, params)
        return None

    def versions(self) -> tuple[VersionKey, ...]:
        return (self.blue, self.green)

    def route(self, assignment: Assignment) -> Route:
        version = self.blue if self.live == "blue" else self.green
        return Route(
            arm=self.live, calls=(version,), probability=1.0, timeout_seconds=self.timeout_seconds
        )
