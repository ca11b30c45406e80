"""The alert service: the rule store and its evaluator, as the API, CLI and server use them."""

from __future__ import annotations

import sqlalchemy as sa

from champion.alerts.evaluator import AlertEvaluator
from champion.alerts.rules import Alert
from champion.alerts.sinks import SinkFactory
from champion.alerts.store import AlertStore
from champion.clock import Clock
from champion.drift.monitor import DriftMonitor
from champion.metrics import Metrics
from champion.plugins import Registry
from champion.serving.endpoints import Endpoints

__all__ = ["AlertService"]


class AlertService(AlertStore):
    """The rules and alerts of :class:`AlertStore`, evaluated by an :class:`AlertEvaluator`."""

    def __init__(
        self,
        engine: sa.Engine,
        monitor: DriftMonitor,
        clock: Clock,
        *,
        sinks: Registry[SinkFactory] | None = None,
        metrics: Metrics | None = None,
        workers: int = 4,
        endpoints: Endpoints | None = None,
    ) -> None:
        super().__init__(engine, clock, sinks=sinks, endpoints=endpoints)
        self.evaluator = AlertEvaluator(self, monitor, metrics=metrics, workers=workers)

    def evaluate(self) -> list[Alert]:
        """Evaluate every rule now; return the alerts opened or resolved by this round."""
        return self.evaluator.evaluate()

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every notification handed to the sinks was delivered or failed."""
        self.evaluator.flush(timeout)

    def close(self) -> None:
        self.evaluator.close()
