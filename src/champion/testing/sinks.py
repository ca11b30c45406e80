"""The contract every alert Sink keeps; plugin authors run it on their own sinks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from champion.alerts import Alert, Sink

__all__ = ["check_sink"]

_AT = datetime(2026, 1, 1, tzinfo=UTC)
_OPENED = Alert(
    id=1, rule="contract", endpoint="churn", metric="drift_share", severity="warning",
    state="open", value=0.5, threshold=0.2, message="50% of columns drifted", opened_at=_AT,
    last_value=0.5, last_evaluated_at=_AT,
)  # fmt: skip


def check_sink(sink: Sink) -> None:
    """Check ``sink`` by delivering an alert as it opens and as it resolves.

    * ``name`` is a non-empty string (it labels deliveries) and does not change on a send;
    * ``send`` delivers an open alert and its resolution and returns None (a sink that
      cannot deliver raises, which is for its own tests to show: it needs a failing target).

    Raises ``AssertionError`` naming the broken rule; whatever ``send`` raises propagates.
    """
    name = sink.name
    assert isinstance(name, str) and name, f"{type(sink).__name__}: name {name!r} is empty"
    resolved = replace(_OPENED, state="resolved", resolved_at=_AT, last_value=0.1)
    for alert in (_OPENED, resolved):
        returned = sink.send(alert)  # type: ignore[func-returns-value]  # checked: None
        assert returned is None, f"{name}: send returned {returned!r}, not None"
        assert sink.name == name, f"{name}: the name changed to {sink.name!r} on a send"
