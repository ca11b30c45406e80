"""Response bodies of the most used routes, so that the OpenAPI document describes what they
answer (and the schemathesis run checks the answers against it), and the error bodies.

Hot routes (predict, rank) build their JSON by hand for speed and only declare these; the
others are validated against them as FastAPI serialises the answer.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ERRORS",
    "OIP_ERRORS",
    "AlertAnswer",
    "AlertListAnswer",
    "AlertRuleAnswer",
    "AlertRuleListAnswer",
    "AuditAnswer",
    "AuditRecord",
    "BanditArm",
    "CompilationAnswer",
    "EndpointAnswer",
    "EndpointConfigAnswer",
    "EndpointHistoryAnswer",
    "EndpointListAnswer",
    "ErrorAnswer",
    "ErrorDetail",
    "ExperimentListAnswer",
    "ExperimentSummary",
    "ModelAnswer",
    "ModelListAnswer",
    "ModelSummary",
    "OipErrorAnswer",
    "PredictAnswer",
    "RankAnswer",
    "RankedItem",
    "StatsAnswer",
    "VersionAnswer",
    "VersionPageAnswer",
    "VersionStatsAnswer",
]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(_Answer):
    code: str = Field(examples=["NotFound"], description="The error's class in champion.errors.")
    message: str = Field(examples=["Unknown model 'recs'. Models: churn."])


class ErrorAnswer(_Answer):
    """Every /v1 error: the class and a message that names the field and the value."""

    error: ErrorDetail


class OipErrorAnswer(_Answer):
    """Every /v2 error, as the Open Inference Protocol has it."""

    error: str = Field(examples=["Unknown input 'age'; the model takes the inputs tenure."])


def _errors(model: type[BaseModel], statuses: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": model, "description": why} for status, why in statuses.items()}


_STATUSES = {
    400: "Malformed JSON or form",
    401: "No token, or an unknown or revoked one",
    403: "The token lacks the scope; another site's request",
    404: "Unknown model, version, alias or endpoint",
    409: "The request clashes with stored state",
    413: "The body is over the configured limit",
    422: "A field has a wrong value, type or shape (the message names it)",
}
ERRORS = _errors(ErrorAnswer, _STATUSES)
"""The error answers every /v1 route may give."""
OIP_ERRORS = _errors(
    OipErrorAnswer, {**_STATUSES, 400: "Malformed JSON, or a wrong value (as Triton answers)"}
)
"""The error answers every /v2 route may give (no 422: a wrong value is a 400 there)."""
del OIP_ERRORS[422]
# Declared, "4XX" also keeps FastAPI from documenting its own 422, which /v2 never answers.
OIP_ERRORS["4XX"] = {"model": OipErrorAnswer, "description": "Any other refusal"}


class VersionAnswer(_Answer):
    model: str = Field(examples=["churn"])
    version: int = Field(examples=[3])
    kind: str = Field(examples=["classifier"])
    flavor: str = Field(examples=["sklearn"])
    aliases: list[str] = Field(examples=[["champion"]])
    created_at: str = Field(examples=["2026-01-05T12:00:00+00:00"])
    created_by: str
    size_bytes: int
    files: dict[str, str] = Field(description="Relative path to sha256.")
    signature: dict[str, Any]
    lineage: dict[str, Any]


class CompilationAnswer(_Answer):
    compiled: bool = Field(description="True: registered as ``version``; false: see reason.")
    reason: str = Field(examples=["outputs agree on 1000 rows (max difference 1.8e-07 <= 1e-05)."])
    rows: int = Field(description="Rows both models answered to compare them.")
    max_difference: float | None
    version: VersionAnswer | None = Field(description="The compiled version, when compiled.")


class ModelSummary(_Answer):
    name: str = Field(examples=["churn"])
    created_at: str
    created_by: str
    latest_version: int | None
    version_count: int
    aliases: dict[str, int] = Field(examples=[{"champion": 3, "challenger": 4}])


class ModelListAnswer(_Answer):
    models: list[ModelSummary]


class ModelAnswer(ModelSummary):
    versions: list[VersionAnswer] = Field(description="The 10 newest versions, newest first.")
    versions_url: str = Field(examples=["/v1/models/churn/versions"])


class VersionPageAnswer(_Answer):
    model: str
    versions: list[VersionAnswer]
    next_cursor: str | None = Field(description="Pass as 'cursor' for the next page.")


class BanditArm(_Answer):
    successes: float
    trials: float
    probability: float


class EndpointAnswer(_Answer):
    name: str = Field(examples=["recs"])
    policy: str = Field(examples=["canary"])
    params: dict[str, Any]
    config_version: int
    updated_at: str
    updated_by: str
    serving: list[str] = Field(examples=[["recs/3", "recs/4"]])
    error: str | None = Field(description="Why the endpoint cannot serve, if it cannot.")
    kind: str | None = Field(
        default=None, description="The kind of model served: classifier, regressor or ranker."
    )
    live: str | None = Field(
        default=None, description="The version that answers when no other does (the champion)."
    )
    bandit: dict[str, BanditArm] | None = None


class EndpointListAnswer(_Answer):
    endpoints: list[EndpointAnswer]


class EndpointConfigAnswer(EndpointAnswer):
    reason: str


class EndpointHistoryAnswer(_Answer):
    history: list[EndpointConfigAnswer]


class VersionStatsAnswer(_Answer):
    model: str
    version: int
    arm: str
    requests: int
    units: int
    impressions: int
    clicked_impressions: int
    ctr: float | None
    clicks: int
    purchases: int
    labels: int
    value: float
    requests_with_feedback: int
    feedback_coverage: float | None
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    fallbacks: int


class ShadowStatsAnswer(_Answer):
    model: str
    version: int
    arm: str = Field(examples=["shadow"])
    served_model: str
    served_version: int
    requests: int = Field(description="Requests the shadow version was asked to score.")
    errors: int = Field(description="Of those, the ones where it failed.")
    outputs_compared: int
    agreement: float | None
    mean_abs_difference: float | None
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    served_latency_p50_ms: float | None
    served_latency_p99_ms: float | None
    labels: int = Field(description="Labelled requests among those both versions answered.")
    metrics: dict[str, float | None]
    served_metrics: dict[str, float | None]


class StatsWindow(_Answer):
    start: str
    end: str
    versions: list[VersionStatsAnswer]


class StatsAnswer(_Answer):
    endpoint: str
    versions: list[VersionStatsAnswer]
    shadows: list[ShadowStatsAnswer] = Field(
        description="Shadow versions beside the version that served the same requests."
    )
    errors: dict[str, int] = Field(description="Failed requests since this server started.")
    buckets: list[StatsWindow] | None = Field(
        default=None, description="With ?buckets=N: each window's per-version stats."
    )


class PredictAnswer(_Answer):
    request_id: str = Field(description="The id to send feedback with.")
    endpoint: str
    model: str
    version: int
    predictions: list[Any] = Field(examples=[[{"label": "yes", "probabilities": {"yes": 0.7}}]])


class RankedItem(_Answer):
    item: str
    position: int = Field(description="From 1.")
    score: float | None


class RankAnswer(_Answer):
    request_id: str
    endpoint: str
    model: str
    version: int
    items: list[RankedItem]


class ExperimentSummary(_Answer):
    id: int
    endpoint: str
    status: str = Field(examples=["running"], description="running, promoted or rolled_back.")
    design: dict[str, Any] = Field(description="Goal, guardrails, test, automation, ramp.")
    started_at: str
    step_started_at: str
    finished_at: str | None
    pending: dict[str, Any] | None = Field(description="The action awaiting approval.")
    outcome: dict[str, Any] | None
    created_by: str
    updated_at: str
    updated_by: str
    revision: int
    horizon_reached_at: str | None
    horizon: dict[str, Any] | None
    last_decision: dict[str, Any] | None = Field(description="The controller's last decision.")


class ExperimentListAnswer(_Answer):
    experiments: list[ExperimentSummary]


class AuditRecord(_Answer):
    id: int
    at: str
    actor: str
    action: str = Field(examples=["alias.set"])
    target: str = Field(examples=["churn"])
    details: dict[str, Any]
    reason: str


class AuditAnswer(_Answer):
    records: list[AuditRecord] = Field(description="Newest first.")
    next: int | None = Field(description="Pass as 'before' for older records; null at the end.")


class AlertAnswer(_Answer):
    id: int
    rule: str
    endpoint: str
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


class AlertListAnswer(_Answer):
    alerts: list[AlertAnswer] = Field(description="Newest first.")


class AlertRuleAnswer(_Answer):
    name: str
    endpoint: str
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


class AlertRuleListAnswer(_Answer):
    rules: list[AlertRuleAnswer]
