"""Answers about pipeline endpoints' stages: what each stage did for a request, and how
each stage serves over a window."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from champion.answers.base import Answer
from champion.answers.serving import ShadowStatsAnswer, VersionStatsAnswer

__all__ = [
    "RequestEventsAnswer",
    "StageBegan",
    "StageDrift",
    "StageDriftAnswer",
    "StageEvent",
    "StageFailure",
    "StageStats",
    "StageStatsAnswer",
]


class StageEvent(Answer):
    """One stage's prediction event for a request."""

    request_id: str = Field(description="The request's id, as its answer gave it.")
    event_id: str = Field(
        description="This event's own id ('<request_id>:<stage>' before the last)."
    )
    stage: str | None = Field(description="None for an endpoint without stages.")
    model: str
    version: int
    arm: str
    inputs: Any
    outputs: Any
    latency_ms: float
    fallback_from: str | None
    at: str


class RequestEventsAnswer(Answer):
    endpoint: str
    request_id: str
    events: list[StageEvent]


class StageFailure(Answer):
    version: str = Field(examples=["rerank/4"])
    reason: str = Field(description="error, timeout or input.")
    count: int


class StageStats(Answer):
    stage: str
    versions: list[VersionStatsAnswer]
    shadows: list[ShadowStatsAnswer] = Field(
        description="A shadow on the stage: each shadow version beside the version that served."
    )
    errors: dict[str, int] = Field(
        description="Requests that failed at this stage, by error code, since this server "
        "started (failed requests are not in the event log)."
    )
    failures: list[StageFailure] = Field(
        description="Calls of this stage's versions that raised or timed out since this "
        "server started; with a fallback, the request was answered all the same."
    )


class StageStatsAnswer(Answer):
    endpoint: str
    stages: list[StageStats]


class StageBegan(Answer):
    version: str = Field(examples=["retrieve/3"])
    at: str = Field(description="The start of the first window it answered in.")


class StageDrift(Answer):
    stage: str
    version: str | None = Field(description="The version judged: the stage's live one.")
    first_alarm: str | None = Field(description="The start of the first window that drifted.")
    drifted: list[str] = Field(description="The columns that drifted in that window.")
    began: list[StageBegan] = Field(
        description="Versions that began to answer for the stage after the first window."
    )
    moved_at: str | None = Field(description="The first alarm or beginning, whichever first.")
    message: str = Field(description="Why the stage could not be judged, if it could not.")


class StageDriftAnswer(Answer):
    endpoint: str
    start: str
    end: str
    window_seconds: float
    moved_first: str | None = Field(
        description="The stage whose first move is earliest (in one window, the earlier "
        "stage: its outputs are the later stages' inputs)."
    )
    stages: list[StageDrift]
