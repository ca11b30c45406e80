"""The ranker monitoring route: what a ranker endpoint showed, against a reference window."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from champion.answers import RankingMonitorAnswer
from champion.api.answers import ERRORS, errors
from champion.api.state import state_of
from champion.clock import UserTime

__all__ = ["router"]

router = APIRouter(tags=["drift"], responses=ERRORS)


@router.get(
    "/v1/endpoints/{endpoint}/ranking-monitor",
    response_model=RankingMonitorAnswer,
    responses=errors(404, 409, 422),  # 409: retention deleted rows inside a window
)
def ranking_monitor(
    endpoint: str,
    request: Request,
    window: Annotated[str | None, Query(description="15m, 1h, 7d… (default 1d)")] = None,
    start: UserTime | None = None,
    end: UserTime | None = None,
    reference_start: UserTime | None = None,
    reference_end: UserTime | None = None,
    # le: drift.ranking.MAX_BUCKETS, written out so that champion.drift loads on first use.
    buckets: Annotated[int, Query(ge=1, le=48, description="Click-through time buckets.")] = 12,
    alpha: Annotated[float, Query(gt=0, lt=1, description="The item-drift test's level.")] = 0.05,
) -> dict[str, Any]:
    """A ranker endpoint's shown items, catalogue coverage, popularity of what is shown and
    click-through per version in the window, against the reference window (by default the
    window of the same length just before). 409 when retention deleted rows in either."""
    result = state_of(request).services.drift.ranking(
        endpoint, window=window, start=start, end=end, reference_start=reference_start,
        reference_end=reference_end, buckets=buckets, alpha=alpha,
    )  # fmt: skip
    return result.to_json()
