"""A fixed-horizon goal is evaluated once, at min_sample units per arm, and kept."""

from __future__ import annotations

from fastapi.testclient import TestClient

from champion.services import Services
from tests.api.test_experiments import _canary, _put, _second_version, _serve
from tests.automation import conftest as automation
from tests.automation.conftest import Rig
from tests.conftest import ModelFolders

rig = automation.rig  # the served canary with a clock that moves only when told


def test_a_fixed_horizon_goal_is_kept_from_its_first_look_and_never_re_tested(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    _second_version(served, model_folder)
    _canary(client, "churn@champion", "churn@challenger", 0.5)
    started = _put(client, "churn", goal="click_rate", method="delta", min_sample=5)
    assert started.status_code == 200, started.text
    _serve(client, 40)
    first = client.get("/v1/endpoints/churn/experiment").json()
    horizon = first["horizon"]
    assert horizon is not None and (horizon["goal"], horizon["method"]) == ("click_rate", "delta")
    assert set(horizon["units"]) == {"champion", "challenger"}
    [goal] = [r for r in first["results"] if r["role"] == "goal"]
    assert goal["p_value"] == 1.0  # nobody clicked yet
    assert "decided at" in first["decision"]["reason"]

    # Later every challenger request is clicked: a new test would call it a win.
    ids = _serve(client, 80)[40:]
    clicks = [{"request_id": i, "kind": "click"} for i in ids]
    assert client.post("/v1/feedback/batch", json={"events": clicks}).is_success
    later = client.get("/v1/endpoints/churn/experiment").json()
    assert later["horizon"] == horizon
    assert [r for r in later["results"] if r["role"] == "goal"] == [goal]
    assert later["decision"]["action"] == "rollback", later["decision"]
    assert "fixed-horizon, decided at" in later["decision"]["reason"]

    # A new horizon is a new evaluation (the change is audited).
    changed = _put(client, "churn", goal="click_rate", method="delta", min_sample=500)
    assert changed.json()["horizon"] is None


def test_the_one_evaluation_waits_for_late_feedback_when_asked(rig: Rig) -> None:
    rig.canary(0.5)
    rig.experiment(
        goal="click_rate",
        method="delta",
        min_sample=5,
        horizon_wait_seconds=600,
        guardrails=[],
        ramp={"steps": [0.5, 1.0], "min_seconds": 0, "min_units": 0},
    )
    rig.traffic(40, {})  # min_sample reached; nobody has clicked yet
    first = rig.report()
    assert first["horizon"] is None and first["horizon_reached_at"] is not None
    assert first["decision"]["action"] == "hold"
    assert "the delta test runs once at" in first["decision"]["reason"]
    rig.traffic(40, {"challenger": 1.0})  # the feedback (and units) arriving meanwhile count
    rig.advance(601)
    decided = rig.report()
    assert decided["horizon"] is not None
    assert decided["horizon_reached_at"] == first["horizon_reached_at"]
    [goal] = [r for r in decided["results"] if r["role"] == "goal"]
    assert goal["verdict"] == "better" and decided["decision"]["action"] == "promote"


def test_the_timeline_shows_a_fixed_horizon_goal_untested_before_its_horizon_and_kept_after(
    rig: Rig,
) -> None:
    rig.canary(0.5)
    rig.experiment(
        goal="click_rate", method="delta", min_sample=30, horizon_wait_seconds=0, guardrails=[]
    )
    rig.advance(60)
    rig.traffic(20, {"challenger": 1.0})  # a clear difference, but short of min_sample
    rig.advance(600)
    assert rig.report()["horizon"] is None
    rig.traffic(60, {})  # min_sample reached: the one evaluation runs now
    decided = rig.report()["horizon"]
    assert decided is not None
    rig.advance(600)
    rig.traffic(60, {"challenger": 1.0})  # later looks would test again: the timeline may not

    body = rig.client.get("/v1/endpoints/churn/experiment/timeline", params={"points": 4}).json()
    ends = [p["end"] for p in body["points"]]
    before = [p for p, end in zip(body["points"], ends, strict=True) if end < decided["at"]]
    after = [p for p, end in zip(body["points"], ends, strict=True) if end >= decided["at"]]
    assert before and after
    for point in before:
        [goal] = point["goal"]
        assert goal["tested"] is False and goal["verdict"] == "not tested"
        assert goal["p_value"] is None and goal["ci"] is None
        assert goal["effect"] is not None  # the estimate is shown, as a description
    [stored] = [r for r in decided["results"] if r["role"] == "goal"]
    for point in after:
        [goal] = point["goal"]
        assert goal["tested"] is True
        assert goal["p_value"] == stored["result"]["p_value"]
        assert goal["verdict"] == stored["verdict"]
