"""Online metrics per arm: what each metric means, and the numbers of one experiment window.

Every metric that can drive a decision is a ratio over the randomisation unit (a
:class:`~champion.evaluation.stattests.RatioSummary`), so one set of tests (delta method,
Welch, the sequential test, chance to win) serves them all and the unit, not the request,
stays the unit of analysis. Event metrics come from SQL (:mod:`champion.events.arms`); label
metrics and NDCG are scored by scikit-learn on the joined label rows and clicked positions.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from champion.evaluation.labels import label_summaries, ndcg_summaries
from champion.evaluation.stattests import RatioSummary
from champion.events.arms import RATIOS, ArmWindow, arm_sums, label_rows

__all__ = ["METRICS", "ArmMetrics", "Metric", "arm_metrics"]


@dataclass(frozen=True)
class Metric:
    name: str
    higher_is_better: bool
    source: str
    """``events`` (SQL), ``labels`` (label feedback), ``ranking`` (clicked positions) or
    ``interleaving`` (per-impression credit)."""
    description: str


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("ctr", True, "events", "clicked shown items per shown item (rankings)"),
        Metric("click_rate", True, "events", "requests with a click per request"),
        Metric("conversion", True, "events", "requests with a purchase per request"),
        Metric("value_per_unit", True, "events", "feedback value per unit"),
        Metric("error_rate", False, "events", "requests whose version failed per request"),
        Metric("latency_ms", False, "events", "mean latency per request"),
        Metric("coverage", True, "events", "requests with feedback per request"),
        Metric("accuracy", True, "labels", "correct predictions per labelled request"),
        Metric("log_loss", False, "labels", "log loss per labelled request"),
        Metric("squared_error", False, "labels", "squared error per labelled request"),
        Metric("ndcg", True, "ranking", "NDCG@k with clicks as relevance, per ranking"),
        Metric("interleaving", True, "interleaving", "mean unit preference (interleaved wins)"),
    )
}
"""Every metric an experiment can use as its goal or a guardrail."""


@dataclass(frozen=True)
class ArmMetrics:
    """One arm of an experiment window: counts, ratio metrics and reported label metrics."""

    arm: str
    version: str
    units: int
    totals: dict[str, float]
    metrics: dict[str, RatioSummary]
    latency_ms: dict[str, float | None]
    feedback_delay_seconds: dict[str, float | None]
    labels: dict[str, float | None] = field(default_factory=dict)

    def value(self, metric: str) -> float | None:
        summary = self.metrics.get(metric)
        if summary is None or summary.sum_y == 0:
            return None
        return summary.mean

    def to_json(self) -> dict[str, Any]:
        totals = self.totals
        return {
            "arm": self.arm,
            "version": self.version,
            "units": self.units,
            "requests": int(totals.get("requests", 0)),
            "impressions": int(totals.get("shown", 0)),
            "clicked_impressions": int(totals.get("clicked_items", 0)),
            "failures": int(totals.get("failed", 0)),
            "metrics": {name: self.value(name) for name in sorted(self.metrics)},
            "latency_ms": self.latency_ms,
            "feedback_delay_seconds": self.feedback_delay_seconds,
            "labels": self.labels,
        }


def arm_metrics(
    conn: sa.Connection,
    window: ArmWindow,
    versions: Mapping[str, str],
    *,
    ndcg_k: int = 10,
    sources: Collection[str] = ("events", "labels", "ranking"),
    percentiles: bool = True,
) -> dict[str, ArmMetrics]:
    """The metrics of every arm in ``window``; ``versions`` names each arm's version.

    ``sources`` limits the work to the metric sources needed (event metrics always come);
    without ``percentiles`` the latency and feedback-delay percentiles are None.
    Arms without a request in the window are present with zero units.
    """
    sums = arm_sums(conn, window, percentiles=percentiles)
    labels = label_summaries(label_rows(conn, window)) if "labels" in sources else {}
    ndcg = ndcg_summaries(conn, window, ndcg_k) if "ranking" in sources else {}
    found = {}
    for arm in window.arms:
        arm_sum = sums.get(arm)
        metrics = (
            {name: RatioSummary(*arm_sum.sums[name]) for name in RATIOS}
            if arm_sum is not None
            else {name: RatioSummary(0, 0.0, 0.0, 0.0, 0.0, 0.0) for name in RATIOS}
        )
        report: dict[str, float | None] = {}
        if arm in labels:
            metrics.update(labels[arm].summaries)
            report = labels[arm].report
        if arm in ndcg:
            metrics["ndcg"] = ndcg[arm]
        found[arm] = ArmMetrics(
            arm=arm,
            version=versions.get(arm, ""),
            units=arm_sum.units if arm_sum else 0,
            totals=arm_sum.totals if arm_sum else {},
            metrics=metrics,
            latency_ms=arm_sum.latency_ms if arm_sum else {},
            feedback_delay_seconds=arm_sum.feedback_delay_seconds if arm_sum else {},
            labels=report,
        )
    return found
