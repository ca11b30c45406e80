"""The rollout controller drives a real served canary; time moves only when the test says."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from champion import audit
from champion.api import create_app
from champion.db import read
from champion.events.tables import predictions
from champion.settings import Settings
from tests.automation.conftest import ROW, WIN_RATES, Rig
from tests.conftest import ModelFolders, local_client

RAMP = {"steps": [0.1, 0.3, 0.5, 1.0], "min_seconds": 60, "min_units": 5}
# Served latency is the machine's noise: a latency guardrail could hold a ramp for want of
# evidence. No request fails, so the error-rate guardrail is shown within its tolerance.
SAFE = {"guardrails": [{"metric": "error_rate", "tolerance": 0.01}], "guardrail_min_units": 2}


def _actions(rig: Rig) -> list[tuple[str, str]]:
    with read(rig.services.engine) as conn:
        records = audit.list_audit(conn, target="churn", limit=200)
    return [(r.action, r.actor) for r in reversed(records) if r.action.startswith("experiment.")]


def _endpoint(rig: Rig) -> dict[str, Any]:
    body: dict[str, Any] = rig.client.get("/v1/endpoints/churn").json()
    return body


def test_a_winning_canary_ramps_step_by_step_and_is_promoted(rig: Rig) -> None:
    rig.canary(0.1)
    rig.experiment(goal="click_rate", automation="auto", min_sample=40, ramp=RAMP, **SAFE)
    # Each step is analysed on its own (steps are never pooled): enough users per step.
    rig.traffic(200, WIN_RATES)
    [look] = rig.controller.tick()
    assert (look.outcome, look.decision.action) == ("reported", "hold")
    assert "0 s of the 60 s" in look.decision.reason  # time stands still until moved
    shares = [0.1]
    for _ in range(6):
        rig.advance(61)
        [look] = rig.controller.tick()
        if look.decision.action == "promote":
            break
        assert (look.outcome, look.decision.action) == ("acted", "ramp"), look.decision.reason
        shares.append(_endpoint(rig)["params"]["share"])
        rig.traffic(200, WIN_RATES)
    assert look.decision.action == "promote" and look.outcome == "acted"
    assert shares[:2] == [0.1, 0.3]
    assert "Significant win for churn/2 on the goal: click_rate" in look.decision.reason
    # champion moved; the endpoint serves it alone with the previous one loaded beside it.
    assert rig.services.registry.resolve("churn@champion").number == 2
    endpoint = _endpoint(rig)
    assert (endpoint["policy"], endpoint["params"]) == (
        "blue_green",
        {"blue": "churn/1", "green": "churn/2", "live": "green"},
    )
    assert sorted(endpoint["serving"]) == ["churn/1", "churn/2"]
    report = rig.report()
    assert report["status"] == "promoted" and report["decision"]["decision"] == "promote"
    ramps = [a for a in _actions(rig) if a[0] == "experiment.ramp"]
    assert len(ramps) == len(shares) - 1 and all(actor == "controller" for _, actor in ramps)
    assert _actions(rig)[-1] == ("experiment.promote", "controller")
    assert rig.metrics.controller_actions.labels("churn", "promote")._value.get() == 1
    assert rig.metrics.registry.get_sample_value("champion_controller_leader") == 1


def test_ramping_only_adds_units_to_the_canary(rig: Rig) -> None:
    rig.canary(0.1)
    rig.experiment(goal="click_rate", automation="auto", min_sample=10_000, ramp=RAMP, **SAFE)
    rig.traffic(100, WIN_RATES)
    rig.advance(61)
    assert rig.controller.tick()[0].decision.action == "ramp"
    with rig.services.engine.connect() as conn:
        first = {
            u
            for u, a in conn.execute(sa.select(predictions.c.unit, predictions.c.arm))
            if a == "challenger"
        }
    again = {}
    for unit in sorted(first):
        body = rig.client.post(
            "/v1/endpoints/churn/predict", json={"unit": unit, "instances": [ROW]}
        ).json()
        again[unit] = body["version"]
    assert first and set(again.values()) == {2}


def test_a_failing_canary_is_rolled_back_at_once(rig: Rig, model_folder: ModelFolders) -> None:
    rig.services.registry.register(
        model_folder("failing"), model="churn", actor="t", aliases_to_set=("challenger",)
    )
    rig.canary(0.3)
    rig.experiment(goal="click_rate", automation="approve", ramp=RAMP)
    rig.traffic(120, WIN_RATES)
    [look] = rig.controller.tick()  # no time has passed: a spike does not wait for the step
    assert (look.outcome, look.decision.action) == ("acted", "rollback")
    assert look.decision.reason.startswith("Failure spike: ")
    assert "requests to churn/3 failed in this step (100%" in look.decision.reason
    endpoint = _endpoint(rig)
    assert (endpoint["policy"], endpoint["params"]) == ("single", {"version": "churn@champion"})
    assert rig.report()["status"] == "rolled_back"
    assert _actions(rig)[-1] == ("experiment.rollback", "controller")
    body = rig.client.post("/v1/endpoints/churn/predict", json={"unit": "u", "instances": [ROW]})
    assert body.json()["version"] == 1


def test_a_replica_still_routing_at_the_old_share_after_a_ramp_holds_nothing(
    rig: Rig, settings: Settings
) -> None:
    """A replica (or a request in flight) that has not seen a ramp routes at the old share;
    its requests carry the old configuration and count in the old step, so the new step's
    sample-ratio check never sees a 9-to-1 split where it expects 7 to 3."""
    lagging = settings.model_copy(update={"controller": False, "state_poll_seconds": 3600.0})
    rig.canary(0.1)
    rig.experiment(goal="click_rate", automation="auto", min_sample=10_000, ramp=RAMP, **SAFE)
    with local_client(create_app(lagging, rig.clock)) as replica:
        rig.traffic(100, WIN_RATES)
        rig.advance(61)
        assert rig.controller.tick()[0].decision.action == "ramp"
        assert _endpoint(rig)["params"]["share"] == 0.3
        for n in range(300):  # new users, routed by the replica at 10 %
            body = {"unit": f"late-{n}", "instances": [ROW]}
            answered = replica.post("/v1/endpoints/churn/predict", json=body)
            assert answered.status_code == 200, answered.text
        rig.traffic(100, WIN_RATES)
        rig.wait_for_predictions(500)
    rig.advance(61)
    [look] = rig.controller.tick()
    assert (look.outcome, look.decision.action) == ("acted", "ramp"), look.decision.reason
    first, second = rig.report()["steps"][:2]
    assert sum(first["units"].values()) == 400 and first["srm"]["status"] == "ok"
    assert sum(second["units"].values()) == 100 and second["srm"]["status"] == "ok"


def test_with_approve_a_ramp_waits_for_a_person(rig: Rig) -> None:
    rig.canary(0.1)
    rig.experiment(goal="click_rate", automation="approve", min_sample=10_000, ramp=RAMP, **SAFE)
    rig.traffic(100, WIN_RATES)
    rig.advance(61)
    [look] = rig.controller.tick()
    assert (look.outcome, look.decision.action) == ("proposed", "ramp")
    assert _endpoint(rig)["params"]["share"] == 0.1
    pending = rig.report()["pending"]
    assert (pending["action"], pending["share"]) == ("ramp", 0.3)
    rig.controller.tick()  # proposing the same action again changes nothing
    assert [a for a, _ in _actions(rig)].count("experiment.propose") == 1
    response = rig.client.post(
        "/v1/endpoints/churn/experiment/approve",
        json={"reason": "looks fine"},
        headers={"X-Champion-Actor": "alice"},
    )
    assert response.status_code == 200, response.text
    assert _endpoint(rig)["params"]["share"] == 0.3
    assert response.json()["pending"] is None
    assert _actions(rig)[-1] == ("experiment.ramp", "alice")
    again = rig.client.post("/v1/endpoints/churn/experiment/approve", json={})
    assert again.status_code == 409
    assert "has nothing waiting for approval" in again.json()["error"]["message"]


def test_manual_only_reports(rig: Rig) -> None:
    rig.canary(0.5)  # the last step before 100 %: the only one whose win may promote
    rig.experiment(
        goal="click_rate",
        automation="manual",
        min_sample=20,
        ramp=RAMP,
        sequential_tuning=200,
        **SAFE,
    )
    rig.traffic(200, WIN_RATES)
    [look] = rig.controller.tick()
    assert (look.outcome, look.decision.decision) == ("reported", "promote"), look.decision.reason
    assert _endpoint(rig)["policy"] == "canary"
    last = rig.services.experiments.get("churn").last_decision
    assert last is not None and last["decision"] == "promote"
    assert _actions(rig) == [("experiment.start", "api")]
    assert rig.metrics.controller_decisions.labels("churn", "promote")._value.get() == 1


def test_a_promotion_is_undone_at_once(rig: Rig) -> None:
    rig.canary(0.5)
    rig.experiment(goal="click_rate", automation="manual")
    promoted = rig.client.post("/v1/endpoints/churn/experiment/promote", json={"reason": "ship"})
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["status"] == "promoted"
    ask = {"unit": "u", "instances": [ROW]}
    assert rig.client.post("/v1/endpoints/churn/predict", json=ask).json()["version"] == 2
    undone = rig.client.post("/v1/endpoints/churn/experiment/rollback", json={})
    assert undone.status_code == 200, undone.text
    assert undone.json()["status"] == "rolled_back"
    assert _endpoint(rig)["params"]["live"] == "blue"
    assert rig.services.registry.resolve("churn@champion").number == 1
    assert rig.client.post("/v1/endpoints/churn/predict", json=ask).json()["version"] == 1
    twice = rig.client.post("/v1/endpoints/churn/experiment/rollback", json={})
    assert twice.status_code == 409 and "already ended" in twice.json()["error"]["message"]


def test_two_actors_cannot_both_act_on_the_same_state(rig: Rig) -> None:
    rig.canary(0.1)
    rig.experiment(goal="click_rate", automation="manual", ramp=RAMP)
    stale = rig.services.experiments.get("churn")
    rig.services.rollout.ramp(stale, 0.3, actor="first", reason="step")
    from champion.errors import Conflict

    try:
        rig.services.rollout.ramp(stale, 0.5, actor="second", reason="step")
    except Conflict as exc:
        assert "changed while this action was being decided" in exc.message
    else:
        raise AssertionError("the second ramp on a stale state must fail")
    assert _endpoint(rig)["params"]["share"] == 0.3  # nothing half-written
