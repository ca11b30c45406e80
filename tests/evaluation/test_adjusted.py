"""CUPED on ratio metrics from SQL sums: the OLS fit it equals, the variance it removes, and
its error rate under continuous monitoring."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from champion.errors import InvalidInput
from champion.evaluation.arms import ExperimentArms
from champion.evaluation.design import check_fits, parse_design
from champion.evaluation.online import ArmMetrics
from champion.evaluation.stattests import CovariateSums, RatioSummary, cuped_arms
from champion.evaluation.verdicts import compare
from champion.registry.entities import VersionKey

Array = npt.NDArray[np.float64]


def _sums(x: Array, y: Array, u: Array, v: Array) -> CovariateSums:
    return CovariateSums(
        int(x.size),
        *(
            float(s)
            for s in (
                x.sum(), y.sum(), (x * x).sum(), (y * y).sum(), (x * y).sum(),
                u.sum(), v.sum(), (u * u).sum(), (v * v).sum(), (u * v).sum(),
                (x * u).sum(), (x * v).sum(), (y * u).sum(), (y * v).sum(),
            )
        ),
    )  # fmt: skip


def _correlated(rng: np.random.Generator, n: int, rho: float, shift: float) -> tuple[Array, Array]:
    past = rng.normal(10.0, 2.0, n)
    now = shift + 10.0 + rho * (past - 10.0) + math.sqrt(1 - rho**2) * rng.normal(0, 2.0, n)
    return now, past


def test_on_a_plain_mean_the_adjusted_difference_is_the_ols_treatment_coefficient() -> None:
    """``metric ~ 1 + arm + covariate`` by least squares; statsmodels 0.15 ``OLS`` on the same
    data gives the coefficients 0.32111494 (arm) and 0.70249037 (covariate)."""
    rng = np.random.default_rng(70)
    y_a, x_a = _correlated(rng, 800, 0.7, 0.0)
    y_b, x_b = _correlated(rng, 900, 0.7, 0.3)
    ones_a, ones_b = np.ones(800), np.ones(900)
    a, b, theta = cuped_arms(_sums(y_a, ones_a, x_a, ones_a), _sums(y_b, ones_b, x_b, ones_b))
    design = np.column_stack([np.ones(1700), np.r_[np.zeros(800), np.ones(900)], np.r_[x_a, x_b]])
    coef, *_ = np.linalg.lstsq(design, np.r_[y_a, y_b], rcond=None)
    assert b.mean - a.mean == pytest.approx(coef[1], rel=1e-9)
    assert theta == pytest.approx(coef[2], rel=1e-9)
    assert (b.mean - a.mean, theta) == pytest.approx((0.32111494, 0.70249037), abs=1e-8)
    # The variance of the difference shrinks by 1 - rho² (0.51 at rho = 0.7).
    plain = np.var(y_a, ddof=1) / 800 + np.var(y_b, ddof=1) / 900
    adjusted = a.variance / a.n + b.variance / b.n
    assert adjusted / plain == pytest.approx(0.51, abs=0.05)


def test_on_a_ratio_metric_it_adjusts_the_linearised_metric_unit_by_unit() -> None:
    """The sums give what the per-unit linearisation ``(x - R y) / ȳ`` regressed on the
    pre-period's ``(u - R' v) / v̄`` with one intercept per arm gives."""
    rng = np.random.default_rng(5)
    arms = []
    for n, rate in ((600, 0.10), (700, 0.12)):
        v = rng.poisson(6, n).astype(float)  # past impressions, 0 for some units
        taste = rng.beta(2, 16, n)
        u = rng.binomial(v.astype(int), taste).astype(float)
        y = rng.poisson(6, n).astype(float) + 1
        x = rng.binomial(y.astype(int), np.clip(taste * rate / 0.11, 0, 1)).astype(float)
        arms.append((x, y, u, v))
    a, b, theta = cuped_arms(_sums(*arms[0]), _sums(*arms[1]))
    u_all, v_all = np.r_[arms[0][2], arms[1][2]], np.r_[arms[0][3], arms[1][3]]
    ratio_pre, mean_v = u_all.sum() / v_all.sum(), v_all.mean()
    lin, cov, arm_of = [], [], []
    for k, (x, y, u, v) in enumerate(arms):
        lin.append((x - x.sum() / y.sum() * y) / y.mean())
        cov.append((u - ratio_pre * v) / mean_v)
        arm_of.append(np.full(x.size, k))
    groups = np.concatenate(arm_of)
    fit = np.column_stack([groups == 0, groups == 1, np.concatenate(cov)]).astype(float)
    coef, *_ = np.linalg.lstsq(fit, np.concatenate(lin), rcond=None)
    assert theta == pytest.approx(coef[2], rel=1e-9)
    for adjusted, (x, y, _, _), linear, covariate in zip((a, b), arms, lin, cov, strict=True):
        assert adjusted.mean == pytest.approx(
            x.sum() / y.sum() - theta * covariate.mean(), rel=1e-9
        )
        assert adjusted.variance == pytest.approx(np.var(linear - theta * covariate, ddof=1))
    assert RatioSummary.from_values(*arms[0][:2]).variance > a.variance


def test_without_any_history_nothing_is_adjusted_and_too_few_units_are_refused() -> None:
    x, zero = np.array([1.0, 0.0, 2.0, 1.0]), np.zeros(4)
    a, b, theta = cuped_arms(_sums(x, np.ones(4), zero, zero), _sums(x, np.ones(4), zero, zero))
    assert theta == 0.0 and a.mean == b.mean == 1.0
    with pytest.raises(InvalidInput, match="'a' argument of cuped_arms"):
        cuped_arms(_sums(x[:2], np.ones(2), x[:2], np.ones(2)), _sums(x, np.ones(4), x, np.ones(4)))


ARMS = ExperimentArms(
    "ab",
    "a",
    ("b",),
    {"a": "m@a", "b": "m@b"},
    {"a": VersionKey("m", 1), "b": VersionKey("m", 2)},
    expected_shares={"a": 0.5, "b": 0.5},
)


def _look(
    data: dict[str, tuple[Array, Array]], n: int
) -> tuple[dict[str, ArmMetrics], dict[str, CovariateSums]]:
    metrics, covariates = {}, {}
    for arm, (now, past) in data.items():
        ones = np.ones(n)
        sums = _sums(now[:n], ones, past[:n], ones)
        covariates[arm] = sums
        metrics[arm] = ArmMetrics(arm, arm, n, {}, {"value_per_unit": sums.metric}, {}, {})
    return metrics, covariates


def test_cuped_with_the_sequential_test_keeps_alpha_however_often_one_looks() -> None:
    """A/A at rho = 0.7, looked at every 10 units up to 300 per arm: 300 runs declare a
    difference at rate 0.01 (s.e. 0.006), under alpha = 0.05; with a true shift the
    adjusted test finds it in more runs than the plain one."""
    design = parse_design(
        {"goal": "value_per_unit", "cuped": True, "guardrails": [], "sequential_tuning": 600}
    )
    rng, reps, false = np.random.default_rng(31), 300, 0
    for _ in range(reps):
        data = {arm: _correlated(rng, 300, 0.7, 0.0) for arm in ("a", "b")}
        for n in range(10, 301, 10):
            [goal] = compare(design, ARMS, *_look(data, n))
            if goal.verdict != "inconclusive":
                false += 1
                break
    rate = false / reps
    assert rate <= 0.05 + 2 * math.sqrt(max(rate * (1 - rate), 1 / reps) / reps)
    found = {"cuped": 0, "plain": 0}
    plain = design.model_copy(update={"cuped": False})
    for _ in range(100):
        data = {"a": _correlated(rng, 300, 0.7, 0.0), "b": _correlated(rng, 300, 0.7, 0.5)}
        metrics, covariates = _look(data, 300)
        [adjusted] = compare(design, ARMS, metrics, covariates)
        [unadjusted] = compare(plain, ARMS, metrics)
        assert adjusted.result is not None and adjusted.result.method == "sequential+cuped"
        found["cuped"] += adjusted.verdict == "better"
        found["plain"] += unadjusted.verdict == "better"
    assert found["cuped"] > found["plain"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"goal": "click_rate", "cuped": True, "method": "welch"}, "method 'welch'"),
        ({"goal": "accuracy", "cuped": True}, "goal 'accuracy'"),
        ({"goal": "click_rate", "cuped_days": 0}, "cuped_days: Input should be greater than 0"),
    ],
)
def test_cuped_designs_are_checked(body: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        check_fits(parse_design(body), "ab")
