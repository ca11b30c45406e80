"""The StreamDetector protocol (River-shaped) and its registry entry.

An online change detector sees one value at a time, ``update(x) -> self``, and says through
read-only properties whether the stream changed: ``drift_detected`` after the update that
found a change, and, on the detectors that support it (``WarningDetector``),
``warning_detected`` when a change is getting likely. After a detection the detector resets
itself on the next update, as River's do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, Self, runtime_checkable

__all__ = ["StreamDetector", "StreamSpec", "WarningDetector"]


@runtime_checkable
class StreamDetector(Protocol):
    """Watches a stream of numbers (an error stream, a metric) for a change."""

    @property
    def drift_detected(self) -> bool: ...

    @property
    def n_seen(self) -> int: ...

    def update(self, x: float) -> Self: ...


@runtime_checkable
class WarningDetector(StreamDetector, Protocol):
    """A detector that also raises a warning before it declares a change."""

    @property
    def warning_detected(self) -> bool: ...


@dataclass(frozen=True)
class StreamSpec:
    """A registry entry: name, display name, what the stream holds and example parameters.

    ``binary`` detectors take 0/1 values only (an error indicator); the others any number.
    ``example_params`` feed the contract check (River's ``_unit_test_params``).
    """

    name: str
    display_name: str
    binary: bool
    factory: Callable[..., StreamDetector]
    example_params: Mapping[str, Any] = field(default_factory=dict)

    def build(self, **params: Any) -> StreamDetector:
        return self.factory(**params)
