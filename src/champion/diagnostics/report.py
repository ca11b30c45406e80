"""The whole diagnosis: step timings, serving stages, dependency health and data integrity."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa

from champion.automation import Ingestion, Pipelines
from champion.db import read
from champion.diagnostics.health import (
    artifact_store_health,
    database_health,
    object_store_health,
    served_versions,
    version_health,
)
from champion.diagnostics.integrity import live_inputs, summarise
from champion.diagnostics.packages import compare_packages, newest_versions
from champion.diagnostics.steps import step_timings
from champion.errors import ChampionError
from champion.registry import Registry
from champion.serving.endpoints import Endpoints
from champion.serving.timing import StageTimings
from champion.settings import Settings

if TYPE_CHECKING:
    import httpx

__all__ = ["Diagnosed", "diagnose", "update_check"]


class Diagnosed(Protocol):
    """The services of one home that a diagnosis reads (:class:`champion.services.Services`
    has them): named here so diagnostics depends on services, not on the wiring of them."""

    @property
    def settings(self) -> Settings: ...
    @property
    def engine(self) -> sa.Engine: ...
    @property
    def registry(self) -> Registry: ...
    @property
    def endpoints(self) -> Endpoints: ...
    @property
    def pipelines(self) -> Pipelines: ...
    @property
    def ingestion(self) -> Ingestion: ...


def diagnose(
    services: Diagnosed,
    *,
    stages: StageTimings | None = None,
    loaded: Collection[str] = (),
    history: int = 20,
    live_rows: int = 1000,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """Everything ``GET /v1/diagnostics`` and ``champion diagnose`` show, as JSON.

    ``stages`` and ``loaded`` come from a running server (per-stage latency, versions in
    memory); ``transport`` replaces the network for the package index (tests), which is
    asked only with ``check_updates`` on.
    """
    settings = services.settings
    database = database_health(services.engine)
    report: dict[str, Any] = {
        "dependencies": {
            "database": database,
            "artifact_store": (
                object_store_health(services.registry.store, settings.artifacts_url)
                if settings.artifacts_url
                else artifact_store_health(settings.artifacts_dir)
            ),
            "datasets": artifact_store_health(settings.datasets_dir),
        },
        "serving": stages.snapshot() if stages is not None else [],
    }
    if not database["readable"]:
        return report
    pipelines = services.pipelines.list_pipelines()
    report["pipelines"] = {
        p.name: step_timings(services.pipelines.list_runs(p.name, history)) for p in pipelines
    }
    versions = {
        str(v.key): v
        for found in served_versions(services.endpoints, services.registry).values()
        for v in found
    }
    trained = {v: dict(version.lineage.get("packages") or {}) for v, version in versions.items()}
    names = {name for packages in trained.values() for name in packages if name != "python"}
    # Nothing leaves the machine unless the operator asked for it.
    newest = (
        newest_versions(
            names, settings.package_index_url, settings.package_index_timeout_seconds, transport
        )
        if settings.check_updates
        else {}
    )
    report["dependencies"]["update_check"] = update_check(settings.check_updates)
    report["dependencies"]["versions"] = [
        {
            **version_health(services.registry, version, loaded),
            "packages": compare_packages(trained[key], newest),
            "python": {"trained_with": trained[key].get("python")},
        }
        for key, version in sorted(versions.items())
    ]
    report["data"] = {
        "ingested": _ingested(services, pipelines),
        "live": _live(services, live_rows),
    }
    return report


def update_check(enabled: bool) -> dict[str, Any]:
    """Whether the newest package versions are looked up, and how to change that.

    >>> update_check(False)["enabled"]
    False
    """
    if enabled:
        return {"enabled": True, "message": "Newest versions come from the package index."}
    return {
        "enabled": False,
        "message": (
            "The check for newer package versions is off: nothing leaves this machine. "
            "Set CHAMPION_CHECK_UPDATES=true for the server to ask the package index "
            "(CHAMPION_PACKAGE_INDEX_URL)."
        ),
    }


def _ingested(services: Diagnosed, pipelines: list[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for source in sorted({p.spec.source_name for p in pipelines}):
        files = [f for f in services.ingestion.files(source) if f.accepted_rows > 0]
        if not files:
            continue
        latest = files[-1]
        try:
            frame = services.ingestion.read([latest])
        except (ChampionError, OSError) as exc:
            found[source] = {"file": latest.path, "error": str(exc)}
            continue
        found[source] = {"file": latest.path, "sha256": latest.sha256, "columns": summarise(frame)}
    return found


def _live(services: Diagnosed, limit: int) -> dict[str, Any]:
    found: dict[str, Any] = {}
    with read(services.engine) as conn:
        for config in services.endpoints.list_endpoints():
            frame = live_inputs(conn, config.name, limit)
            if len(frame):
                found[config.name] = {"rows": len(frame), "columns": summarise(frame)}
    return found
