"""Serving: endpoints, the versions loaded for them, and predict/rank through their policies.

:class:`ServingService` is the transport-agnostic request path the HTTP API calls; the
routing policies are in :mod:`champion.serving.policies`.
"""

from __future__ import annotations

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
