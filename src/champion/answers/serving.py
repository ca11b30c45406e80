"""Answers of serving: endpoints, predictions, rankings, feedback and per-version stats."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, JsonValue

from champion.answers.base import Answer
from champion.answers.monitoring import TimeSpan

__all__ = [
    "BanditArm",
    "BatchingAnswer",
    "EndpointAnswer",
    "EndpointConfigAnswer",
    "EndpointHistoryAnswer",
    "EndpointListAnswer",
    "EndpointStage",
    "FeedbackAnswer",
    "InterleavingAnswer",
    "InterleavingComparison",
    "PredictAnswer",
    "RankAnswer",
    "RankedItem",
    "ShadowStatsAnswer",
    "StageServed",
    "StatsAnswer",
    "StatsWindow",
    "VersionStatsAnswer",
]


class BanditArm(Answer):
    successes: float
    trials: float
    probability: float


class BatchingAnswer(Answer):
    max_batch_size: int = Field(examples=[32])
    max_batch_wait_ms: float = Field(examples=[2.0])


class EndpointStage(Answer):
    """One stage of a pipeline endpoint, as it serves now."""

    stage: str = Field(examples=["rerank"])
    policy: str = Field(examples=["interleave"])
    params: dict[str, Any]
    serving: list[str] = Field(
        description="The versions the stage may call (aliases resolved).",
        examples=[["rerank/1", "rerank/2"]],
    )
    live: str | None = Field(description="The version that answers when no other does.")
    bandit: dict[str, BanditArm] | None = None


class EndpointAnswer(Answer):
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
    stages: list[EndpointStage] | None = Field(
        default=None, description="A pipeline endpoint's stages, in order (null otherwise)."
    )
    batching: BatchingAnswer | None = Field(
        default=None, description="Adaptive batching settings; null: each call alone."
    )


class EndpointListAnswer(Answer):
    endpoints: list[EndpointAnswer]


class EndpointConfigAnswer(EndpointAnswer):
    reason: str


class EndpointHistoryAnswer(Answer):
    history: list[EndpointConfigAnswer]


class VersionStatsAnswer(Answer):
    model: str = Field(examples=["churn"])
    version: int = Field(examples=[3])
    arm: str = Field(examples=["champion"])
    requests: int = Field(examples=[1200])
    units: int = Field(examples=[830])
    impressions: int
    clicked_impressions: int
    ctr: float | None
    clicks: int
    purchases: int
    labels: int = Field(examples=[410])
    value: float
    requests_with_feedback: int
    feedback_coverage: float | None
    latency_p50_ms: float | None = Field(examples=[3.1])
    latency_p99_ms: float | None = Field(examples=[12.4])
    fallbacks: int


class ShadowStatsAnswer(Answer):
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


class StatsWindow(Answer):
    start: str
    end: str
    versions: list[VersionStatsAnswer]


_VERSION_STATS: dict[str, JsonValue] = {
    "model": "churn",
    "version": 3,
    "arm": "champion",
    "requests": 1200,
    "units": 830,
    "impressions": 0,
    "clicked_impressions": 0,
    "ctr": None,
    "clicks": 310,
    "purchases": 0,
    "labels": 410,
    "value": 0.0,
    "requests_with_feedback": 640,
    "feedback_coverage": 0.53,
    "latency_p50_ms": 3.1,
    "latency_p99_ms": 12.4,
    "fallbacks": 0,
}


class WholeSegment(Answer):
    start: str
    end: str | None


class StatsAnswer(Answer):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "endpoint": "churn",
                    "versions": [
                        _VERSION_STATS,
                        _VERSION_STATS | {"version": 4, "arm": "challenger", "requests": 64},
                    ],
                    "shadows": [],
                    "errors": {},
                    "buckets": None,
                    "compacted": [],
                    "whole_segments": [],
                }
            ]
        }
    )

    endpoint: str = Field(examples=["churn"])
    versions: list[VersionStatsAnswer]
    shadows: list[ShadowStatsAnswer] = Field(
        description="Shadow versions beside the version that served the same requests."
    )
    errors: dict[str, int] = Field(
        description="Failed requests since this server started.", examples=[{"ModelFailed": 2}]
    )
    buckets: list[StatsWindow] | None = Field(
        default=None, description="With ?buckets=N: each window's per-version stats."
    )
    compacted: list[TimeSpan] = Field(
        default_factory=list,
        description="Compacted segments in [start, end) (CHAMPION_KEEP_UNIT_ROLLUPS): their "
        "sums are exact, their units counted once per segment and configuration.",
    )
    whole_segments: list[WholeSegment] = Field(
        default_factory=list,
        description="Folded segments that the start, the end or an edge between buckets "
        "cuts, whose raw rows retention has deleted: each counts whole in the window "
        "holding its start, so windows near it are approximate. A segment runs from its "
        "start to the next segment's start (null: none yet). Every other window is exact.",
    )


class StageServed(Answer):
    """One stage of a pipeline endpoint, as it served one request."""

    stage: str = Field(examples=["retrieve"])
    model: str
    version: int
    arm: str = Field(description="The unit's arm in this stage's policy.")
    latency_ms: float
    fallback_from: str | None = Field(
        description="The stage's version that failed when its champion answered instead."
    )


class PredictAnswer(Answer):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "request_id": "5f0c8e4a2b1d4c7e9a3f6b8d0e2c4a6f",
                    "endpoint": "churn",
                    "model": "churn",
                    "version": 4,
                    "arm": "challenger",
                    "fallback_from": None,
                    "predictions": [{"label": "yes", "probabilities": {"no": 0.3, "yes": 0.7}}],
                }
            ]
        }
    )

    request_id: str = Field(description="The id to send feedback with.")
    endpoint: str
    model: str
    version: int
    arm: str = Field(
        description="The unit's arm: champion, challenger, or an A/B or bandit arm's name."
    )
    fallback_from: str | None = Field(
        description="The version that failed when the champion answered in its place."
    )
    predictions: list[Any] = Field(description="One output per instance, in order.")
    stages: list[StageServed] | None = Field(
        default=None,
        exclude_if=lambda stages: stages is None,  # as sent: only a pipeline endpoint's
        description="A pipeline endpoint's: what each stage did, in order (the last answered).",
    )


class RankedItem(Answer):
    item: str
    position: int = Field(description="From 1.")
    score: float | None


class RankAnswer(Answer):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "request_id": "9a3f6b8d0e2c4a6f5f0c8e4a2b1d4c7e",
                    "endpoint": "recs",
                    "model": "recs",
                    "version": 2,
                    "arm": "interleave",
                    "fallback_from": None,
                    "items": [
                        {"item": "movie-42", "position": 1, "score": 0.91},
                        {"item": "movie-7", "position": 2, "score": 0.84},
                    ],
                }
            ]
        }
    )

    request_id: str = Field(description="The id to send feedback with (and the item).")
    endpoint: str
    model: str = Field(description="Under interleaving, the champion's model.")
    version: int
    arm: str = Field(description="The unit's arm ('interleave' for a merged list).")
    fallback_from: str | None = Field(
        description="The version that failed when the champion answered in its place."
    )
    items: list[RankedItem]
    stages: list[StageServed] | None = Field(
        default=None,
        exclude_if=lambda stages: stages is None,  # as sent: only a pipeline endpoint's
        description="A pipeline endpoint's: what each stage did, in order (the last answered).",
    )


class FeedbackAnswer(Answer):
    """Feedback committed: acknowledged only once it survives a crash."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"accepted": 1, "duplicates": 0, "event_ids": ["e-1"]}]}
    )

    accepted: int = Field(description="Events stored now.")
    duplicates: int = Field(description="Events whose event_id was stored before (kept once).")
    event_ids: list[str] = Field(description="Each event's id, in the order sent.")


class InterleavingComparison(Answer):
    champion: str = Field(examples=["recs/1"])
    challenger: str = Field(examples=["recs/2"])
    units: int = Field(description="Units that saw interleaved impressions.")
    units_tested: int
    units_preferring_challenger: int
    units_preferring_champion: int
    units_tied: int
    preference: float | None = Field(description="Mean unit preference in [-1, 1].")
    ci: list[float | None] | None
    p_value: float | None
    alpha: float
    method: str
    verdict: str = Field(examples=["better"], description="better, worse or inconclusive.")
    preferred: str | None
    impressions: int
    wins: int
    losses: int
    ties: int
    delta: float | None = Field(description="Δ_AB of Chapelle et al.: (wins - losses) / all.")
    clicks: dict[str, int] = Field(description="Clicked items credited to each version.")


class InterleavingAnswer(Answer):
    endpoint: str
    comparisons: list[InterleavingComparison]
