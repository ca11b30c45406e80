"""interleave: both rankers answer; their lists merge and each shown item credits one model."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field

from champion.registry.entities import VersionKey
from champion.serving.policies.base import (
    Assignment,
    PolicyArms,
    PolicyParams,
    Resolve,
    Route,
    Served,
    ServedItem,
    check_references,
    parse_params,
)
from champion.serving.policies.merging import balanced, probabilistic, team_draft
from champion.types import Json

__all__ = ["InterleaveParams", "InterleavePolicy"]


class InterleaveParams(PolicyParams):
    champion: str
    challenger: str
    method: Literal["team_draft", "balanced", "probabilistic"] = "team_draft"
    tau: float = Field(default=3.0, gt=0, le=100, description="probabilistic: softmax decay.")


class InterleavePolicy:
    """Merge the champion's and the challenger's rankings for every request.

    The response is an ordinary ranked list; each item's credit (team) is logged with its
    position so clicks can be credited to the model that placed the item. If either ranker
    fails, the champion's list answers alone.
    """

    name: ClassVar[str] = "interleave"
    kinds: ClassVar[frozenset[str] | None] = frozenset({"ranker"})
    example_params: ClassVar[dict[str, Any]] = {"champion": "m/1", "challenger": "m/2"}

    def __init__(
        self,
        champion: VersionKey,
        challenger: VersionKey,
        method: str = "team_draft",
        tau: float = 3.0,
        timeout_seconds: float | None = None,
    ) -> None:
        self.champion = champion
        self.challenger = challenger
        self.method = method
        self.tau = tau
        self.timeout_seconds = timeout_seconds

    @classmethod
    def references(cls, params: Mapping[str, Any]) -> list[str]:
        parsed = parse_params(InterleaveParams, params)
        return check_references([parsed.champion, parsed.challenger])

    @classmethod
    def build(cls, params: Mapping[str, Any], resolve: Resolve) -> InterleavePolicy:
        parsed = parse_params(InterleaveParams, params)
        return cls(
            resolve(parsed.champion),
            resolve(parsed.challenger),
            parsed.method,
            parsed.tau,
            parsed.timeout_seconds(),
        )

    @classmethod
    def compared_arms(cls, params: Mapping[str, Any]) -> PolicyArms:
        """Both versions answer every request (logged in the one arm ``interleave``)."""
        parsed = parse_params(InterleaveParams, params)
        return PolicyArms(
            "champion", {"champion": parsed.champion, "challenger": parsed.challenger}
        )

    def versions(self) -> tuple[VersionKey, ...]:
        return (self.champion, self.challenger)

    def route(self, assignment: Assignment) -> Route:
        return Route(
            arm="interleave",
            calls=tuple(dict.fromkeys(self.versions())),
            fallback=self.champion,
            probability=1.0,
            timeout_seconds=self.timeout_seconds,
        )

    def attribute(
        self,
        route: Route,
        outputs: Mapping[VersionKey, list[Json]],
        *,
        ranking: bool,
        k: int,
        rng: random.Random,
    ) -> Served:
        lists = [outputs[self.champion], outputs[self.challenger]]
        scores = [{str(item): score for item, score in ranked} for ranked in lists]
        items = [[item for item, _ in ranked] for ranked in lists]
        if self.method == "team_draft":
            merged = team_draft(items[0], items[1], k, rng)
        elif self.method == "balanced":
            merged = balanced(items[0], items[1], k, rng)
        else:
            merged = probabilistic(items[0], items[1], k, rng, self.tau)
        teams = (self.champion, self.challenger)
        return Served(
            version=self.champion,
            items=[
                ServedItem(
                    item=item,
                    position=position,
                    score=scores[team].get(str(item)),
                    credit=teams[team],
                )
                for position, (item, team) in enumerate(merged, start=1)
            ],
        )
