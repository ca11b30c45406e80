"""Pipeline endpoints from Python: set the stages, read each stage's records and numbers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from champion.answers import (
    EndpointAnswer,
    RequestEventsAnswer,
    StageDriftAnswer,
    StageStatsAnswer,
)
from champion.client.calls import Call, drop_none, iso, operation, read, segment

__all__ = ["StageCalls"]


class StageCalls:
    @operation
    def set_stages(
        self, endpoint: str, stages: Sequence[Mapping[str, Any]], *, reason: str = ""
    ) -> Call[EndpointAnswer]:
        """Make ``endpoint`` a pipeline endpoint running ``stages`` in order, each
        ``{"name", "model"}`` (or ``"policy"`` and ``"params"``), with ``"inputs"`` mapping
        its fields from ``request.<field>`` or an earlier ``<stage>.<output>``."""
        body = {"policy": "stages", "params": {"stages": [dict(s) for s in stages]}}
        path = f"/v1/endpoints/{segment(endpoint)}"
        return Call("PUT", path, read(EndpointAnswer), json=body | {"reason": reason})

    @operation
    def stage_stats(
        self, endpoint: str, *, start: datetime | None = None, end: datetime | None = None
    ) -> Call[StageStatsAnswer]:
        """Per stage over ``[start, end)``: each version's requests, latency p50/p99 and
        fallbacks, and the stage's failures since the server started."""
        params = drop_none(start=iso(start), end=iso(end))
        path = f"/v1/endpoints/{segment(endpoint)}/stages"
        return Call("GET", path, read(StageStatsAnswer), params=params)

    @operation
    def request_events(self, endpoint: str, request_id: str) -> Call[RequestEventsAnswer]:
        """The prediction events of one request, one per stage, in order."""
        path = f"/v1/endpoints/{segment(endpoint)}/requests/{segment(request_id)}"
        return Call("GET", path, read(RequestEventsAnswer))

    @operation
    def stage_drift(
        self,
        endpoint: str,
        *,
        window: str = "1h",
        buckets: int = 24,
        end: datetime | None = None,
        correction: str = "bh",
    ) -> Call[StageDriftAnswer]:
        """Per stage, its first drift alarm and new versions over ``buckets`` windows, and
        the stage that moved first."""
        params = drop_none(window=window, buckets=buckets, end=iso(end), correction=correction)
        path = f"/v1/endpoints/{segment(endpoint)}/drift/stages"
        return Call("GET", path, read(StageDriftAnswer), params=params)
