"""CBPE against a hand computation, scikit-learn, and Monte Carlo on calibrated data."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from champion.drift.cbpe import Calibration, estimate, expected_auc
from champion.errors import InvalidInput

IDENTITY = Calibration((0.0, 1.0), (0.0, 1.0), 100, 50)


def test_a_tiny_window_by_hand() -> None:
    # Calibrated scores 0.9, 0.8 (served positive) and 0.3 (served negative).
    # Expected TP = 0.9 + 0.8, FP = 0.1 + 0.2, FN = 0.3, TN = 0.7.
    result = estimate(IDENTITY, [0.9, 0.8, 0.3], [True, True, False], draws=0)
    assert result.metrics["accuracy"] == pytest.approx((1.7 + 0.7) / 3)
    assert result.metrics["f1"] == pytest.approx(2 * 1.7 / (2 * 1.7 + 0.3 + 0.3))
    # Thresholds 0.9, 0.8, 0.3: TPR 0.45, 0.85, 1 and FPR 0.1, 0.3, 1 (of 2.0 and 1.0).
    trapezoids = 0.1 * 0.45 / 2 + 0.2 * (0.45 + 0.85) / 2 + 0.7 * (0.85 + 1) / 2
    assert result.metrics["auc"] == pytest.approx(trapezoids)
    assert result.low == dict.fromkeys(("accuracy", "auc", "f1"))


def test_tied_scores_share_one_threshold() -> None:
    score, p = np.array([0.7, 0.7, 0.2]), np.array([0.7, 0.7, 0.2])
    # The two 0.7s are one threshold: TP 1.4 of 1.6 and FP 0.6 of 1.4 above it.
    tpr, fpr = 1.4 / 1.6, 0.6 / 1.4
    assert expected_auc(score, p) == pytest.approx(fpr * tpr / 2 + (1 - fpr) * (tpr + 1) / 2)
    assert expected_auc(np.array([0.5, 0.4]), np.array([1.0, 1.0])) is None


def test_calibration_predicts_as_scikit_learn_does() -> None:
    rng = np.random.default_rng(1)
    score = rng.uniform(size=3_000)
    truth = rng.uniform(size=3_000) < score**3
    calibration = Calibration.fit(score, truth)
    fitted = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(score, truth)
    grid = np.linspace(-0.5, 1.5, 401)
    np.testing.assert_allclose(calibration.apply(grid), fitted.predict(grid), atol=1e-12)
    assert Calibration.from_dict(calibration.to_dict()) == calibration


def test_calibration_refuses_too_few_rows_or_one_outcome() -> None:
    with pytest.raises(InvalidInput, match="at least 50 rows and both outcomes"):
        Calibration.fit(np.linspace(0, 1, 100), np.ones(100))
    with pytest.raises(InvalidInput, match="one score per label"):
        Calibration.fit(np.zeros(60), np.zeros(59))


def test_expected_metrics_equal_realised_ones_in_expectation() -> None:
    # Calibrated data: the outcome is positive with the score's probability. Over many
    # windows, the mean realised accuracy / AUC / F1 (scikit-learn's) is the estimate's
    # (within 4 standard errors of that mean; AUC and F1 are ratios, so allow their O(1/n)
    # bias too).
    rng = np.random.default_rng(7)
    n, windows = 400, 300
    score = rng.beta(2, 3, size=n)
    predicted = score >= 0.5
    result = estimate(IDENTITY, score, predicted, draws=0)
    realised: dict[str, list[float]] = {"accuracy": [], "auc": [], "f1": []}
    for _ in range(windows):
        truth = rng.uniform(size=n) < score
        realised["accuracy"].append(accuracy_score(truth, predicted))
        realised["auc"].append(roc_auc_score(truth, score))
        realised["f1"].append(f1_score(truth, predicted))
    for name, values in realised.items():
        standard_error = np.std(values, ddof=1) / np.sqrt(windows)
        bias = 0.0 if name == "accuracy" else 2 / n
        estimated = result.metrics[name]
        assert estimated is not None
        assert abs(np.mean(values) - estimated) < 4 * standard_error + bias, name


def test_the_interval_covers_the_realised_metric_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(11)
    n, windows = 300, 200
    score = rng.uniform(size=n)
    result = estimate(IDENTITY, score, score >= 0.5, draws=400, seed=3)
    covered = dict.fromkeys(("accuracy", "auc", "f1"), 0)
    for _ in range(windows):
        truth = rng.uniform(size=n) < score
        values = {
            "accuracy": accuracy_score(truth, score >= 0.5),
            "auc": roc_auc_score(truth, score),
            "f1": f1_score(truth, score >= 0.5),
        }
        for name, value in values.items():
            low, high = result.low[name], result.high[name]
            assert low is not None and high is not None
            covered[name] += low <= value <= high
    # 95 % nominal; binomial sd over 200 windows is 1.5 points.
    for name, count in covered.items():
        assert 0.89 <= count / windows <= 0.99, name


def test_an_empty_window_estimates_nothing() -> None:
    result = estimate(IDENTITY, [], [])
    assert result.n == 0 and result.metrics == {"accuracy": None, "auc": None, "f1": None}
    with pytest.raises(InvalidInput, match="one served label per score"):
        estimate(IDENTITY, [0.2, 0.3], [True])
