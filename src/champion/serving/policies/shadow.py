"""shadow: the champion answers; the challenger sees the same input off the response path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

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

__all__ = ["ShadowParams", "ShadowPolicy"]


class ShadowParams(PolicyParams):
    champion: str
    challenger: str


class ShadowPolicy(RoutedVersionAnswers):
    """The challenger's output is logged beside the champion's; it never changes the answer.

    The server runs shadows after the response is ready, on the shadow version's own threads,
    and skips a shadow call when that version is still busy with earlier ones: a slow, hanging
    or failing challenger never delays or fails a response.
    """

    name: ClassVar[str] = "shadow"
    kinds: ClassVar[frozenset[str] | None] = None
    example_params: ClassVar[dict[str, Any]] = {"champion": "m/1", "challenger": "m/2"}

    def __init__(
        self, champion: VersionKey, challenger: VersionKey, timeout_seconds: float | None = None
    ) -> None:
        self.champion = champion
        self.challenger = challenger
        self.timeout_seconds = timeout_seconds

    @classmethod
    def references(cls, params: Mapping[str, Any]) -> list[str]:
        parsed = parse_params(ShadowParams, params)
        return check_references([parsed.champion, parsed.challenger])

    @classmethod
    def build(cls, params: Mapping[str, Any], resolve: Resolve) -> ShadowPolicy:
        parsed = parse_params(ShadowParams, params)
        return cls(resolve(parsed.champion), resolve(parsed.challenger), parsed.timeout_seconds())

    @classmethod
    def compared_arms(cls, params: Mapping[str, Any]) -> PolicyArms | None:
        """None: one version answers each unit, so there is nothing to compare."""
        parse_params(ShadowParams, params)
        return None

    def versions(self) -> tuple[VersionKey, ...]:
        return (self.champion, self.challenger)

    def route(self, assignment: Assignment) -> Route:
        return Route(
            arm="champion",
            calls=(self.champion,),
            shadows=(self.challenger,),
            probability=1.0,
            timeout_seconds=self.timeout_seconds,
        )
