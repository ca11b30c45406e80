"""What every client operation is built from: a ``Call`` and the helpers that shape one."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

__all__ = ["Call", "Sender", "drop_none", "iso", "segment"]

R = TypeVar("R")


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    data: dict[str, str] | None = None
    pick: str | None = None
    """Answer with this key of the JSON body instead of the whole body."""


class Sender(ABC, Generic[R]):
    """Subclasses say how a Call is sent: answered (``Client``) or awaited (``AsyncClient``)."""

    @abstractmethod
    def _send(self, call: Call) -> R:
        """Send ``call`` and answer with its JSON (or its ``pick``)."""


def segment(value: str | int) -> str:
    """One path segment: '/' and a lone '.' or '..' cannot climb to another route."""
    text = quote(str(value), safe="")
    return text.replace(".", "%2E") if set(text) == {"."} else text


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def drop_none(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
