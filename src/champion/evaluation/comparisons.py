"""Online comparisons computed from the event log: which ranker do users prefer?

Each unit's interleaved impressions are scored by the clicks credited to each version; the
unit's wins and losses give one preference and the verdict is a test over units
(:func:`interleaving_verdict`), the same code the experiment controller decides with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from champion.evaluation.design import ExperimentDesign
from champion.evaluation.stattests import StatResult
from champion.evaluation.stattests.interleaving import interleaving_delta, preference_test
from champion.events.interleaving import interleaved_units

__all__ = ["InterleavingComparison", "interleaving_comparisons", "interleaving_verdict"]

_DEFAULT_DESIGN = ExperimentDesign(goal="interleaving")


def interleaving_verdict(
    wins: npt.ArrayLike, losses: npt.ArrayLike, design: ExperimentDesign | None = None
) -> tuple[StatResult, str]:
    """The test and verdict an interleaving experiment with ``design`` gets from these units.

    ``wins[u]`` and ``losses[u]`` are unit ``u``'s impressions won by the challenger and by
    the champion. The test is the design's: ``sequential`` (the default) runs the
    always-valid test on the mean unit preference; ``interleaving`` runs the fixed-horizon
    ``design.interleaving_test`` (``t``, ``sign`` or ``bootstrap``), see
    :func:`~champion.evaluation.stattests.interleaving.preference_test`. The verdict is
    ``better`` or ``worse`` (for the challenger) when the test is significant at
    ``design.alpha``, ``inconclusive`` when it is not and ``no data`` with fewer than 2 units
    that preferred either ranker. The decision also waits for ``design.min_sample`` units.

    Examples
    --------
    >>> design = ExperimentDesign(goal="interleaving", method="interleaving")
    >>> result, verdict = interleaving_verdict([3, 2, 4, 2, 5], [0, 1, 1, 0, 1], design)
    >>> round(result.effect, 3), verdict
    (0.72, 'better')
    """
    design = design or _DEFAULT_DESIGN
    test = "sequential" if design.method == "sequential" else design.interleaving_test
    result = preference_test(
        wins,
        losses,
        test=test,
        alpha=design.alpha,
        tuning_n=design.sequential_tuning,
        n_resamples=1000,
    )
    if not result.enough_data:
        return result, "no data"
    if not result.significant:
        return result, "inconclusive"
    return result, "better" if result.effect > 0 else "worse"


@dataclass(frozen=True)
class InterleavingComparison:
    """One champion/challenger pair's interleaved impressions, scored per unit.

    ``wins``, ``losses`` and ``ties`` count impressions (a description); ``result`` and
    ``verdict`` come from the test over units.
    """

    champion: str
    challenger: str
    units: int
    """Units that saw interleaved impressions."""
    impressions: int
    wins: int
    losses: int
    ties: int
    unit_wins: tuple[int, ...]
    unit_losses: tuple[int, ...]
    clicks: dict[str, int]
    """Clicked items credited to each version."""
    result: StatResult
    verdict: str

    @property
    def preference(self) -> float:
        """The mean unit preference, in [-1, 1]; positive favours the challenger."""
        return self.result.effect

    @property
    def preferred(self) -> str | None:
        """The version units prefer, or None while the test is undecided."""
        if self.verdict == "better":
            return self.challenger
        return self.champion if self.verdict == "worse" else None

    def to_json(self) -> dict[str, Any]:
        wins, losses = np.array(self.unit_wins), np.array(self.unit_losses)
        return {
            "champion": self.champion,
            "challenger": self.challenger,
            "units": self.units,
            "units_tested": int(np.sum(wins + losses > 0)),
            "units_preferring_challenger": int(np.sum(wins > losses)),
            "units_preferring_champion": int(np.sum(losses > wins)),
            "units_tied": int(np.sum((wins == losses) & (wins > 0))),
            "preference": self.result.effect,
            "ci": list(self.result.ci) if self.result.ci else None,
            "p_value": self.result.p_value,
            "alpha": self.result.alpha,
            "method": self.result.method,
            "verdict": self.verdict,
            "preferred": self.preferred,
            "impressions": self.impressions,
            "wins": self.wins,
            "losses": self.losses,
            "ties": self.ties,
            "delta": interleaving_delta(self.wins, self.losses, self.ties),
            "clicks": dict(self.clicks),
        }


def interleaving_comparisons(
    conn: sa.Connection,
    endpoint: str,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    design: ExperimentDesign | None = None,
) -> list[InterleavingComparison]:
    """Score every champion/challenger pair interleaved on ``endpoint`` in ``[start, end)``.

    An impression is a win when the challenger's items got more clicks than the champion's,
    a loss when fewer; :func:`interleaving_verdict` tests the units with ``design`` (the
    default design: the always-valid test at alpha 0.05).
    """
    comparisons = []
    for (champion, challenger), units in sorted(
        interleaved_units(conn, endpoint, start, end).items()
    ):
        counts = np.array(list(units.values()), dtype=np.int64).reshape(-1, 6)
        unit_wins = tuple(int(w) for w in counts[:, 1])
        unit_losses = tuple(int(loss) for loss in counts[:, 2])
        result, verdict = interleaving_verdict(unit_wins, unit_losses, design)
        comparisons.append(
            InterleavingComparison(
                champion=champion,
                challenger=challenger,
                units=len(units),
                impressions=int(counts[:, 0].sum()),
                wins=int(counts[:, 1].sum()),
                losses=int(counts[:, 2].sum()),
                ties=int(counts[:, 3].sum()),
                unit_wins=unit_wins,
                unit_losses=unit_losses,
                clicks={champion: int(counts[:, 4].sum()), challenger: int(counts[:, 5].sum())},
                result=result,
                verdict=verdict,
            )
        )
    return comparisons
