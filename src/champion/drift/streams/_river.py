"""What the three River wrappers share: the wrapped detector, its counter, its reset."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Self

__all__ = ["RiverWrapper"]


class RiverWrapper(ABC):
    """Delegates to a River detector; subclasses build it in ``_build``.

    River resets a detector by itself at the update after a detection, so the wrapper only
    counts and forwards.
    """

    def __init__(self) -> None:
        self._river = self._build()
        self._n_seen = 0

    @abstractmethod
    def _build(self) -> Any:
        """A fresh River detector with this wrapper's parameters."""

    def update(self, x: float) -> Self:
        self._river.update(x)
        self._n_seen += 1
        return self

    @property
    def drift_detected(self) -> bool:
        return bool(self._river.drift_detected)

    @property
    def n_seen(self) -> int:
        """Values seen since the detector was built."""
        return self._n_seen

    def _reset(self) -> None:
        self._river = self._build()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._params()})"

    def _params(self) -> str:
        return ""
