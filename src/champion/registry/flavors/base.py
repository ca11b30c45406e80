"""The Flavor protocol: how a version folder is checked, loaded and called."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from champion.registry.manifest import Manifest
from champion.types import Instance, ItemId, Json

__all__ = ["Flavor", "LoadOptions", "Loaded", "RankedItem"]

RankedItem = tuple[ItemId, float | None]


class LoadOptions(Protocol):
    """The part of Settings a flavor may read."""

    @property
    def trust_pickle(self) -> bool: ...


class Loaded(Protocol):
    """A version in memory, ready to answer."""

    pure_compute: bool
    """True when a call only computes (no I/O, no sleeping, no waiting on other threads): such
    a call may run on the server's event loop once it is known to be quick (see
    serving/placement.py). False for code champion cannot vouch for."""

    def predict(self, instances: Sequence[Instance]) -> list[Json]:
        """One JSON-ready output per instance (classifiers and regressors)."""
        ...

    def rank(self, unit: str | None, context: dict[str, Any], k: int) -> list[RankedItem]:
        """At most ``k`` (item, score) pairs, best first (rankers)."""
        ...


class Flavor(Protocol):
    name: str

    def check(self, folder: Path, manifest: Manifest, options: LoadOptions) -> None:
        """Refuse at registration what could never load; must not run the user's code."""
        ...

    def carries_code(self, manifest: Manifest) -> bool:
        """True when loading the version runs code that came with it (a python class, a
        pickle, types beyond the flavor's trusted ones): such a version is registered over
        HTTP only where the operator allows it. A flavor without this method is taken to
        carry code."""
        ...

    def load(self, folder: Path, manifest: Manifest, options: LoadOptions) -> Loaded: ...
