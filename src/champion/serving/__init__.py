"""Serving: endpoints, the versions loaded for them, and predict/rank through their policies.

:class:`ServingService` is the transport-agnostic request path the HTTP API calls
(:mod:`champion.serving.service`); it serves the endpoints of the active endpoint table
(:mod:`champion.serving.active`), calls their versions through :mod:`champion.serving.calls`
and starts their shadow calls (:mod:`champion.serving.shadows`).
The routing policies are in :mod:`champion.serving.policies`.

The names below are imported on first use, so that importing one small module of this
package (``champion.serving.assignment`` in every process that buckets units) does not load
the whole request path.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from champion.serving.assignment import BUCKETS, bucket
    from champion.serving.endpoints import EndpointConfig, Endpoints
    from champion.serving.runtime import LoadedVersion, Runtime
    from champion.serving.service import Answer, ServingService
    from champion.serving.timing import StageTimings

__all__ = [
    "BUCKETS",
    "Answer",
    "EndpointConfig",
    "Endpoints",
    "LoadedVersion",
    "Runtime",
    "ServingService",
    "StageTimings",
    "bucket",
]

_HOMES = {
    "BUCKETS": "assignment",
    "bucket": "assignment",
    "EndpointConfig": "endpoints",
    "Endpoints": "endpoints",
    "LoadedVersion": "runtime",
    "Runtime": "runtime",
    "Answer": "service",
    "ServingService": "service",
    "StageTimings": "timing",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
