"""Inverse-propensity estimates undo the bias of adaptive allocation."""

from __future__ import annotations

import numpy as np
import pytest

from champion.db import read
from champion.evaluation.propensity import ips_estimates, propensity_estimates
from champion.events.arms import ArmWindow
from champion.services import Services
from tests.fixtures.events import EventLog


def _adaptive_log(seed: int, n: int = 2000) -> tuple[EventLog, dict[str, float]]:
    """Rewards drop halfway for both arms (0.6, then 0.2), while the allocation moves from
    90 % on arm a to 10 %: a's plain mean sees mostly good times, b's mostly bad ones."""
    rng = np.random.default_rng(seed)
    log = EventLog(endpoint="churn")
    rewards: dict[str, list[int]] = {"a": [], "b": []}
    for i in range(n):
        late = i >= n // 2
        p_a = 0.1 if late else 0.9
        arm = "a" if rng.random() < p_a else "b"
        probability = p_a if arm == "a" else 1 - p_a
        request = log.predict(arm, f"u{i}", probability=probability)
        won = int(rng.random() < (0.2 if late else 0.6))
        if won:
            log.react(request, "click")
        rewards[arm].append(won)
    return log, {arm: float(np.mean(r)) for arm, r in rewards.items()}


def test_ips_recovers_each_arms_reward_when_the_plain_mean_is_biased(
    services: Services,
) -> None:
    log, plain = _adaptive_log(0)
    log.write(services.engine)
    with read(services.engine) as conn:
        found = propensity_estimates(conn, ArmWindow("churn", ["a", "b"]), "click")
    # Served alone, either arm would earn the time average: (0.6 + 0.2) / 2 = 0.4.
    assert plain["a"] > 0.5 and plain["b"] < 0.3
    for arm in ("a", "b"):
        estimate = found[arm]
        assert estimate.ips_ci[0] < 0.4 < estimate.ips_ci[1]
        assert estimate.snips is not None and estimate.snips_ci is not None
        assert estimate.snips_ci[0] < 0.4 < estimate.snips_ci[1]
        assert abs(estimate.snips - 0.4) < 0.05


def test_estimates_follow_their_formulas() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0.1, 0.9, 500)
    chosen = rng.random(500) < p
    reward = (rng.random(500) < 0.3) & chosen
    w = np.where(chosen, 1 / p, 0.0)
    r = reward.astype(float)
    sums = {
        "a": (float((r * w).sum()), float((r * w * w).sum()), float(w.sum()), float((w * w).sum()))
    }
    found = ips_estimates(500, sums)["a"]
    values = r * w
    assert found.ips == pytest.approx(values.mean())
    half = 1.959963984540054 * values.std(ddof=1) / np.sqrt(500)
    assert found.ips_ci == pytest.approx((values.mean() - half, values.mean() + half))
    assert found.snips == pytest.approx((r * w).sum() / w.sum())


def test_intervals_cover_the_reward_of_serving_everyone() -> None:
    rng = np.random.default_rng(11)
    reps, n = 400, 2000
    late = np.arange(n) >= n // 2
    p_a = np.where(late, 0.1, 0.9)
    chose_a = rng.random((reps, n)) < p_a
    reward = (rng.random((reps, n)) < np.where(late, 0.2, 0.6)).astype(float)
    covered = {"ips": 0, "snips": 0}
    for rep in range(reps):
        w = np.where(chose_a[rep], 1 / p_a, 0.0)
        r = reward[rep]
        sums = {
            "a": (
                float((r * w).sum()),
                float((r * w * w).sum()),
                float(w.sum()),
                float((w * w).sum()),
            )
        }
        found = ips_estimates(n, sums)["a"]
        assert found.snips_ci is not None
        covered["ips"] += found.ips_ci[0] <= 0.4 <= found.ips_ci[1]
        covered["snips"] += found.snips_ci[0] <= 0.4 <= found.snips_ci[1]
    assert 0.92 <= covered["ips"] / reps <= 0.98
    assert 0.92 <= covered["snips"] / reps <= 0.98
