"""Pipelines, their runs, data sources and the diagnosis from Python."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from champion.answers import (
    DiagnosticsAnswer,
    FileAnswer,
    FileListAnswer,
    PipelineAnswer,
    PipelineDetailAnswer,
    PipelineListAnswer,
    QuarantineAnswer,
    RunAnswer,
    RunListAnswer,
)
from champion.client.calls import Call, operation, read, segment
from champion.errors import InvalidInput

__all__ = ["AutomationCalls"]


class AutomationCalls:
    # -- pipelines -----------------------------------------------------------------------

    @operation
    def list_pipelines(self) -> Call[list[PipelineAnswer]]:
        return Call(
            "GET", "/v1/pipelines", lambda body: PipelineListAnswer.model_validate(body).pipelines
        )

    @operation
    def get_pipeline(self, name: str) -> Call[PipelineDetailAnswer]:
        """The pipeline's spec and revision, with its ten newest runs."""
        return Call("GET", f"/v1/pipelines/{segment(name)}", read(PipelineDetailAnswer))

    @operation
    def apply_pipeline(
        self, spec: Mapping[str, Any] | str | Path, *, name: str | None = None, reason: str = ""
    ) -> Call[PipelineAnswer]:
        """Create or update a pipeline from its spec (a mapping, or a YAML file read here;
        the source path is the server's). ``name`` defaults to the spec's."""
        if isinstance(spec, str | Path):
            raw = yaml.safe_load(Path(spec).read_text(encoding="utf-8"))
            if not isinstance(raw, dict):
                raise InvalidInput(f"{str(spec)!r} does not hold a pipeline (a YAML mapping).")
            spec = raw
        body = dict(spec)
        name = name or body.get("name")
        if not name:
            raise InvalidInput("name: give the pipeline a name (the spec has no 'name').")
        body.setdefault("name", name)
        path = f"/v1/pipelines/{segment(name)}"
        return Call("PUT", path, read(PipelineAnswer), json={"spec": body, "reason": reason})

    @operation
    def list_runs(self, pipeline: str, *, limit: int = 50) -> Call[list[RunAnswer]]:
        """The pipeline's runs, newest first, each with its steps and their timings."""
        path = f"/v1/pipelines/{segment(pipeline)}/runs"
        return Call(
            "GET",
            path,
            lambda body: RunListAnswer.model_validate(body).runs,
            params={"limit": limit},
        )

    @operation
    def get_run(self, pipeline: str, run_id: int) -> Call[RunAnswer]:
        path = f"/v1/pipelines/{segment(pipeline)}/runs/{int(run_id)}"
        return Call("GET", path, read(RunAnswer))

    @operation
    def start_run(
        self, pipeline: str, *, reason: str = "", trigger: str = "manual"
    ) -> Call[RunAnswer]:
        """Queue a run; the server runs it (poll ``get_run`` for its outcome)."""
        path = f"/v1/pipelines/{segment(pipeline)}/runs"
        return Call("POST", path, read(RunAnswer), json={"reason": reason, "trigger": trigger})

    @operation
    def approve_run(self, pipeline: str, run_id: int, *, reason: str = "") -> Call[RunAnswer]:
        """Let a run awaiting approval register and deploy."""
        path = f"/v1/pipelines/{segment(pipeline)}/runs/{int(run_id)}/approve"
        return Call("POST", path, read(RunAnswer), json={"reason": reason})

    # -- sources -------------------------------------------------------------------------

    @operation
    def list_files(self, source: str) -> Call[list[FileAnswer]]:
        """The source's ingested files: rows accepted and quarantined, status, reason."""
        path = f"/v1/sources/{segment(source)}/files"
        return Call("GET", path, lambda body: FileListAnswer.model_validate(body).files)

    @operation
    def ingest(self, source: str) -> Call[list[FileAnswer]]:
        """Ingest the source's new files now; the files ingested."""
        path = f"/v1/sources/{segment(source)}/ingest"
        return Call("POST", path, lambda body: FileListAnswer.model_validate(body).files)

    @operation
    def quarantine(self, source: str, file_id: int) -> Call[QuarantineAnswer]:
        """A file's quarantined rows, each with its values and reasons."""
        path = f"/v1/sources/{segment(source)}/files/{int(file_id)}/quarantine"
        return Call("GET", path, read(QuarantineAnswer))

    # -- diagnostics ---------------------------------------------------------------------

    @operation
    def diagnostics(self, *, history: int = 20, live_rows: int = 1000) -> Call[DiagnosticsAnswer]:
        """Step timings, serving stages, dependency health and data integrity."""
        params = {"history": history, "live_rows": live_rows}
        return Call("GET", "/v1/diagnostics", read(DiagnosticsAnswer), params=params)
