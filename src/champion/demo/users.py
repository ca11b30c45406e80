"""Simulated users: they look at the top of a list more than the bottom, click what they like.

Examination follows the position-based model behind DCG's discount (Järvelin and Kekäläinen,
2002; the examination hypothesis of Craswell et al., 2008): an item at position p (1-based)
is looked at with probability 1 / log2(p + 1). A looked-at item is clicked with probability
0.9 if the user really liked it later (a held-out positive) and 0.02 otherwise; a relevant
click becomes a purchase with probability 0.3.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["Feedback", "Reaction", "examination_probability", "react", "simulate_session"]

CLICK_IF_RELEVANT = 0.9
CLICK_OTHERWISE = 0.02
BUY_IF_RELEVANT = 0.3
PURCHASE_VALUE = 3.99  # a rental's price: what a purchase is worth to the business

# react() keeps the click rate it was calibrated with, so its callers see the same traffic.
_REACT_CLICK_OTHERWISE = 0.03


@dataclass(frozen=True)
class Feedback:
    """One user action on a shown item: a click (value 1) or a purchase (value: its price)."""

    item: Hashable
    kind: Literal["click", "purchase"]
    value: float


def examination_probability(position: int) -> float:
    """Probability that a user looks at the item at 1-based ``position``: 1 / log2(p + 1)."""
    return 1.0 / math.log2(position + 1)


def simulate_session(
    truth: AbstractSet[Hashable],
    shown: Sequence[Hashable],
    rng: np.random.Generator,
    *,
    click_if_relevant: float = CLICK_IF_RELEVANT,
    click_otherwise: float = CLICK_OTHERWISE,
    buy_if_relevant: float = BUY_IF_RELEVANT,
) -> list[Feedback]:
    """One user's reaction to one ranked list.

    Parameters
    ----------
    truth
        The items this user likes (held-out positives).
    shown
        The list as displayed, best first.
    rng
        Source of all randomness; the same generator state gives the same feedback.
    click_if_relevant, click_otherwise, buy_if_relevant
        Click probability of an examined item in / not in ``truth``, and probability that a
        relevant click turns into a purchase.

    Returns
    -------
    list[Feedback]
        In display order; a purchase follows the click on the same item.
    """
    feedback: list[Feedback] = []
    for position, item in enumerate(shown, start=1):
        # Draws happen in a fixed order (examine, click, buy) so runs replay exactly.
        if rng.random() >= examination_probability(position):
            continue
        relevant = item in truth
        if rng.random() < (click_if_relevant if relevant else click_otherwise):
            feedback.append(Feedback(item, "click", 1.0))
            if relevant and rng.random() < buy_if_relevant:
                feedback.append(Feedback(item, "purchase", PURCHASE_VALUE))
    return feedback


@dataclass(frozen=True)
class Reaction:
    item: str
    kind: str
    value: float | None = None


def react(shown: list[str], liked: set[str], rng: np.random.Generator) -> list[Reaction]:
    """``simulate_session`` for string ids, clicks without a value (the demo's wire format)."""
    return [
        Reaction(str(f.item), f.kind, f.value if f.kind == "purchase" else None)
        for f in simulate_session(liked, shown, rng, click_otherwise=_REACT_CLICK_OTHERWISE)
    ]
