"""Entities as JSON-ready dicts; the CLI prints the same shapes."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response

from champion.events import VersionStats
from champion.registry import Model, Version
from champion.serving.endpoints import EndpointConfig
from champion.serving.service import Answer

__all__ = [
    "answer_json",
    "endpoint_json",
    "json_response",
    "model_json",
    "stats_json",
    "version_json",
]


def json_response(body: Any) -> Response:
    """A JSON response by orjson (fast; NaN and infinities become null)."""
    return Response(orjson.dumps(body), media_type="application/json")


def version_json(version: Version) -> dict[str, Any]:
    return {
        "model": version.model,
        "version": version.number,
        "kind": version.kind,
        "flavor": version.flavor,
        "aliases": list(version.aliases),
        "created_at": version.created_at.isoformat(),
        "created_by": version.created_by,
        "size_bytes": version.size_bytes,
        "files": version.files,
        "signature": version.manifest.get("signature", {}),
        "lineage": version.lineage,
    }


def model_json(model: Model) -> dict[str, Any]:
    return {
        "name": model.name,
        "created_at": model.created_at.isoformat(),
        "created_by": model.created_by,
        "latest_version": model.latest,
        "version_count": model.version_count,
        "aliases": model.aliases,
    }


def endpoint_json(
    config: EndpointConfig, serving: list[str] | None = None, error: str | None = None
) -> dict[str, Any]:
    return {
        "name": config.name,
        "policy": config.policy,
        "params": config.params,
        "config_version": config.config_version,
        "updated_at": config.updated_at.isoformat(),
        "updated_by": config.updated_by,
        "serving": serving or [],
        "error": error,
        "batching": None if config.batching is None else config.batching.model_dump(),
    }


def answer_json(answer: Answer) -> dict[str, Any]:
    version = answer.served.version
    body: dict[str, Any] = {
        "request_id": answer.request_id,
        "endpoint": answer.endpoint,
        "model": version.model,
        "version": version.number,
        "arm": answer.arm,
        "fallback_from": answer.fallback_from,
    }
    if answer.served.items:
        body["items"] = [
            {"item": i.item, "position": i.position, "score": i.score} for i in answer.served.items
        ]
    else:
        body["predictions"] = answer.served.outputs
    if answer.stages:
        body["stages"] = [
            {
                "stage": stage.stage,
                "model": stage.version.model,
                "version": stage.version.number,
                "arm": stage.arm,
                "latency_ms": stage.latency_ms,
                "fallback_from": stage.fallback_from,
            }
            for stage in answer.stages
        ]
    return body


def stats_json(stats: VersionStats) -> dict[str, Any]:
    return {
        "model": stats.model,
        "version": stats.version,
        "arm": stats.arm,
        "requests": stats.requests,
        "units": stats.units,
        "impressions": stats.impressions,
        "clicked_impressions": stats.clicked_impressions,
        "ctr": stats.ctr,
        "clicks": stats.clicks,
        "purchases": stats.purchases,
        "labels": stats.labels,
        "value": stats.value,
        "requests_with_feedback": stats.requests_with_feedback,
        "feedback_coverage": stats.coverage,
        "latency_p50_ms": stats.latency_p50_ms,
        "latency_p99_ms": stats.latency_p99_ms,
        "fallbacks": stats.fallbacks,
    }
