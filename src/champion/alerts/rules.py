"""Alert rules and alerts: a metric of an endpoint over a window, compared with a threshold.

A rule fires when ``metric`` over the last ``window`` is ``above`` (or ``below``) its
``threshold``: an alert opens with the rule's ``severity`` and goes to the rule's sinks. It
stays open while the condition holds and resolves (and the sinks hear so) once it no longer
does. ``cooldown`` is the least time between two openings of the same rule, so a metric
hovering around its threshold does not page anyone every minute.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from champion.errors import InvalidInput
from champion.periods import parse_window
from champion.registry.entities import check_name
from champion.validation import check_choice, check_float

__all__ = ["OPERATORS", "SEVERITIES", "Alert", "AlertRule"]

OPERATORS = ("above", "below")
SEVERITIES = ("info", "warning", "critical")
_STAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,30}")  # as serving.stages names them


@dataclass(frozen=True)
class AlertRule:
    """A stored rule; build one with ``AlertRule.create`` to validate every field.

    >>> rule = AlertRule.create("attrition-drift", endpoint="attrition", metric="drift_share",
    ...                         threshold=0.2, window="1h", cooldown="30m")
    >>> rule.window_seconds, rule.cooldown_seconds, rule.breached(0.25), rule.breached(0.2)
    (3600.0, 1800.0, True, False)
    """

    name: str
    endpoint: str
    metric: str
    threshold: float
    operator: str = "above"
    window_seconds: float = 3600.0
    severity: str = "warning"
    cooldown_seconds: float = 3600.0
    sinks: tuple[Mapping[str, Any], ...] = ({"type": "log"},)
    description: str = ""
    updated_at: datetime | None = None
    updated_by: str = ""

    @classmethod
    def create(
        cls,
        name: str,
        *,
        endpoint: str,
        metric: str,
        threshold: float,
        operator: str = "above",
        window: str = "1h",
        severity: str = "warning",
        cooldown: str = "1h",
        sinks: Sequence[Mapping[str, Any]] = ({"type": "log"},),
        description: str = "",
        metrics: Sequence[str] | None = None,
        stage: str | None = None,
    ) -> AlertRule:
        """Validate and build; ``metrics`` lists the known metric names (checked if given).
        ``stage`` watches that stage of a pipeline endpoint (stored as ``endpoint:stage``)."""
        check_name("alert rule", name)
        check_name("endpoint", endpoint)
        if stage is not None:
            if not isinstance(stage, str) or not _STAGE.fullmatch(stage):
                raise InvalidInput(
                    f"Invalid stage name {stage!r}: use 1-31 letters, digits, '_' or '-', "
                    "starting with a letter or digit."
                )
            endpoint = f"{endpoint}:{stage}"
        if metrics is not None:
            check_choice("AlertRule", "metric", metric, metrics)
        threshold = check_float("AlertRule", "threshold", threshold, -float("inf"), float("inf"))
        check_choice("AlertRule", "operator", operator, OPERATORS)
        check_choice("AlertRule", "severity", severity, SEVERITIES)
        if not sinks:
            raise InvalidInput("An alert rule needs at least one sink, e.g. {'type': 'log'}.")
        return cls(
            name=name,
            endpoint=endpoint,
            metric=metric,
            threshold=threshold,
            operator=operator,
            window_seconds=parse_window(window).total_seconds(),
            severity=severity,
            cooldown_seconds=_cooldown(cooldown),
            sinks=tuple(dict(s) for s in sinks),
            description=description,
        )

    def breached(self, value: float) -> bool:
        return value > self.threshold if self.operator == "above" else value < self.threshold

    def to_json(self) -> dict[str, Any]:
        endpoint, _, stage = self.endpoint.partition(":")
        return {
            "name": self.name,
            "endpoint": endpoint,
            **({"stage": stage} if stage else {}),
            "metric": self.metric,
            "operator": self.operator,
            "threshold": self.threshold,
            "window_seconds": self.window_seconds,
            "severity": self.severity,
            "cooldown_seconds": self.cooldown_seconds,
            "sinks": [dict(s) for s in self.sinks],
            "description": self.description,
            "updated_at": None if self.updated_at is None else self.updated_at.isoformat(),
            "updated_by": self.updated_by,
        }


def _cooldown(text: str) -> float:
    if isinstance(text, str) and text.strip() in {"0", "0s", "none"}:
        return 0.0
    return parse_window(text, "cooldown").total_seconds()


@dataclass(frozen=True)
class Alert:
    """One firing of a rule: ``open`` until the condition clears, then ``resolved``."""

    id: int
    rule: str
    endpoint: str
    metric: str
    severity: str
    state: str
    value: float
    threshold: float
    message: str
    opened_at: datetime
    last_value: float
    last_evaluated_at: datetime
    resolved_at: datetime | None = None
    deliveries: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        endpoint, _, stage = self.endpoint.partition(":")
        return {
            "id": self.id,
            "rule": self.rule,
            "endpoint": endpoint,
            **({"stage": stage} if stage else {}),
            "metric": self.metric,
            "severity": self.severity,
            "state": self.state,
            "value": self.value,
            "threshold": self.threshold,
            "message": self.message,
            "opened_at": self.opened_at.isoformat(),
            "last_value": self.last_value,
            "last_evaluated_at": self.last_evaluated_at.isoformat(),
            "resolved_at": None if self.resolved_at is None else self.resolved_at.isoformat(),
            "deliveries": dict(self.deliveries),
        }
