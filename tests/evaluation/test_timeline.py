"""An experiment over time: cumulative looks that end in the report, intervals as SciPy's."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
import sqlalchemy as sa
from scipy import stats

from champion.errors import InvalidInput
from champion.evaluation.stattests import RatioSummary
from champion.evaluation.timeline import experiment_timeline, mean_interval
from champion.events.tables import feedback, predictions
from tests.automation import conftest as automation
from tests.automation.conftest import WIN_RATES, Rig

rig = automation.rig  # the served canary with a clock that moves only when told


def _clicks_per_unit(rig: Rig) -> dict[str, np.ndarray]:
    clicked = sa.exists().where(
        (feedback.c.request_id == predictions.c.request_id) & (feedback.c.kind == "click")
    )
    query = sa.select(predictions.c.arm, sa.case((clicked, 1), else_=0)).where(
        predictions.c.endpoint == "churn"
    )
    with rig.services.engine.connect() as conn:
        rows = conn.execute(query).all()
    return {
        arm: np.array([c for a, c in rows if a == arm], dtype=float)
        for arm in ("champion", "challenger")
    }


def test_the_timeline_builds_up_to_what_the_report_says_now(rig: Rig) -> None:
    rig.canary(0.5)
    rig.experiment(goal="click_rate", guardrails=[], min_sample=1000, reason="try v2")
    rig.advance(60)
    rig.traffic(40, WIN_RATES)  # at +60 s
    rig.advance(540)
    rig.traffic(60, WIN_RATES)  # at +600 s: after the second look's end (exclusive)
    rig.advance(600)
    response = rig.client.get("/v1/endpoints/churn/experiment/timeline", params={"points": 4})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["goal"], body["method"], body["status"]) == ("click_rate", "sequential", "running")
    points = body["points"]
    started = datetime.fromisoformat(body["started_at"])
    offsets = [(datetime.fromisoformat(p["end"]) - started).total_seconds() for p in points]
    assert offsets == [300, 600, 900, 1200]
    units = [sum(arm["units"] for arm in p["arms"]) for p in points]
    assert units == [40, 40, 100, 100]

    report = rig.report()
    last = points[-1]
    [goal] = [r for r in report["results"] if r["role"] == "goal"]
    assert last["goal"] == [
        {
            "arm": "challenger",
            "control": goal["control"],
            "challenger": goal["challenger"],
            "effect": goal["effect"],
            "ci": goal["ci"],
            "p_value": goal["p_value"],
            "relative": goal["relative"],
            "verdict": goal["verdict"],
            "tested": True,
        }
    ]
    reported = {a["arm"]: a for a in report["arms"]}
    clicks = _clicks_per_unit(rig)
    for arm in last["arms"]:
        assert arm["units"] == reported[arm["arm"]]["units"]
        assert arm["value"] == pytest.approx(reported[arm["arm"]]["metrics"]["click_rate"])
        x = clicks[arm["arm"]]
        # One request per unit: the interval is the z-interval of the per-unit click mean.
        expected = stats.norm.interval(0.95, loc=x.mean(), scale=stats.sem(x))
        assert arm["ci"] == pytest.approx(list(expected), rel=1e-9)


def test_a_finished_experiment_ends_its_timeline_when_it_ended(rig: Rig) -> None:
    rig.canary(0.5)
    rig.experiment(goal="click_rate", guardrails=[])
    rig.advance(30)
    rig.traffic(20, WIN_RATES)
    rig.advance(30)
    rolled = rig.client.post("/v1/endpoints/churn/experiment/rollback", json={"reason": "stop"})
    assert rolled.status_code == 200
    rig.advance(3600)  # later traffic is not the experiment's
    experiment = rig.services.experiments.get("churn")
    timeline = experiment_timeline(rig.services.experiments, experiment, points=3)
    assert timeline.ends[-1] == experiment.finished_at
    assert [sum(m.units for m in a.metrics.values()) for a in timeline.analyses] == [0, 20, 20]


def test_bad_requests_name_the_parameter(rig: Rig) -> None:
    rig.canary(0.5)
    none = rig.client.get("/v1/endpoints/churn/experiment/timeline")
    assert none.status_code == 404 and "has no experiment" in none.text
    rig.experiment(goal="click_rate")
    bad = rig.client.get("/v1/endpoints/churn/experiment/timeline", params={"points": 0})
    assert bad.status_code == 422 and "points" in bad.text
    experiment = rig.services.experiments.get("churn")
    with pytest.raises(InvalidInput, match=r"'points' parameter .* \[1, 48\]\. Got 49"):
        experiment_timeline(rig.services.experiments, experiment, points=49)


def test_the_interval_of_a_ratio_is_the_delta_method_one() -> None:
    rng = np.random.default_rng(3)
    shown = rng.integers(1, 10, 200).astype(float)
    clicked = rng.binomial(shown.astype(int), 0.2).astype(float)
    low, high = mean_interval(RatioSummary.from_values(clicked, shown), 0.1) or (0.0, 0.0)
    ratio = clicked.sum() / shown.sum()
    # The linearised per-unit values (x - R y) / mean(y): their z-interval around R.
    linear = (clicked - ratio * shown) / shown.mean()
    half = stats.norm.ppf(0.95) * stats.sem(linear)
    assert (low, high) == pytest.approx((ratio - half, ratio + half), rel=1e-9)
    assert mean_interval(RatioSummary.from_values([1.0], [1.0]), 0.05) is None
