"""Drift routes: a window of an endpoint against its reference, performance, references."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from champion.answers import (
    DriftAnswer,
    DriftTimelineAnswer,
    EstimatedPerformanceAnswer,
    PerformanceAnswer,
    ReferenceAnswer,
)
from champion.api.answers import ERRORS, LOOKUP, UNIT_LEVEL, WRITE
from champion.api.schemas import EndpointName, ModelName, Reason, StageName
from champion.api.state import actor_of, state_of
from champion.clock import UserTime

# champion.drift imports SciPy and pandas: loaded at the first drift request, not at start-up.
from champion.errors import InvalidInput
from champion.periods import parse_window, resolve_window
from champion.registry import VersionKey
from champion.registry.entities import path_reference
from champion.services import Services

__all__ = ["router"]

router = APIRouter(tags=["drift"], responses=ERRORS)


def logged_name(services: Services, endpoint: str, stage: str | None) -> str:
    """The name ``endpoint``'s (or its ``stage``'s) prediction events are logged under."""
    config = services.endpoints.get(endpoint)
    return endpoint if stage is None else services.endpoints.stage_config(config, stage).name


def _json(body: Any) -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json"
    )


@router.get("/v1/endpoints/{endpoint}/drift", response_model=DriftAnswer, responses=LOOKUP)
def endpoint_drift(
    endpoint: EndpointName,
    request: Request,
    window: str | None = Query(default=None, description="15m, 1h, 7d… (default 1d)"),
    start: UserTime | None = None,
    end: UserTime | None = None,
    version: str | None = Query(default=None, description="attrition/1 or attrition@champion"),
    test: list[str] = Query(default=[], description="column=detector, repeatable"),  # noqa: B008
    correction: Literal["bh", "bonferroni", "none"] = "bh",
    stage: StageName = None,
) -> Response:
    """Per column of the reference (inputs and outputs): statistic, p-value, threshold, verdict;
    the share of drifted columns; data-quality counts over the same window. For a pipeline
    endpoint, of its last stage, or of ``stage`` against that stage's version's reference."""
    from champion.drift.monitor import parse_tests

    state = state_of(request)
    logged = logged_name(state.services, endpoint, stage)
    run = state.services.drift.endpoint_drift(
        logged, window=window, start=start, end=end, version=version,
        tests=parse_tests(test), correction=correction,
    )  # fmt: skip
    state.metrics.observe_drift(logged, run.drift)
    return _json(run.to_json())


@router.get(
    "/v1/endpoints/{endpoint}/drift/timeline",
    response_model=DriftTimelineAnswer,
    responses=LOOKUP,
)
def endpoint_drift_timeline(
    endpoint: EndpointName,
    request: Request,
    window: str = Query(default="1h", description="Width of each window: 15m, 1h, 1d…"),
    # le: drift.timeline.MAX_BUCKETS, written out so that champion.drift loads on first use.
    buckets: int = Query(default=24, ge=1, le=96, description="Consecutive windows."),
    end: UserTime | None = None,
    version: str | None = Query(default=None, description="attrition/1 or attrition@champion"),
    test: list[str] = Query(default=[], description="column=detector, repeatable"),  # noqa: B008
    correction: Literal["bh", "bonferroni", "none"] = "bh",
    stage: StageName = None,
) -> Response:
    """Per reference column and window: the drift test's statistic, p-value and verdict (a
    heatmap of columns by time), and the reference's and each window's histogram or
    category counts. Nothing served or no reference: no columns, and a message. For a
    pipeline endpoint, of its last stage or of ``stage``."""
    from champion.drift.monitor import parse_tests
    from champion.drift.timeline import drift_timeline

    services = state_of(request).services
    timeline = drift_timeline(
        services.drift, logged_name(services, endpoint, stage), window=window, buckets=buckets,
        end=end, version=version, tests=parse_tests(test), correction=correction,
    )  # fmt: skip
    return _json(timeline.to_json())


@dataclass(frozen=True)
class _Judged:
    """The window of an endpoint and the version whose performance a route reads."""

    services: Services
    endpoint: str
    start: datetime
    end: datetime
    key: VersionKey
    bucket: timedelta


def _judged(
    endpoint: EndpointName,
    request: Request,
    window: str | None = Query(default=None, description="default 1d"),
    start: UserTime | None = None,
    end: UserTime | None = None,
    bucket: str = Query(default="1h", description="width of each time bucket"),
    version: str | None = None,
) -> _Judged:
    services = state_of(request).services
    services.endpoints.get(endpoint)
    start, end = resolve_window(services.clock, window, start, end)
    key = services.drift.window_version(endpoint, start, end, version)
    return _Judged(services, endpoint, start, end, key, parse_window(bucket, "bucket"))


Judged = Annotated[_Judged, Depends(_judged)]


@router.get(
    "/v1/endpoints/{endpoint}/performance", response_model=PerformanceAnswer, responses=UNIT_LEVEL
)
def endpoint_performance(
    judged: Judged,
    detector: list[str] | None = Query(default=None, description="adwin, ddm, page_hinkley"),  # noqa: B008
) -> Response:
    """Performance over time from labels joined to predictions, and the changes that online
    detectors found in the error stream."""
    from champion.drift.concept import performance

    key = judged.key
    kind = judged.services.registry.get_version(key.model, key.number).kind
    result = performance(
        judged.services.engine, judged.endpoint, judged.start, judged.end, kind=kind,
        bucket=judged.bucket, version=key, detectors=detector,
    )  # fmt: skip
    return _json({"version": str(key), **result.to_json()})


@router.get(
    "/v1/endpoints/{endpoint}/performance/estimated",
    response_model=EstimatedPerformanceAnswer,
    responses=LOOKUP,
)
def endpoint_estimated_performance(judged: Judged) -> dict[str, Any]:
    """A binary classifier's expected accuracy, ROC AUC and F1 per bucket from its calibrated
    scores (CBPE, no label needed), beside the realised metrics once labels arrive; a realised
    metric outside the interval expected for its labels is flagged. Needs the version's
    labelled reference."""
    from champion.drift.estimation import estimated_performance

    result = estimated_performance(
        judged.services.engine, judged.endpoint, judged.start, judged.end,
        bucket=judged.bucket, version=judged.key,
    )  # fmt: skip
    return result.to_json()


@router.get(
    "/v1/models/{model}/versions/{version}/reference",
    response_model=ReferenceAnswer,
    responses=LOOKUP,
)
def get_reference(model: ModelName, version: str, request: Request) -> Response:
    services = state_of(request).services
    key = services.registry.resolve(path_reference(model, version)).key
    return _json(services.references.get(key).to_json())


@router.put(
    "/v1/models/{model}/versions/{version}/reference",
    response_model=ReferenceAnswer,
    responses=WRITE,
)
def put_reference(
    model: ModelName,
    version: str,
    request: Request,
    file: UploadFile = File(description="The reference data: .csv, .jsonl, .parquet or .pq"),  # noqa: B008
    replace: bool = Form(default=False),
    reason: Annotated[Reason, Form()] = "",
    label: str | None = Form(
        default=None, max_length=128, description="The column of true outcomes, if any."
    ),
) -> Response:
    """Profile the uploaded data (and the model's outputs on it) as the version's reference."""
    from champion.datafiles import SUFFIXES

    services = state_of(request).services
    suffix = Path(file.filename or "").suffix.lower()
    if suffix not in SUFFIXES:
        names = f"{', '.join(SUFFIXES[:-1])} or {SUFFIXES[-1]}"
        raise InvalidInput(f"file: name it {names}. Got {file.filename!r}.")
    with tempfile.TemporaryDirectory(prefix="reference-upload-") as folder:
        path = Path(folder) / f"reference{suffix}"
        with open(path, "wb") as out:
            shutil.copyfileobj(file.file, out)
        stored = services.references.compute(
            path_reference(model, version),
            path,
            actor=actor_of(request),
            replace=replace,
            reason=reason,
            label=label,
        )
    return _json(stored.to_json())
