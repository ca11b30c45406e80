"""The server's alert evaluator: rules run in a worker process, never beside requests.

Evaluating a rule streams a whole window of predictions and compares it with a reference:
seconds of pandas and NumPy work that, in a thread, would hold the GIL while requests wait.
A worker process (one, started by the first round that has a rule) does it instead; it sends
back the Prometheus samples it produced (drift statistics, open alerts, notifications), which
the server publishes on its own ``/metrics``.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from champion.alerts import AlertStore
from champion.clock import Clock
from champion.metrics import Metrics
from champion.settings import Settings

__all__ = ["AlertEvaluator", "evaluate_rules"]

Sample = tuple[str, dict[str, str], float]
_PUBLISHED = (
    "champion_drift_drifted_columns_ratio",
    "champion_drift_statistic",
    "champion_alerts_open",
    "champion_alert_notifications_total",
)


def evaluate_rules(settings: Settings, clock: Clock | None) -> list[Sample]:
    """Evaluate every rule once (in the worker process); return the metric samples."""
    from champion.services import Services

    metrics = Metrics()
    services = Services.open(settings, clock, metrics)
    try:
        services.alerts.evaluate()
        services.alerts.flush()
    finally:
        services.close()
    return [
        (sample.name, dict(sample.labels), float(sample.value))
        for family in metrics.registry.collect()
        for sample in family.samples
        if sample.name in _PUBLISHED
    ]


class AlertEvaluator:
    """One worker process that evaluates the rules of ``store`` when asked, started by the
    first round that has a rule to evaluate."""

    def __init__(
        self, settings: Settings, clock: Clock | None, metrics: Metrics, store: AlertStore
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.metrics = metrics
        self.store = store
        # spawn: the worker starts clean, without the server's threads and open connections.
        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))

    def evaluate(self) -> None:
        """Run one round in the worker and publish its samples (blocks the calling thread);
        with no rule, nothing (the worker would cost seconds of CPU to start, for nothing)."""
        if not self.store.list_rules():
            return
        samples = self._pool.submit(evaluate_rules, self.settings, self.clock).result()
        self.publish(samples)

    def publish(self, samples: list[Sample]) -> None:
        families: dict[str, Any] = {
            "champion_drift_drifted_columns_ratio": self.metrics.drift_share,
            "champion_drift_statistic": self.metrics.drift_statistic,
            "champion_alerts_open": self.metrics.alerts_open,
        }
        for name, labels, value in samples:
            if name in families:
                families[name].labels(**labels).set(value)
            elif value:
                self.metrics.alert_notifications.labels(**labels).inc(value)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
