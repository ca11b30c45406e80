"""Interleaving methods: merge two rankings and credit each shown item to one of them.

* team-draft (Radlinski, Kurup and Joachims 2008, "How does clickthrough data reflect
  retrieval quality?", CIKM): the team with fewer picks drafts its best remaining item; a fresh
  coin decides who drafts first in each tied round. Unbiased under position-only clicks.
* balanced (Joachims 2003): one coin per impression decides which list starts, then the
  lists alternate. Kept for comparison: it is biased, e.g. for A=(1, 2, 3), B=(2, 3, 1) and
  one uniformly random click, B wins with probability 2/3.
* probabilistic (Hofmann, Whiteson and de Rijke 2011, "A probabilistic method for inferring
  preferences from clicks", CIKM): each list is a softmax over ranks, P(rank r) ∝ r^-tau; each
  slot picks a list by coin and samples an item from it.

Each function returns ``(item, team)`` pairs, ``team`` being 0 (first list) or 1 (second).
Items are compared by ``str(item)``, so ``7`` and ``"7"`` are the same item.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

__all__ = ["balanced", "outcome", "probabilistic", "team_draft"]

T = TypeVar("T")


def team_draft(a: Sequence[T], b: Sequence[T], k: int, rng: random.Random) -> list[tuple[T, int]]:
    """Team-draft interleaving of ``a`` and ``b``, at most ``k`` items.

    Examples
    --------
    >>> import random
    >>> team_draft(["x", "y", "z"], ["y", "w", "x"], 4, random.Random(1))
    [('x', 0), ('y', 1), ('w', 1)]
    """
    lists = (a, b)
    shown: list[tuple[T, int]] = []
    seen: set[str] = set()
    picks = [0, 0]
    cursor = [0, 0]
    while len(shown) < k:
        for team in (0, 1):
            while cursor[team] < len(lists[team]) and str(lists[team][cursor[team]]) in seen:
                cursor[team] += 1
        if cursor[0] >= len(a) or cursor[1] >= len(b):
            break  # as in the paper: stop once either list has nothing new to offer
        if picks[0] < picks[1] or (picks[0] == picks[1] and rng.random() < 0.5):
            team = 0
        else:
            team = 1
        item = lists[team][cursor[team]]
        shown.append((item, team))
        seen.add(str(item))
        picks[team] += 1
    return shown


def balanced(a: Sequence[T], b: Sequence[T], k: int, rng: random.Random) -> list[tuple[T, int]]:
    """Balanced interleaving; an item is credited to the list that placed it first."""
    a_first = rng.random() < 0.5
    shown: list[tuple[T, int]] = []
    seen: set[str] = set()
    ka = kb = 0
    while ka < len(a) and kb < len(b) and len(shown) < k:
        if ka < kb or (ka == kb and a_first):
            item, team = a[ka], 0
            ka += 1
        else:
            item, team = b[kb], 1
            kb += 1
        if str(item) not in seen:
            shown.append((item, team))
            seen.add(str(item))
    return shown


def probabilistic(
    a: Sequence[T], b: Sequence[T], k: int, rng: random.Random, tau: float = 3.0
) -> list[tuple[T, int]]:
    """Probabilistic interleaving with softmax rank distributions of temperature ``tau``."""
    lists = (list(a), list(b))
    shown: list[tuple[T, int]] = []
    seen: set[str] = set()
    while len(shown) < k:
        remaining = [
            [(r, x) for r, x in enumerate(items, 1) if str(x) not in seen] for items in lists
        ]
        if not remaining[0] and not remaining[1]:
            break
        team = 0 if rng.random() < 0.5 else 1
        if not remaining[team]:
            team = 1 - team
        weights = [rank**-tau for rank, _ in remaining[team]]
        pick = rng.random() * sum(weights)
        item = remaining[team][-1][1]  # if rounding leaves pick above 0, the last one
        for (_, candidate), weight in zip(remaining[team], weights, strict=True):
            pick -= weight
            if pick <= 0:
                item = candidate
                break
        shown.append((item, team))
        seen.add(str(item))
    return shown


def outcome(teams: Sequence[int], clicked: Sequence[bool]) -> int:
    """One impression's result: +1 if the first list got more clicks, -1 if fewer, 0 if tied."""
    first = sum(1 for team, click in zip(teams, clicked, strict=True) if click and team == 0)
    second = sum(1 for team, click in zip(teams, clicked, strict=True) if click and team == 1)
    return (first > second) - (first < second)
