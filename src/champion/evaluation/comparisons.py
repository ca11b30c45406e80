"""Online comparisons computed from the event log: which ranker do users prefer?"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from champion.evaluation.stattests import RatioSummary, StatResult
from champion.evaluation.stattests.interleaving import InterleavingTest
from champion.events.queries import interleaved_clicks

__all__ = ["InterleavingComparison", "interleaving_comparisons"]


@dataclass(frozen=True)
class InterleavingComparison:
    """One champion/challenger pair's interleaved impressions, scored by clicks."""

    champion: str
    challenger: str
    units: int
    impressions: int
    wins: int
    losses: int
    ties: int
    result: StatResult
    per_unit: RatioSummary
    """Per unit ``x = (wins - losses) / 2`` over ``y`` = impressions with a click: its ratio
    is Δ_AB, and its delta-method variance keeps the unit as the unit of analysis."""

    @property
    def preferred(self) -> str | None:
        """The version users prefer at the test's alpha, or None while undecided."""
        if not self.result.enough_data or self.result.p_value >= self.result.alpha:
            return None
        return self.challenger if self.result.effect > 0 else self.champion

    def to_json(self) -> dict[str, Any]:
        return {
            "champion": self.champion,
            "challenger": self.challenger,
            "units": self.units,
            "impressions": self.impressions,
            "wins": self.wins,
            "losses": self.losses,
            "ties": self.ties,
            "delta": self.result.effect,
            "ci": list(self.result.ci) if self.result.ci else None,
            "p_value": self.result.p_value,
            "alpha": self.result.alpha,
            "preferred": self.preferred,
        }


def interleaving_comparisons(
    conn: sa.Connection,
    endpoint: str,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    alpha: float = 0.05,
    test: InterleavingTest | None = None,
) -> list[InterleavingComparison]:
    """Score every champion/challenger pair interleaved on ``endpoint`` in ``[start, end)``.

    Wins are impressions where the challenger's items got more clicks than the champion's;
    the sign test and the bootstrap over units come from
    :class:`~champion.evaluation.stattests.interleaving.InterleavingTest`.
    """
    test = test or InterleavingTest()
    # pair -> unit -> [(champion clicks, challenger clicks), ...]
    pairs: dict[tuple[str, str], dict[str, list[tuple[int, int]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for impression in interleaved_clicks(conn, endpoint, start, end).values():
        champion = impression["champion"]
        clicks: dict[str, int] = impression["clicks"]
        others = [version for version in clicks if version != champion]
        if len(others) != 1:
            continue  # only one team placed items: nothing to compare in this impression
        challenger = others[0]
        pairs[(champion, challenger)][impression["unit"]].append(
            (clicks.get(champion, 0), clicks[challenger])
        )
    comparisons = []
    for (champion, challenger), units in sorted(pairs.items()):
        a = [[pair[0] for pair in impressions] for impressions in units.values()]
        b = [[pair[1] for pair in impressions] for impressions in units.values()]
        flat = [(x, y) for impressions in units.values() for x, y in impressions]
        per_unit = RatioSummary.from_values(
            [sum((y > x) - (x > y) for x, y in imps) / 2 for imps in units.values()],
            [sum(x + y > 0 for x, y in imps) for imps in units.values()],
        )
        comparisons.append(
            InterleavingComparison(
                champion=champion,
                challenger=challenger,
                units=len(units),
                impressions=len(flat),
                wins=sum(y > x for x, y in flat),
                losses=sum(x > y for x, y in flat),
                ties=sum(x == y > 0 for x, y in flat),
                result=test.run(a, b, alpha=alpha),
                per_unit=per_unit,
            )
        )
    return comparisons
