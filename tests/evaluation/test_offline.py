"""Offline comparison on a shared holdout, and a new score against its history."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics

from champion.errors import InvalidInput
from champion.evaluation.offline import check_score_history, compare_offline
from champion.evaluation.stattests import McNemarTest


def _holdout(seed: int, noise_a: float, noise_b: float) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    y = rng.binomial(1, 0.35, 600).astype(float)
    return y, y + rng.normal(0, noise_a, 600), y + rng.normal(0, noise_b, 600)


def test_auc_comparison_reports_sklearns_numbers_and_a_paired_verdict() -> None:
    y, a, b = _holdout(0, 1.0, 0.5)
    found = compare_offline(y, a, b, metric="auc", n_resamples=100)
    assert found.champion == pytest.approx(metrics.roc_auc_score(y, a))
    assert found.challenger == pytest.approx(metrics.roc_auc_score(y, b))
    assert found.verdict == "better" and found.result.method == "paired_bootstrap[auc]"
    assert compare_offline(y, b, a, metric="auc", n_resamples=100).verdict == "worse"


def test_the_same_model_twice_is_not_different() -> None:
    y, a, _ = _holdout(1, 1.0, 1.0)
    assert compare_offline(y, a, a.copy(), metric="rmse", n_resamples=200).verdict == "same"


def test_lower_rmse_is_better() -> None:
    y, a, b = _holdout(2, 0.8, 0.4)
    found = compare_offline(y, a, b, metric="rmse", n_resamples=300)
    assert found.challenger < found.champion and found.verdict == "better"


def test_accuracy_is_mcnemar_on_thresholded_scores() -> None:
    y, a, b = _holdout(3, 0.6, 0.3)
    found = compare_offline(y, a, b, metric="accuracy")
    right_a, right_b = (a >= 0.5) == y, (b >= 0.5) == y
    expected = McNemarTest().run(right_a.astype(float), right_b.astype(float))
    assert found.result == expected
    assert found.champion == pytest.approx(right_a.mean())
    with pytest.raises(InvalidInput, match="must score every holdout row"):
        compare_offline(y, a[:10], b, metric="accuracy")
    with pytest.raises(InvalidInput, match="'metric' parameter of compare_offline"):
        compare_offline(y, a, b, metric="f2")


def test_score_history_rules() -> None:
    history = [0.80, 0.81, 0.79, 0.82, 0.80, 0.81]
    usual = check_score_history(0.805, history)
    assert not usual.worse and {r.verdict for r in usual.rules.values()} == {"within"}
    low = check_score_history(0.70, history)
    assert low.worse and {r.verdict for r in low.rules.values()} == {"worse"}
    sd = float(np.std(history, ddof=1))
    assert low.rules["sigma"].low == pytest.approx(np.mean(history) - 2 * sd)
    q1, q3 = np.quantile(history, [0.25, 0.75])
    assert low.rules["iqr"].low == pytest.approx(q1 - 1.5 * (q3 - q1))
    # Below the worst recorded score but inside the statistical bands: only raw flags it.
    edge = check_score_history(0.785, history)
    assert [n for n, r in edge.rules.items() if r.verdict == "worse"] == ["raw"]
    # Lower is better (e.g. RMSE): a high score is the worse one; a suspiciously low one is
    # flagged as better (worth a look: leakage?) but not worse.
    rmse = check_score_history(0.2, [0.5, 0.52, 0.49, 0.51], higher_is_better=False)
    assert not rmse.worse and rmse.rules["iqr"].verdict == "better"


def test_short_histories_use_the_rules_they_can() -> None:
    assert set(check_score_history(0.5, [0.6]).rules) == {"raw"}
    assert set(check_score_history(0.5, [0.6, 0.7]).rules) == {"raw", "sigma"}
    with pytest.raises(InvalidInput, match="'history' argument of check_score_history"):
        check_score_history(0.5, [])
