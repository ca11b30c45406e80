"""Pipelines, their runs, data sources and the diagnosis from Python."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from champion.client.calls import Call, Sender, segment
from champion.errors import InvalidInput

__all__ = ["AutomationCalls"]

R = TypeVar("R")


class AutomationCalls(Sender[R]):
    # -- pipelines -----------------------------------------------------------------------

    def list_pipelines(self) -> R:
        return self._send(Call("GET", "/v1/pipelines", pick="pipelines"))

    def get_pipeline(self, name: str) -> R:
        """The pipeline's spec and revision, with its ten newest runs."""
        return self._send(Call("GET", f"/v1/pipelines/{segment(name)}"))

    def apply_pipeline(
        self, spec: Mapping[str, Any] | str | Path, *, name: str | None = None, reason: str = ""
    ) -> R:
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
        return self._send(Call("PUT", path, json={"spec": body, "reason": reason}))

    def list_runs(self, pipeline: str, *, limit: int = 50) -> R:
        """The pipeline's runs, newest first, each with its steps and their timings."""
        path = f"/v1/pipelines/{segment(pipeline)}/runs"
        return self._send(Call("GET", path, params={"limit": limit}, pick="runs"))

    def get_run(self, pipeline: str, run_id: int) -> R:
        return self._send(Call("GET", f"/v1/pipelines/{segment(pipeline)}/runs/{int(run_id)}"))

    def start_run(self, pipeline: str, *, reason: str = "", trigger: str = "manual") -> R:
        """Queue a run; the server runs it (poll ``get_run`` for its outcome)."""
        path = f"/v1/pipelines/{segment(pipeline)}/runs"
        return self._send(Call("POST", path, json={"reason": reason, "trigger": trigger}))

    def approve_run(self, pipeline: str, run_id: int, *, reason: str = "") -> R:
        """Let a run awaiting approval register and deploy."""
        path = f"/v1/pipelines/{segment(pipeline)}/runs/{int(run_id)}/approve"
        return self._send(Call("POST", path, json={"reason": reason}))

    # -- sources -------------------------------------------------------------------------

    def list_files(self, source: str) -> R:
        """The source's ingested files: rows accepted and quarantined, status, reason."""
        return self._send(Call("GET", f"/v1/sources/{segment(source)}/files", pick="files"))

    def ingest(self, source: str) -> R:
        """Ingest the source's new files now; the files ingested."""
        return self._send(Call("POST", f"/v1/sources/{segment(source)}/ingest", pick="files"))

    def quarantine(self, source: str, file_id: int) -> R:
        """A file's quarantined rows, each with its values and reasons."""
        path = f"/v1/sources/{segment(source)}/files/{int(file_id)}/quarantine"
        return self._send(Call("GET", path))

    # -- diagnostics ---------------------------------------------------------------------

    def diagnostics(self, *, history: int = 20, live_rows: int = 1000) -> R:
        """Step timings, serving stages, dependency health and data integrity."""
        params = {"history": history, "live_rows": live_rows}
        return self._send(Call("GET", "/v1/diagnostics", params=params))
