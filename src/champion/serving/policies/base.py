"""The Policy protocol: how an endpoint routes a request and credits what it served."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from champion.registry.entities import VersionKey
from champion.types import ItemId, Json

__all__ = ["Policy", "PolicyFactory", "Resolve", "Route", "Served", "ServedItem"]

Resolve = Callable[[str], VersionKey]
"""Turns a reference such as ``recs@champion`` into the version it points at now."""


@dataclass(frozen=True)
class Route:
    """Where one request goes: the version that answers, the arm, and versions that only log."""

    arm: str
    answer: VersionKey
    shadows: tuple[VersionKey, ...] = ()
    bucket: int | None = None


@dataclass(frozen=True)
class ServedItem:
    item: ItemId
    position: int
    score: float | None
    credit: VersionKey


@dataclass(frozen=True)
class Served:
    """The answer the client gets and, for rankings, the per-item credit."""

    version: VersionKey
    outputs: list[Json] = field(default_factory=list)
    items: list[ServedItem] = field(default_factory=list)


class Policy(Protocol):
    """Pure routing: no I/O and no clock reads, so every policy is property-testable."""

    name: ClassVar[str]

    def versions(self) -> tuple[VersionKey, ...]:
        """Every version this policy may call; the server loads them before routing."""
        ...

    def route(self, unit: str, bucket: int | None, context: Mapping[str, Any]) -> Route: ...

    def attribute(
        self, route: Route, outputs: Mapping[VersionKey, list[Json]], *, ranking: bool
    ) -> Served:
        """Build the response from each called version's outputs.

        For rankings (``ranking=True``) each output list holds ``(item, score)`` pairs, best
        first, and the result's ``items`` carry positions (from 1) and the credited version.
        """
        ...


class PolicyFactory(Protocol):
    """A policy class: validates its parameters and builds itself with versions resolved."""

    name: str

    def references(self, params: Mapping[str, Any]) -> list[str]:
        """Validate ``params`` and return every version reference in them."""
        ...

    def build(self, params: Mapping[str, Any], resolve: Resolve) -> Policy: ...
