"""Interleaving: invariants (Hypothesis), position bias, and agreement with a reference."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

from hypothesis import given
from hypothesis import strategies as st

from champion.serving.policies.merging import balanced, outcome, probabilistic, team_draft

Merge = Callable[[Sequence[str], Sequence[str], int, random.Random], list[tuple[str, int]]]
METHODS: dict[str, Merge] = {
    "team_draft": team_draft,
    "balanced": balanced,
    "probabilistic": probabilistic,
}

rankings = st.lists(st.sampled_from("abcdefghijklmnop"), unique=True, max_size=12)


@given(rankings, rankings, st.integers(1, 15), st.integers(0, 2**32 - 1))
def test_merged_lists_are_well_formed(a: list[str], b: list[str], k: int, seed: int) -> None:
    for name, merge in METHODS.items():
        merged = merge(a, b, k, random.Random(seed))
        items = [item for item, _ in merged]
        assert len(items) == len(set(items)) <= k, name
        for item, team in merged:  # exactly one credit, to a list that proposed the item
            assert team in (0, 1) and item in (a, b)[team], name
        if name != "probabilistic":
            # Within a team, items keep the order their own list gave them.
            for team, source in enumerate((a, b)):
                picked = [item for item, t in merged if t == team]
                assert picked == sorted(picked, key=source.index), name


@given(rankings, rankings, st.integers(1, 15), st.integers(0, 2**32 - 1))
def test_team_draft_team_sizes_differ_by_at_most_one(
    a: list[str], b: list[str], k: int, seed: int
) -> None:
    teams = [team for _, team in team_draft(a, b, k, random.Random(seed))]
    assert abs(teams.count(0) - teams.count(1)) <= 1


def _position_only_clicks(n: int, rng: random.Random) -> list[bool]:
    return [rng.random() < 0.5 / (position + 1) for position in range(n)]


def test_team_draft_is_fair_when_clicks_depend_only_on_position() -> None:
    rng = random.Random(2024)
    catalogue = [f"item-{i}" for i in range(30)]
    wins = losses = 0
    for _ in range(10_000):
        a = rng.sample(catalogue, 10)
        b = rng.sample(catalogue, 10)
        merged = team_draft(a, b, 10, rng)
        result = outcome([t for _, t in merged], _position_only_clicks(len(merged), rng))
        wins += result == 1
        losses += result == -1
    decided = wins + losses
    standard_error = math.sqrt(0.25 / decided)
    assert abs(wins / decided - 0.5) < 3 * standard_error


def test_balanced_interleaving_reproduces_its_known_bias() -> None:
    # A=(1,2,3), B=(2,3,1), one click uniformly at random: B wins with probability 2/3.
    rng = random.Random(7)
    n = 60_000
    b_wins = 0
    for _ in range(n):
        merged = balanced([1, 2, 3], [2, 3, 1], 3, rng)
        clicked = [False] * len(merged)
        clicked[rng.randrange(len(merged))] = True
        b_wins += outcome([t for _, t in merged], clicked) == -1
    assert abs(b_wins / n - 2 / 3) < 0.01


def _reference_team_draft(
    a: list[str], b: list[str], k: int, rng: random.Random
) -> tuple[list[str], list[str]]:
    """Radlinski et al. 2008, Algorithm 2, written from the paper for this test."""
    interleaved: list[str] = []
    team_a: list[str] = []
    team_b: list[str] = []
    while (
        len(interleaved) < k
        and any(x not in interleaved for x in a)
        and any(x not in interleaved for x in b)
    ):
        if len(team_a) < len(team_b) or (len(team_a) == len(team_b) and rng.random() < 0.5):
            pick = next(x for x in a if x not in interleaved)
            team_a.append(pick)
        else:
            pick = next(x for x in b if x not in interleaved)
            team_b.append(pick)
        interleaved.append(pick)
    return interleaved, team_a


def test_team_draft_agrees_with_a_reference_implementation() -> None:
    rng = random.Random(99)
    catalogue = [f"d{i}" for i in range(15)]
    for trial in range(2_000):
        a, b = rng.sample(catalogue, 8), rng.sample(catalogue, 8)
        ours = team_draft(a, b, 8, random.Random(trial))
        reference, team_a = _reference_team_draft(a, b, 8, random.Random(trial))
        assert [item for item, _ in ours] == reference
        clicks = [rng.random() < 0.3 for _ in reference]
        reference_outcome = sum(
            c for x, c in zip(reference, clicks, strict=True) if x in team_a
        ) - sum(c for x, c in zip(reference, clicks, strict=True) if x not in team_a)
        ours_outcome = outcome([t for _, t in ours], clicks)
        assert ours_outcome == (reference_outcome > 0) - (reference_outcome < 0)
