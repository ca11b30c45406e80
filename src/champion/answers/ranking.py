"""Answers of ranker monitoring: what a ranker endpoint showed, against a reference window."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from champion.answers.base import Answer

__all__ = [
    "Catalogue",
    "ClickThroughAnswer",
    "ClickThroughBucket",
    "ClickThroughSummary",
    "ContextAnswer",
    "Exposure",
    "ItemDriftAnswer",
    "ItemShare",
    "PositionClickThrough",
    "RankingMonitorAnswer",
    "TopItem",
    "VersionExposureAnswer",
]


class TopItem(Answer):
    item: str
    impressions: int
    share: float = Field(description="Of the window's (or version's) impressions.")


class Exposure(Answer):
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


class ItemShare(Answer):
    item: str = Field(description="An item, or '(other)' for the long tail.")
    reference: float
    current: float


class ItemDriftAnswer(Answer):
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


class ClickThroughAnswer(Answer):
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


class ContextAnswer(Answer):
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


class Catalogue(Answer):
    size: int
    source: str


class RankingMonitorAnswer(Answer):
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
