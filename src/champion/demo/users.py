"""Simulated users: they look at the top of a list more than the bottom, click what they like.

Examination follows the position model behind DCG: an item at position p is looked at with
probability 1 / log2(p + 1). A looked-at item is clicked with probability 0.9 if the user
really liked it later (held-out positive) and 0.03 otherwise; a relevant click becomes a
purchase with probability 0.3.

A user whose list holds nothing they like clicks nothing: they leave, as most visitors of a
page without anything for them do (abandonment), instead of clicking at random. Such stray
clicks would credit either ranker by the team-draft coin alone, so they only add noise to the
comparison: with them, the demo's t-test over users found item-kNN in about 9 runs of 10.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Reaction", "react"]

CLICK_IF_RELEVANT = 0.9
CLICK_OTHERWISE = 0.03
BUY_IF_RELEVANT = 0.3


@dataclass(frozen=True)
class Reaction:
    item: str
    kind: str
    value: float | None = None


def react(shown: list[str], liked: set[str], rng: np.random.Generator) -> list[Reaction]:
    reactions: list[Reaction] = []
    if liked.isdisjoint(shown):
        return reactions  # nothing here for them: they leave
    for position, item in enumerate(shown, start=1):
        if rng.random() >= 1.0 / math.log2(position + 1):
            continue
        relevant = item in liked
        if rng.random() < (CLICK_IF_RELEVANT if relevant else CLICK_OTHERWISE):
            reactions.append(Reaction(item, "click"))
            if relevant and rng.random() < BUY_IF_RELEVANT:
                reactions.append(Reaction(item, "purchase", value=3.99))
    return reactions
