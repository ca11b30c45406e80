"""The ranker monitoring route: what a ranker endpoint showed, against a reference window."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from champion.api.answers import ERRORS
from champion.api.state import state_of
from champion.clock import UserTime

__all__ = ["RankingMonitorAnswer", "router"]

router = APIRouter(tags=["drift"], responses=ERRORS)


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TopItem(_Answer):
    item: str
    impressions: int
    share: float = Field(description="Of the window's (or version's) impressions.")


class Exposure(_Answer):
    requests: int = Field(description="Rankings that showed at least one item.")
    units: int
    impressions: int
    distinct_items: int
    coverage: float | None = Field(description="Distinct items shown / catalogue size.")
    gini: float | None = Field(description="Gini of impressions over the catalogue (0 = even).")
    mean_popularity_rank: float | None = Field(
        description="Impression-weighted mean popularity rank of shown items (1 = most popular)."
    )
    top_items: list[TopItem]


class ItemShare(_Answer):
    item: str = Field(description="An item, or '(other)' for the long tail.")
    reference: float
    current: float


class ItemDriftAnswer(_Answer):
    method: str = Field(examples=["chi2_rao_scott"])
    statistic: float | None
    p_value: float | None
    dof: int
    effective_dof: float | None = Field(
        description="The degrees of freedom after the second-order Rao-Scott correction."
    )
    design_effect: float | None = Field(
        description="What the chi-square is divided by: the mean design effect over units, "
        "times 1 + the squared coefficient of variation of the design effects."
    )
    js_distance: float | None = Field(description="Jensen-Shannon distance (base 2) of shares.")
    alpha: float
    drifted: bool
    buckets: list[ItemShare]


class ClickThroughAnswer(_Answer):
    impressions: int
    clicked: int
    units: int
    ctr: float | None
    ci: list[float] | None = Field(description="95 % interval, delta method over units.")


class PositionClickThrough(ClickThroughAnswer):
    positions: str = Field(examples=["2-3"])


class ClickThroughSummary(ClickThroughAnswer):
    by_position: list[PositionClickThrough]


class ClickThroughBucket(ClickThroughSummary):
    start: str
    end: str


class ContextAnswer(_Answer):
    available: bool
    message: str
    drift: dict[str, Any] | None = Field(description="As GET /v1/endpoints/{e}/drift's columns.")


class VersionExposureAnswer(Exposure):
    version: str = Field(examples=["recs/2"])
    new_items: int = Field(description="Distinct items the reference window never showed.")
    reference_coverage_at_same_impressions: float | None = Field(
        description="The reference's coverage rarefied to this version's impressions."
    )
    item_drift: ItemDriftAnswer
    click_through: ClickThroughSummary
    buckets: list[ClickThroughBucket]
    context: ContextAnswer


class Catalogue(_Answer):
    size: int
    source: str


class RankingMonitorAnswer(_Answer):
    endpoint: str
    start: str
    end: str
    reference_start: str
    reference_end: str
    reference_basis: Literal["previous", "chosen"]
    catalogue: Catalogue
    popularity_basis: Literal["clicks", "impressions"]
    reference: Exposure
    versions: list[VersionExposureAnswer] = Field(description="Per version credited in the window.")
    message: str


@router.get("/v1/endpoints/{endpoint}/ranking-monitor", response_model=RankingMonitorAnswer)
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
