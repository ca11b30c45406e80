"""Answers about pipeline endpoints' stages: what each stage did for a request, and how
each stage serves over a window."""

from __future__ import annotations

from pydantic import Field

from champion.answers.base import Answer

__all__ = ["StageServed"]


class StageServed(Answer):
    """One stage of a pipeline endpoint, as it served one request."""

    stage: str = Field(examples=["retrieve"])
    model: str
    version: int
    arm: str = Field(description="The unit's arm in this stage's policy.")
    latency_ms: float
    fallback_from: str | None = Field(
        description="The stage's version that failed when its champion answered instead."
    )
