"""What gets logged: prediction events and feedback events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from champion.types import Json

__all__ = ["FeedbackEvent", "FeedbackReceipt", "PredictionEvent", "ShadowEvent", "ShownItem"]


@dataclass(frozen=True)
class ShownItem:
    item: str
    position: int
    model: str
    version: int


class PredictionEvent(NamedTuple):
    """One served request, as the ``predictions`` row it becomes (its fields are that
    table's columns, in order) and the items a ranking showed.

    A named tuple, not a dataclass: one is made for every request, on the event loop, and a
    tuple is made in one step and handed to the writer as its row without a copy by name.
    """

    request_id: str
    endpoint: str
    config_version: int
    unit: str
    unit_randomised: bool
    arm: str
    bucket: int | None
    model: str
    version: int
    kind: str
    inputs: Json
    outputs: Json
    latency_ms: float
    at: datetime
    fallback_from: str | None = None
    probability: float | None = None
    client_request_id: str | None = None
    trace_id: str | None = None
    stage: str | None = None
    items: tuple[ShownItem, ...] = ()

    def values(self) -> list[Any]:
        """The ``predictions`` row: every field but ``items``, in the table's column order."""
        return list(self[:-1])

    def item_rows(self) -> list[dict[str, Any]]:
        """The rows of ``prediction_items``: one per item the ranking showed."""
        return [
            {
                "request_id": self.request_id,
                "position": i.position,
                "item": i.item,
                "model": i.model,
                "version": i.version,
                "at": self.at,
            }
            for i in self.items
        ]


@dataclass(frozen=True)
class ShadowEvent:
    """A shadow version's answer (or failure) to a served request's input."""

    request_id: str
    endpoint: str
    model: str
    version: int
    outputs: Json
    error: str | None
    latency_ms: float
    at: datetime

    def row(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "endpoint": self.endpoint,
            "model": self.model,
            "version": self.version,
            "outputs": self.outputs,
            "error": self.error,
            "latency_ms": self.latency_ms,
            "at": self.at,
        }


@dataclass(frozen=True)
class FeedbackEvent:
    """What happened after a prediction: a click, a purchase, a label, a value."""

    event_id: str
    request_id: str
    kind: str
    at: datetime
    item: str | None = None
    value: float | None = None
    label: Json = None

    def row(self, received_at: datetime) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "request_id": self.request_id,
            "item": self.item,
            "kind": self.kind,
            "value": self.value,
            "label": self.label,
            "at": self.at,
            "received_at": received_at,
        }


@dataclass(frozen=True)
class FeedbackReceipt:
    """Which events of one submission were committed now and which were already stored."""

    accepted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
