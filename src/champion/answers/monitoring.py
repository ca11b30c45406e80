"""Answers of monitoring: drift, its timeline, performance, references, alerts, audit."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from champion.answers.base import Answer

__all__ = [
    "AlertAnswer",
    "AlertChangesAnswer",
    "AlertListAnswer",
    "AlertRuleAnswer",
    "AlertRuleListAnswer",
    "AuditAnswer",
    "AuditRecord",
    "ColumnDriftAnswer",
    "DetectionAnswer",
    "DriftAnswer",
    "DriftCell",
    "DriftColumnTimeline",
    "DriftTimelineAnswer",
    "DriftTrend",
    "DriftWindow",
    "EstimatedBucketAnswer",
    "EstimatedMetric",
    "EstimatedMetrics",
    "EstimatedPerformanceAnswer",
    "LabelledReferenceAnswer",
    "PerformanceAnswer",
    "PerformanceBucket",
    "QualityAnswer",
    "ReferenceAnswer",
    "ReferenceColumn",
    "ReferenceSummary",
    "TimeSpan",
    "VersionChoice",
]


class TimeSpan(Answer):
    start: str
    end: str


class ReferenceSummary(Answer):
    rows: int
    source: str
    labelled: str | None = Field(
        default=None,
        description="The label column of the version's labelled reference (CBPE can estimate "
        "its performance); null: none.",
    )


class ColumnDriftAnswer(Answer):
    column: str = Field(examples=["tenure"])
    kind: str = Field(examples=["numeric"], description="numeric or categorical.")
    method: str = Field(examples=["psi"])
    # A statistic JSON cannot hold (an infinite distance) is null.
    statistic: float | None
    p_value: float | None
    p_adjusted: float | None = Field(description="After the correction over columns.")
    threshold: float
    drifted: bool
    n_current: int
    missing_share: float
    severity: float | None
    verdict: str = Field(examples=["drifted"])
    role: str = Field(description="input or output.")


class QualityAnswer(Answer):
    rows: int
    bad_rows: int
    share_bad: float
    missing_columns: list[str]
    unchecked_columns: list[str]
    columns: dict[str, dict[str, int]] = Field(description="Column to check to bad rows.")


class DriftAnswer(Answer):
    endpoint: str
    version: str = Field(examples=["attrition/3"], description="The version judged.")
    version_basis: str = Field(description="Why that version: asked for, live, most served.")
    start: str | None
    end: str | None
    source: str = Field(description="Where the live rows came from (raw events, daily windows).")
    resolution: str = Field(examples=["exact"])
    covered: TimeSpan | None
    stored_days: int
    reference: ReferenceSummary
    rows: int
    correction: str
    share_drifted: float
    drifted_columns: list[str]
    skipped_columns: list[str] = Field(description="Columns with no current value to compare.")
    columns: list[ColumnDriftAnswer] = Field(description="Most severe first.")
    quality: QualityAnswer


class VersionChoice(Answer):
    version: str
    live: bool
    configured: bool
    predictions: int
    has_reference: bool


class DriftWindow(Answer):
    start: str | None
    end: str | None
    rows: int
    share_drifted: float | None
    resolution: str


class DriftCell(Answer):
    method: str
    statistic: float | None
    p_value: float | None
    p_adjusted: float | None
    threshold: float
    drifted: bool
    severity: float | None
    n: int


class DriftTrend(Answer):
    """How fast a column's drift statistic moves over the timeline's windows."""

    method: str = Field(examples=["theil_sen"])
    windows: int = Field(description="Windows measured with the latest window's test.")
    slope_per_day: float = Field(description="Change of the statistic per day (Theil-Sen).")
    low: float = Field(description="The slope's 95 % interval, lower end.")
    high: float
    rising: bool = Field(description="The whole interval lies above zero.")


class DriftColumnTimeline(Answer):
    column: str
    kind: str
    role: str
    cells: list[DriftCell | None] = Field(description="One per window; null: no value.")
    distribution: dict[str, Any] = Field(
        description="Numeric: edges, reference and current bin counts; categorical: "
        "categories, reference and current counts."
    )
    trend: DriftTrend | None = Field(
        default=None, description="Null with fewer than three comparable windows."
    )


class DriftTimelineAnswer(Answer):
    endpoint: str
    version: str | None
    version_basis: str | None
    versions: list[VersionChoice] = Field(description="The versions one may judge instead.")
    start: str
    end: str
    window_seconds: float
    message: str | None = Field(description="Why there is nothing to show, if there is not.")
    reference: ReferenceSummary | None
    buckets: list[DriftWindow]
    columns: list[DriftColumnTimeline]


class PerformanceBucket(Answer):
    # The metrics of the model's kind (error_rate, auc, … or mae, rmse, …) beside these.
    model_config = ConfigDict(extra="allow")

    start: str
    end: str
    n: int


class DetectionAnswer(Answer):
    detector: str
    kind: str
    index: int
    at: str
    request_id: str


class PerformanceAnswer(Answer):
    version: str
    endpoint: str
    kind: str
    start: str
    end: str
    labelled: int
    overall: dict[str, float | None]
    buckets: list[PerformanceBucket]
    detections: list[DetectionAnswer]


class ReferenceColumn(Answer):
    name: str
    kind: str
    count: int
    missing_share: float


class ReferenceAnswer(Answer):
    model: str
    version: int
    rows: int
    source: str
    created_at: str
    created_by: str
    inputs: list[str]
    outputs: list[str]
    columns: list[ReferenceColumn]


class AlertAnswer(Answer):
    id: int
    rule: str
    endpoint: str
    stage: str | None = Field(
        default=None,
        exclude_if=lambda stage: stage is None,  # as sent: only a stage's alert names one
        description="The pipeline endpoint's stage the rule watches.",
    )
    metric: str
    severity: str
    state: str = Field(examples=["open"], description="open or resolved.")
    value: float
    threshold: float
    message: str
    opened_at: str
    last_value: float
    last_evaluated_at: str
    resolved_at: str | None
    deliveries: dict[str, str] = Field(description="Each sink's last delivery outcome.")


class AlertListAnswer(Answer):
    alerts: list[AlertAnswer] = Field(description="Newest first.")


class AlertChangesAnswer(Answer):
    changed: list[AlertAnswer] = Field(description="Alerts opened or resolved by this pass.")


class AlertRuleAnswer(Answer):
    name: str
    endpoint: str
    stage: str | None = Field(
        default=None,
        exclude_if=lambda stage: stage is None,  # as sent: only a rule that names one
        description="The pipeline endpoint's stage the rule watches.",
    )
    metric: str
    operator: str
    threshold: float
    window_seconds: float
    severity: str
    cooldown_seconds: float
    sinks: list[dict[str, Any]]
    description: str
    updated_at: str | None
    updated_by: str


class AlertRuleListAnswer(Answer):
    rules: list[AlertRuleAnswer]


class AuditRecord(Answer):
    id: int
    at: str
    actor: str
    action: str = Field(examples=["alias.set"])
    target: str = Field(examples=["churn"])
    details: dict[str, Any]
    reason: str


class AuditAnswer(Answer):
    records: list[AuditRecord] = Field(description="Newest first.")
    next: int | None = Field(description="Pass as 'before' for older records; null at the end.")


class EstimatedMetric(Answer):
    value: float | None = Field(description="The expected value (null: undefined here).")
    low: float | None = Field(description="2.5th percentile of the realised value if CBPE holds.")
    high: float | None = Field(description="97.5th percentile of the realised value.")


class EstimatedMetrics(Answer):
    n: int = Field(description="Predictions the estimate covers.")
    accuracy: EstimatedMetric
    auc: EstimatedMetric
    f1: EstimatedMetric


class EstimatedBucketAnswer(Answer):
    start: str
    end: str
    predictions: int = Field(description="Instances served in the bucket.")
    estimated: EstimatedMetrics = Field(description="Over every served instance, no label needed.")
    labelled: int = Field(description="Served instances with a label so far.")
    realised: dict[str, float | None] = Field(
        examples=[{"accuracy": 0.8, "auc": 0.84, "f1": 0.6}],
        description="accuracy, auc and f1 on the labelled instances (scikit-learn's).",
    )
    expected_on_labelled: EstimatedMetrics | None = Field(
        description="The estimate for the labelled instances alone, to compare with realised."
    )
    flagged: list[str] = Field(
        examples=[["accuracy", "auc"]],
        description="Metrics whose realised value left the interval expected on those labels: "
        "the estimate's assumptions broke (concept drift, or a calibration gone stale).",
    )


class LabelledReferenceAnswer(Answer):
    label: str = Field(examples=["Churn"], description="The reference data's label column.")
    positive: str = Field(examples=["1"])
    rows: int = Field(description="Labelled reference rows the calibration was fitted on.")
    positives: int
    metrics: dict[str, float | None] = Field(description="accuracy, auc, f1 on those rows.")


class EstimatedPerformanceAnswer(Answer):
    """Confidence-based performance estimation (CBPE) beside realised performance."""

    endpoint: str = Field(examples=["attrition"])
    version: str = Field(examples=["attrition/1"])
    start: str
    end: str
    reference: LabelledReferenceAnswer
    overall: EstimatedBucketAnswer
    buckets: list[EstimatedBucketAnswer]
