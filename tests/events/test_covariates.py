"""Each unit's own pre-period history, joined in SQL, and the CUPED goal it feeds."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from champion.events.arms import ArmWindow
from champion.events.covariates import covariate_sums
from champion.events.tables import feedback, predictions
from tests.automation import conftest as automation
from tests.automation.conftest import ROW, Rig

rig = automation.rig  # the served canary with a clock that moves only when told


def _visit(rig: Rig, units: list[str], clicks: set[str]) -> None:
    ids = {}
    for unit in units:
        response = rig.client.post(
            "/v1/endpoints/churn/predict", json={"unit": unit, "instances": [ROW]}
        )
        assert response.status_code == 200, response.text
        ids[unit] = response.json()["request_id"]
    events = [{"request_id": ids[u], "kind": "click"} for u in units if u in clicks]
    assert rig.client.post("/v1/feedback/batch", json={"events": events}).is_success
    rig._arms(list(ids.values()))  # wait until the writer logged them


def _per_unit(rig: Rig, start: datetime, end: datetime) -> dict[str, tuple[str, float, float]]:
    clicked = sa.exists().where(
        (feedback.c.request_id == predictions.c.request_id) & (feedback.c.kind == "click")
    )
    query = sa.select(predictions.c.unit, predictions.c.arm, sa.case((clicked, 1), else_=0)).where(
        (predictions.c.at >= start) & (predictions.c.at < end)
    )
    found: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    arms = {}
    with rig.services.engine.connect() as conn:
        for unit, arm, click in conn.execute(query):
            found[unit][0] += click
            found[unit][1] += 1
            arms[unit] = arm
    return {unit: (arms[unit], x, y) for unit, (x, y) in found.items()}


def test_each_unit_is_joined_with_its_own_history_and_the_goal_is_adjusted(rig: Rig) -> None:
    rig.canary(0.5)
    returning = [f"user-{i}" for i in range(40)]
    _visit(rig, returning, {u for i, u in enumerate(returning) if i % 3 == 0})
    _visit(rig, returning[:10], {returning[0]})  # a second visit before the experiment
    rig.advance(3600)
    rig.experiment(goal="click_rate", cuped=True, cuped_days=1, guardrails=[])
    started = datetime.fromisoformat(rig.report()["started_at"])
    rig.advance(60)
    newcomers = [f"new-{i}" for i in range(12)]
    clicks = {u for i, u in enumerate(returning) if i % 3 == 0 or i % 7 == 0} | {"new-1"}
    _visit(rig, returning + newcomers, clicks)

    window = ArmWindow("churn", ("champion", "challenger"), None, started)
    with rig.services.engine.connect() as conn:
        sums = covariate_sums(conn, window, "click_rate", started - timedelta(days=1), started)
    before = _per_unit(rig, started - timedelta(days=1), started)
    during = _per_unit(rig, started, started + timedelta(days=1))
    for arm in ("champion", "challenger"):
        units = [u for u, (a, _, _) in during.items() if a == arm]
        x = np.array([during[u][1] for u in units])
        y = np.array([during[u][2] for u in units])
        u_ = np.array([before[u][1] if u in before else 0.0 for u in units])
        v = np.array([before[u][2] if u in before else 0.0 for u in units])
        expected = (
            x.sum(), y.sum(), (x * x).sum(), (y * y).sum(), (x * y).sum(),
            u_.sum(), v.sum(), (u_ * u_).sum(), (v * v).sum(), (u_ * v).sum(),
            (x * u_).sum(), (x * v).sum(), (y * u_).sum(), (y * v).sum(),
        )  # fmt: skip
        n, values = sums[arm]
        assert n == len(units) and values == pytest.approx(expected)
        assert any(u in before for u in units) and any(u not in before for u in units)

    [goal] = [r for r in rig.report()["results"] if r["role"] == "goal"]
    assert goal["method"] == "sequential+cuped"
