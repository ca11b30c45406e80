"""Answers of operations: pipelines and their runs, ingested files, diagnostics, health."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from champion.answers.base import Answer

__all__ = [
    "DiagnosticsAnswer",
    "EventsHealth",
    "FileAnswer",
    "FileListAnswer",
    "HealthAnswer",
    "LiveAnswer",
    "PipelineAnswer",
    "PipelineDetailAnswer",
    "PipelineListAnswer",
    "QuarantineAnswer",
    "QuarantinedRowAnswer",
    "ReadyAnswer",
    "RunAnswer",
    "RunListAnswer",
    "RunStepAnswer",
]


class PipelineAnswer(Answer):
    name: str = Field(examples=["attrition"])
    revision: int
    updated_at: str
    updated_by: str
    next_run_at: str | None
    spec: dict[str, Any] = Field(description="The pipeline, as in its YAML file.")


class RunStepAnswer(Answer):
    step: str = Field(examples=["train"])
    status: str
    started_at: str | None
    finished_at: str | None
    seconds: float | None
    error: str | None
    outputs: dict[str, Any] | None


class RunAnswer(Answer):
    id: int
    pipeline: str
    revision: int
    status: str = Field(examples=["succeeded"])
    trigger: str = Field(examples=["manual"])
    reason: str
    actor: str
    created_at: str | None
    scheduled_for: str | None
    started_at: str | None
    finished_at: str | None
    version: int | None = Field(description="The version it registered.")
    fingerprint: str | None
    error: str | None
    outcome: str | None
    approved_by: str | None
    alerts: list[Any]
    steps: list[RunStepAnswer]


class PipelineDetailAnswer(PipelineAnswer):
    runs: list[RunAnswer] = Field(description="The 10 newest runs.")


class PipelineListAnswer(Answer):
    pipelines: list[PipelineAnswer]


class RunListAnswer(Answer):
    runs: list[RunAnswer] = Field(description="Newest first.")


class FileAnswer(Answer):
    id: int
    source: str
    path: str
    sha256: str
    rows: int
    columns: list[str]
    status: str
    reason: str
    accepted_rows: int
    quarantined_rows: int
    dataset: str | None
    ingested_at: str
    ingested_by: str
    quality: dict[str, Any] | None


class FileListAnswer(Answer):
    files: list[FileAnswer]


class QuarantinedRowAnswer(Answer):
    row: int
    values: dict[str, Any]
    reasons: list[str]


class QuarantineAnswer(Answer):
    file: FileAnswer
    rows: list[QuarantinedRowAnswer]


class LiveAnswer(Answer):
    status: str = Field(examples=["live"])
    version: str = Field(description="champion's version.")


class ReadyAnswer(Answer):
    status: str = Field(examples=["ready"], description="ready or not_ready.")
    checks: dict[str, dict[str, Any]] = Field(description="Each check with its status and why.")


class EventsHealth(Answer):
    queued: int
    written: int
    dropped: int
    spooled: int
    replayed: int
    spool_bytes: int


class WorkerHealth(Answer):
    pid: int = Field(description="The process that answered (one of the server's workers).")
    leads: list[str] = Field(
        examples=[["alerts", "rollout-controller"]],
        description="The background duties whose leader lock this process holds: each runs "
        "in one process among every worker and replica sharing the database.",
    )


class HealthAnswer(Answer):
    status: str = Field(examples=["ok"], description="ok or degraded.")
    version: str
    database: str = Field(examples=["ok"])
    database_backend: str = Field(examples=["sqlite"])
    endpoints: dict[str, str] = Field(examples=[{"churn": "ok"}])
    events: EventsHealth
    checks: dict[str, dict[str, Any]]
    worker: WorkerHealth


class DiagnosticsAnswer(Answer):
    dependencies: dict[str, Any] = Field(
        description="Database, artifact store, datasets; each served version's packages."
    )
    serving: list[dict[str, Any]] = Field(description="Per endpoint and version: stage times.")
    pipelines: dict[str, Any] | None = Field(
        default=None, description="Step times per pipeline (absent when the database is not)."
    )
    data: dict[str, Any] | None = Field(
        default=None, description="Ingested and live data integrity (absent likewise)."
    )
