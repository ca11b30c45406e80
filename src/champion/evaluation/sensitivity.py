"""How many users does each method need to pick the right winner? A bootstrap over users.

The protocol of Netflix's interleaving study (Parks, Aurisset and Ramm, "Innovating Faster
on Personalization Algorithms at Netflix Using Interleaving", Netflix Technology Blog, 2017):
for a population size ``N``, draw ``N`` users for an interleaving experiment and ``N / 2``
users for each cell of an A/B test on CTR, both by resampling users (never impressions),
and count how often each experiment names the worse ranker the winner. Repeating over
``N`` gives each method's wrong-winner curve; the ratio of the users they need for the same
error is the sensitivity factor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from champion.errors import InvalidInput
from champion.validation import check_int

__all__ = ["SensitivityCurve", "UserOutcomes", "wrong_winner_curve"]

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class UserOutcomes:
    """Per simulated user: what an A/B cell and an interleaving experiment would log.

    ``clicks_a``/``shown_a`` when the user is served ranker A, the same for B, and the
    interleaved impressions the user's clicks credited to B (``wins``) or to A (``losses``).
    """

    clicks_a: npt.ArrayLike
    shown_a: npt.ArrayLike
    clicks_b: npt.ArrayLike
    shown_b: npt.ArrayLike
    wins: npt.ArrayLike
    losses: npt.ArrayLike

    def __post_init__(self) -> None:
        sizes = {np.asarray(getattr(self, name)).shape for name in vars(self)}
        if len(sizes) != 1 or len(next(iter(sizes))) != 1:
            raise InvalidInput(
                "Every field of UserOutcomes must be a 1-D array with one entry per user. "
                f"Got shapes {sorted(sizes)} instead."
            )

    @property
    def users(self) -> int:
        return int(np.asarray(self.wins).size)


@dataclass(frozen=True)
class SensitivityCurve:
    """Wrong-winner rates of both methods at each population size (ties count as half)."""

    sizes: tuple[int, ...]
    interleaving: tuple[float, ...]
    ab: tuple[float, ...]
    replicates: int

    def users_needed(self, method: str, level: float = 0.05) -> float | None:
        """Users the method needs for a wrong-winner rate of ``level``: interpolated (in
        log users) between the sizes around the first one at or under ``level``; None if no
        size reaches it."""
        rates = self.interleaving if method == "interleaving" else self.ab
        for i, (size, rate) in enumerate(zip(self.sizes, rates, strict=True)):
            if rate > level:
                continue
            if i == 0 or rates[i - 1] == rate:
                return float(size)
            low, high = math.log(self.sizes[i - 1]), math.log(size)
            share = (rates[i - 1] - level) / (rates[i - 1] - rate)
            return float(math.exp(low + share * (high - low)))
        return None

    def factor(self, level: float = 0.05) -> float | None:
        """A/B users needed over interleaving users needed at ``level`` (None: not reached)."""
        interleaving, ab = self.users_needed("interleaving", level), self.users_needed("ab", level)
        return None if interleaving is None or ab is None else ab / interleaving

    def to_json(self) -> dict[str, Any]:
        return {
            "sizes": list(self.sizes),
            "interleaving_wrong": list(self.interleaving),
            "ab_wrong": list(self.ab),
            "replicates": self.replicates,
        }


def _sums(values: Array, picks: npt.NDArray[np.int64]) -> Array:
    return np.asarray(values[picks].sum(axis=1), dtype=np.float64)


def _wrong(better: Array, worse: Array) -> float:
    return float(np.mean((worse > better) + 0.5 * (worse == better)))


def wrong_winner_curve(
    outcomes: UserOutcomes,
    sizes: Sequence[int],
    *,
    better: str = "b",
    replicates: int = 1000,
    seed: int = 0,
) -> SensitivityCurve:
    """Each method's rate of naming the worse ranker at each population size in ``sizes``.

    ``better`` says which ranker really is better (``"a"`` or ``"b"``), e.g. from a large
    simulation or from ground truth. Interleaving names B when its users' wins exceed their
    losses; the A/B test names B when B's cell has the higher CTR (clicks over shown items,
    pooled over the cell's users).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> n = 400
    >>> shown = rng.integers(1, 50, n) * 10.0
    >>> outcomes = UserOutcomes(
    ...     rng.binomial(shown.astype(int), 0.10) * 1.0, shown,
    ...     rng.binomial(shown.astype(int), 0.11) * 1.0, shown,
    ...     rng.poisson(3.3, n) * 1.0, rng.poisson(3.0, n) * 1.0)
    >>> curve = wrong_winner_curve(outcomes, [50, 400], replicates=200)
    >>> curve.interleaving[1] < curve.interleaving[0]
    True
    """
    replicates = check_int("wrong_winner_curve", "replicates", replicates, 10)
    if better not in {"a", "b"}:
        raise InvalidInput(
            f"The 'better' argument of wrong_winner_curve must be 'a' or 'b'. Got {better!r}."
        )
    if outcomes.users < 2 or not sizes or any(int(n) < 2 for n in sizes):
        raise InvalidInput(
            "wrong_winner_curve needs at least 2 users and sizes of at least 2 users each. "
            f"Got {outcomes.users} users and sizes {list(sizes)!r}."
        )
    rng = np.random.default_rng(seed)
    data = {name: np.asarray(getattr(outcomes, name), dtype=np.float64) for name in vars(outcomes)}
    interleaving, ab = [], []
    for size in (int(n) for n in sizes):
        cell = max(1, size // 2)
        il_wrong = ab_wrong = 0.0
        chunk = max(1, 2_000_000 // size)  # bounds memory at a few million indices
        for start in range(0, replicates, chunk):
            count = min(chunk, replicates - start)
            picks = rng.integers(0, outcomes.users, (count, size))
            wins, losses = _sums(data["wins"], picks), _sums(data["losses"], picks)
            cell_a = rng.integers(0, outcomes.users, (count, cell))
            cell_b = rng.integers(0, outcomes.users, (count, cell))
            ctr_a = _sums(data["clicks_a"], cell_a) / np.maximum(_sums(data["shown_a"], cell_a), 1)
            ctr_b = _sums(data["clicks_b"], cell_b) / np.maximum(_sums(data["shown_b"], cell_b), 1)
            if better == "b":
                il_wrong += _wrong(wins, losses) * count
                ab_wrong += _wrong(ctr_b, ctr_a) * count
            else:
                il_wrong += _wrong(losses, wins) * count
                ab_wrong += _wrong(ctr_a, ctr_b) * count
        interleaving.append(il_wrong / replicates)
        ab.append(ab_wrong / replicates)
    return SensitivityCurve(
        tuple(int(n) for n in sizes), tuple(interleaving), tuple(ab), replicates
    )
