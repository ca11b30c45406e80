"""Cascade users for the sensitivity study: how many users does each experiment need?

A simulated user scans a list from the top (the cascade model of Craswell et al., 2008). At
each position they click with the item's attractiveness, which comes from how they rated it
later (held-out ratings; unrated items are rarely clicked), scaled by their own click
propensity; after a click they are satisfied and leave with a probability that grows with the
rating, and without one they look further with probability ``PATIENCE``. Engagement is heavy
tailed: sessions per user and each user's click propensity are log-normal, so a few users
make many visits and click far more than most, as in real traffic.

Each simulated user yields what an A/B cell would log under ranker A or B (clicks over shown
items) and what team-draft interleaving would (impressions won by B or by A), for
:func:`champion.evaluation.sensitivity.wrong_winner_curve`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import pandas as pd

from champion.demo.movielens import MovieLensSplit
from champion.evaluation.sensitivity import UserOutcomes
from champion.serving.policies.merging import team_draft

__all__ = ["CascadeUsers", "attractiveness", "held_out_ratings"]

PATIENCE = 0.85
LIST_LENGTH = 10


def attractiveness(rating: float | None) -> float:
    """Click probability of an examined item, from the user's held-out rating."""
    if rating is None:
        return 0.02
    if rating >= 4.5:
        return 0.85
    if rating >= 4.0:
        return 0.65
    if rating >= 3.0:
        return 0.25
    return 0.05


def _satisfaction(rating: float | None) -> float:
    return 0.1 if rating is None else min(0.9, 0.15 * rating)


def held_out_ratings(split: MovieLensSplit) -> dict[str, dict[str, float]]:
    """Each user's ratings after the training cutoff (what they went on to watch)."""
    ratings = pd.read_csv(split.ratings_path, dtype={"userId": str, "movieId": str})
    ratings = ratings.sort_values(["userId", "timestamp", "movieId"], kind="stable")
    later = ratings.loc[~ratings.index.isin(split.train.index)]
    return {
        str(user): dict(zip(group["movieId"], group["rating"].astype(float), strict=True))
        for user, group in later.groupby("userId")
    }


@dataclass(frozen=True)
class CascadeUsers:
    """A population of simulated users over two rankers' lists."""

    lists_a: dict[str, list[str]]
    lists_b: dict[str, list[str]]
    ratings: dict[str, dict[str, float]]
    mean_log_sessions: float = 0.5
    sd_log_sessions: float = 1.5
    """Sessions per user are ``ceil(LogNormal(0.5, 1.5))``: median 2, mean 5, 1 % above 60."""
    sd_log_propensity: float = 1.5
    """The users' own click propensity multiplies every attractiveness: LogNormal(0, 1.5)."""

    def _session(
        self, shown: list[str], liked: dict[str, float], boost: float, rng: random.Random
    ) -> list[int]:
        """Positions (from 0) the user clicks in one visit."""
        clicks = []
        for position, item in enumerate(shown):
            rating = liked.get(item)
            if rng.random() < min(1.0, attractiveness(rating) * boost):
                clicks.append(position)
                if rng.random() < _satisfaction(rating):
                    break
            elif rng.random() > PATIENCE:
                break
        return clicks

    def simulate(self, replicates: int, seed: int) -> UserOutcomes:
        """``replicates`` independent simulated users per real user (fresh engagement and
        clicks each), every one under A, under B and under team-draft interleaving."""
        rng = random.Random(seed)
        numpy_rng = np.random.default_rng(seed)
        rows: list[tuple[float, float, float, float, float, float]] = []
        users = sorted(set(self.lists_a) & set(self.lists_b) & set(self.ratings))
        for _ in range(replicates):
            sessions = np.ceil(
                numpy_rng.lognormal(self.mean_log_sessions, self.sd_log_sessions, len(users))
            ).astype(int)
            boosts = numpy_rng.lognormal(0.0, self.sd_log_propensity, len(users))
            for user, visits, boost in zip(users, np.minimum(sessions, 200), boosts, strict=True):
                rows.append(self._user(user, int(visits), float(boost), rng))
        columns = np.array(rows, dtype=np.float64).T
        return UserOutcomes(*columns)

    def _user(
        self, user: str, visits: int, boost: float, rng: random.Random
    ) -> tuple[float, float, float, float, float, float]:
        liked = self.ratings[user]
        a, b = self.lists_a[user][:LIST_LENGTH], self.lists_b[user][:LIST_LENGTH]
        clicks_a = clicks_b = 0
        wins = losses = 0
        for _ in range(visits):
            clicks_a += len(self._session(a, liked, boost, rng))
            clicks_b += len(self._session(b, liked, boost, rng))
            merged = team_draft(a, b, LIST_LENGTH, rng)
            shown = [str(item) for item, _ in merged]
            credited = [merged[p][1] for p in self._session(shown, liked, boost, rng)]
            to_b, to_a = credited.count(1), credited.count(0)
            wins += to_b > to_a
            losses += to_a > to_b
        shown_a = float(visits * len(a))
        shown_b = float(visits * len(b))
        return clicks_a, shown_a, clicks_b, shown_b, wins, losses
