"""single: one version answers every request."""

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

__all__ = ["SingleParams", "SinglePolicy"]


class SingleParams(PolicyParams):
    version: str


class SinglePolicy(RoutedVersionAnswers):
    """Serve one version, named by ``version`` (``recs/3`` or ``recs@champion``).

    Examples
    --------
    >>> import random
    >>> from champion.registry.entities import VersionKey
    >>> from champion.serving.policies.base import Assignment
    >>> policy = SinglePolicy.build({"version": "recs@champion"}, lambda r: VersionKey("recs", 2))
    >>> policy.route(Assignment("user-1", 42, False, {}, random.Random(0))).calls
    (VersionKey(model='recs', number=2),)
    """

    name: ClassVar[str] = "single"
    kinds: ClassVar[frozenset[str] | None] = None
    example_params: ClassVar[dict[str, Any]] = {"version": "m/1"}

    def __init__(self, version: VersionKey, timeout_seconds: float | None = None) -> None:
        self.version = version
        self.timeout_seconds = timeout_seconds

    @classmethod
    def references(cls, params: Mapping[str, Any]) -> list[str]:
        return check_references([parse_params(SingleParams, params).version])

    @classmethod
    def build(cls, params: Mapping[str, Any], resolve: Resolve) -> SinglePolicy:
        parsed = parse_params(SingleParams, params)
        return cls(resolve(parsed.version), parsed.timeout_seconds())

    @classmethod
    def compared_arms(cls, params: Mapping[str, Any]) -> PolicyArms | None:
        """None: one version answers each unit, so there is nothing to compare."""
        parse_params(SingleParams, params)
        return None

    def versions(self) -> tuple[VersionKey, ...]:
        return (self.version,)

    def route(self, assignment: Assignment) -> Route:
        return Route(
            arm="champion",
            calls=(self.version,),
            probability=1.0,
            timeout_seconds=self.timeout_seconds,
        )
