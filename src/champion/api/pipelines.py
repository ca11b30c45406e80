"""Pipeline routes: define, trigger and approve runs; ingested files and their quarantine."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from champion.answers import (
    FileListAnswer,
    PipelineAnswer,
    PipelineDetailAnswer,
    PipelineListAnswer,
    QuarantineAnswer,
    RunAnswer,
    RunListAnswer,
)
from champion.api.answers import ERRORS, LOOKUP, WRITE
from champion.api.state import actor_of, state_of
from champion.automation import TRIGGERS, IngestedFile, PipelineRecord, PipelineSpec, Run
from champion.errors import InvalidInput, NotFound

__all__ = ["file_json", "pipeline_json", "router", "run_json"]

router = APIRouter(tags=["pipelines"], responses=ERRORS)

# Run and file ids are 32-bit integer keys on both databases.
RecordId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PipelineBody(RequestBody):
    spec: dict[str, Any] = Field(description="The pipeline, as in its YAML file.")
    reason: str = Field(default="", max_length=2000)


class RunBody(RequestBody):
    reason: str = Field(default="", max_length=2000)
    trigger: str = Field(default="manual", description=f"One of {', '.join(TRIGGERS)}.")


class ApproveBody(RequestBody):
    reason: str = Field(default="", max_length=2000)


def pipeline_json(record: PipelineRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "revision": record.revision,
        "updated_at": record.updated_at.isoformat(),
        "updated_by": record.updated_by,
        "next_run_at": record.next_run_at.isoformat() if record.next_run_at else None,
        "spec": record.spec.to_json(),
    }


def run_json(run: Run) -> dict[str, Any]:
    def when(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": run.id,
        "pipeline": run.pipeline,
        "revision": run.revision,
        "status": run.status,
        "trigger": run.trigger,
        "reason": run.reason,
        "actor": run.actor,
        "created_at": when(run.created_at),
        "scheduled_for": when(run.scheduled_for),
        "started_at": when(run.started_at),
        "finished_at": when(run.finished_at),
        "version": run.version,
        "fingerprint": run.fingerprint,
        "error": run.error,
        "outcome": run.summary.get("outcome"),
        "approved_by": run.summary.get("approved_by"),
        "alerts": run.summary.get("alerts", []),
        "steps": [
            {
                "step": s.step,
                "status": s.status,
                "started_at": when(s.started_at),
                "finished_at": when(s.finished_at),
                "seconds": s.seconds,
                "error": s.error,
                "outputs": s.outputs,
            }
            for s in run.steps
        ],
    }


def file_json(record: IngestedFile) -> dict[str, Any]:
    return {
        "id": record.id,
        "source": record.source,
        "path": record.path,
        "sha256": record.sha256,
        "rows": record.rows,
        "columns": record.columns,
        "status": record.status,
        "reason": record.reason,
        "accepted_rows": record.accepted_rows,
        "quarantined_rows": record.quarantined_rows,
        "dataset": record.dataset,
        "ingested_at": record.ingested_at.isoformat(),
        "ingested_by": record.ingested_by,
        "quality": record.quality,
    }


@router.get("/v1/pipelines", response_model=PipelineListAnswer)
def list_pipelines(request: Request) -> dict[str, Any]:
    pipelines = state_of(request).services.pipelines
    return {"pipelines": [pipeline_json(p) for p in pipelines.list_pipelines()]}


@router.put("/v1/pipelines/{name}", response_model=PipelineAnswer, responses=WRITE)
def put_pipeline(name: str, body: PipelineBody, request: Request) -> dict[str, Any]:
    raw = {"name": name, **body.spec}
    if raw["name"] != name:
        raise InvalidInput(f"spec.name {raw['name']!r} differs from the path's {name!r}.")
    spec = PipelineSpec.parse(raw, "spec")
    record = state_of(request).services.pipelines.apply(
        spec, actor=actor_of(request), reason=body.reason
    )
    return pipeline_json(record)


@router.get("/v1/pipelines/{name}", response_model=PipelineDetailAnswer, responses=LOOKUP)
def get_pipeline(name: str, request: Request) -> dict[str, Any]:
    pipelines = state_of(request).services.pipelines
    body = pipeline_json(pipelines.get(name))
    body["runs"] = [run_json(r) for r in pipelines.list_runs(name, limit=10)]
    return body


@router.get("/v1/pipelines/{name}/runs", response_model=RunListAnswer, responses=LOOKUP)
def list_runs(
    name: str, request: Request, limit: int = Query(default=50, ge=1, le=1000)
) -> dict[str, Any]:
    runs = state_of(request).services.pipelines.list_runs(name, limit)
    return {"runs": [run_json(r) for r in runs]}


@router.post(
    "/v1/pipelines/{name}/runs", status_code=202, response_model=RunAnswer, responses=WRITE
)
async def start_run(name: str, body: RunBody, request: Request) -> dict[str, Any]:
    """Queue a run; the server's scheduler executes it (poll the run for its outcome)."""
    pipelines = state_of(request).services.pipelines
    run = await asyncio.to_thread(
        pipelines.trigger, name, reason=body.reason, actor=actor_of(request), trigger=body.trigger
    )
    _wake(request)
    return run_json(run)


@router.get("/v1/pipelines/{name}/runs/{run_id}", response_model=RunAnswer, responses=LOOKUP)
def get_run(name: str, run_id: RecordId, request: Request) -> dict[str, Any]:
    return run_json(state_of(request).services.pipelines.get_run(name, run_id))


@router.post(
    "/v1/pipelines/{name}/runs/{run_id}/approve",
    status_code=202,
    response_model=RunAnswer,
    responses=WRITE,
)
async def approve_run(
    name: str, run_id: RecordId, body: ApproveBody, request: Request
) -> dict[str, Any]:
    """Let a run awaiting approval register and deploy; it is queued again."""
    pipelines = state_of(request).services.pipelines
    run = await asyncio.to_thread(
        pipelines.approve, name, run_id, actor=actor_of(request), reason=body.reason
    )
    _wake(request)
    return run_json(run)


@router.get("/v1/sources/{source}/files", response_model=FileListAnswer, responses=LOOKUP)
def list_files(source: str, request: Request) -> dict[str, Any]:
    ingestion = state_of(request).services.ingestion
    return {"files": [file_json(f) for f in ingestion.files(source)]}


@router.post(
    "/v1/sources/{source}/ingest", status_code=201, response_model=FileListAnswer, responses=WRITE
)
def ingest(source: str, request: Request) -> dict[str, Any]:
    """Ingest the new files of a source now (the pipelines declaring it give its schema)."""
    services = state_of(request).services
    created = services.ingestion.ingest(services.pipelines.source(source), actor=actor_of(request))
    return {"files": [file_json(f) for f in created]}


@router.get(
    "/v1/sources/{source}/files/{file_id}/quarantine",
    response_model=QuarantineAnswer,
    responses=LOOKUP,
)
def quarantine(source: str, file_id: RecordId, request: Request) -> dict[str, Any]:
    ingestion = state_of(request).services.ingestion
    record = ingestion.get(file_id)
    if record.source != source:
        raise NotFound(f"Source {source!r} has no file {file_id}; it is in {record.source!r}.")
    return {
        "file": file_json(record),
        "rows": [
            {"row": q.row, "values": q.values, "reasons": q.reasons}
            for q in ingestion.quarantine(file_id)
        ],
    }


def _wake(request: Request) -> None:
    wake: asyncio.Event | None = getattr(request.app.state, "scheduler_wake", None)
    if wake is not None:
        wake.set()
