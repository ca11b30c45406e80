"""A deployment with an experiment section opens the experiment the controller then drives."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from champion import audit
from champion.automation import RolloutController
from champion.automation.tables import pipeline_runs, pipeline_steps
from champion.db import read, write
from champion.errors import InvalidInput
from champion.evaluation.tables import experiments
from champion.services import Services
from tests.automation.trainers import customers, spec, write_batch

DESIGN = {
    "goal": "accuracy",
    # No guardrail: the first look ramps before any traffic (a guardrail would wait for
    # evidence that it holds).
    "guardrails": [],
    "min_sample": 50,
    "automation": "auto",
    "ramp": {"steps": [0.2, 0.5, 1.0], "min_seconds": 0, "min_units": 0},
}
CANARY = {"endpoint": "churn", "policy": "canary", "share": 0.2, "experiment": DESIGN}


def _experiments(services: Services) -> list[tuple[int, str]]:
    with read(services.engine) as conn:
        rows = conn.execute(
            sa.select(experiments.c.id, experiments.c.status).order_by(experiments.c.id)
        ).all()
    return [(int(i), str(s)) for i, s in rows]


def _week(services: Services, incoming: Path, week: int) -> int:
    write_batch(incoming, f"week-{week}.csv", customers(150, seed=week))
    run = services.pipelines.run("churn-retrain", reason=f"week {week}", actor="alice")
    assert run.status == "succeeded", run.error
    assert run.version is not None
    return run.version


def test_the_canary_goes_out_with_its_experiment_once(services: Services, tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    services.pipelines.apply(spec(incoming, deploy=CANARY), actor="alice")
    _week(services, incoming, 1)
    assert _experiments(services) == []  # the first version serves alone: nothing to compare

    _week(services, incoming, 2)

    experiment = services.experiments.get("churn")
    assert experiment.running and experiment.design.goal == "accuracy"
    assert experiment.design.ramp.steps == (0.2, 0.5, 1.0) and experiment.created_by == "alice"
    run = services.pipelines.list_runs("churn-retrain")[0]
    deployed = run.step("deploy")
    assert deployed is not None
    assert deployed.outputs["experiment"] == {
        "id": experiment.id, "goal": "accuracy", "method": "sequential", "automation": "auto",
    }  # fmt: skip
    assert experiment.since_config == services.endpoints.get("churn").config_version
    with read(services.engine) as conn:
        started = audit.list_audit(conn, action="experiment.start", limit=1)[0]
    assert started.reason.startswith(f"pipeline churn-retrain run {run.id}: experiment on")
    assert started.details["model"] == "churn"
    assert started.details["versions"] == {"champion": "churn/1", "challenger": "churn/2"}

    # The process dies after the deployment committed, before the run recorded it: resuming
    # runs the step again, which finds the configuration and the experiment and adds nothing.
    history = services.endpoints.history("churn")
    with write(services.engine) as conn:
        conn.execute(pipeline_runs.update().where(pipeline_runs.c.id == run.id)
                     .values(status="failed"))  # fmt: skip
        conn.execute(pipeline_steps.update().where(
            (pipeline_steps.c.run_id == run.id) & (pipeline_steps.c.step == "deploy")
        ).values(status="failed"))  # fmt: skip
    resumed = services.pipelines.resume("churn-retrain", run.id, actor="bob")
    assert resumed.status == "succeeded"
    assert services.endpoints.history("churn") == history
    assert _experiments(services) == [(experiment.id, "running")]

    # The rollout controller drives it: a first look ramps the canary from 20 % to 50 %.
    controller = RolloutController(services.engine, services.experiments, services.rollout)
    try:
        looks = controller.tick()
    finally:
        controller.close()
    assert [(look.endpoint, look.outcome, look.decision.share) for look in looks] == [
        ("churn", "acted", 0.5)
    ]
    assert services.endpoints.get("churn").params["share"] == 0.5


def test_one_rollout_at_a_time(services: Services, tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    services.pipelines.apply(spec(incoming, deploy=CANARY), actor="alice")
    _week(services, incoming, 1)
    _week(services, incoming, 2)
    history = services.endpoints.history("churn")
    write_batch(incoming, "week-3.csv", customers(150, seed=3))

    third = services.pipelines.run("churn-retrain", reason="week 3", actor="alice")

    assert third.status == "failed" and third.version == 3
    assert third.error is not None and "has a running experiment" in third.error
    assert "churn/3 goes out once it is promoted or rolled back" in third.error
    assert services.endpoints.history("churn") == history
    running = services.experiments.get("churn")
    services.rollout.rollback(running, actor="bob", reason="not convinced")
    resumed = services.pipelines.resume("churn-retrain", third.id, actor="bob")
    assert resumed.status == "succeeded"
    assert services.endpoints.get("churn").params["challenger"] == "churn/3"
    assert [status for _, status in _experiments(services)] == ["rolled_back", "running"]


@pytest.mark.parametrize(
    ("deploy", "message"),
    [
        ({"endpoint": "e", "policy": "shadow", "experiment": DESIGN}, "nothing to ramp or promote"),
        (
            {"endpoint": "e", "policy": "interleave", "experiment": DESIGN},
            "use goal 'interleaving'",
        ),
        ({"endpoint": "e", "experiment": {"goal": "clicks"}}, "deploy.experiment.goal"),
    ],
)
def test_an_experiment_that_cannot_fit_the_deployment_is_refused(
    tmp_path: Path, deploy: dict[str, object], message: str
) -> None:
    from champion.automation import PipelineSpec

    raw = spec(tmp_path, deploy={"endpoint": "e"}).to_json() | {"deploy": deploy}
    with pytest.raises(InvalidInput, match=message):
        PipelineSpec.parse(raw)


def test_a_deploy_never_replaces_a_pipeline_endpoint(services: Services, tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    services.pipelines.apply(spec(incoming, deploy=CANARY), actor="alice")
    _week(services, incoming, 1)
    stages = {"stages": [{"name": "churn", "model": "churn@champion"}]}
    services.endpoints.set("churn", "stages", stages, actor="alice")
    write_batch(incoming, "week-2.csv", customers(150, seed=2))
    run = services.pipelines.run("churn-retrain", reason="week 2", actor="alice")
    assert run.status == "failed"
    assert run.error is not None and "is a pipeline endpoint (stages churn)" in run.error
    assert "name the stage to deploy into with deploy.stage" in run.error
    assert services.endpoints.get("churn").params == stages


def test_a_compiled_candidate_is_the_one_deployed(services: Services, tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    services.pipelines.apply(spec(incoming, compile=True), actor="alice")
    write_batch(incoming, "week-1.csv", customers(200, seed=1))
    run = services.pipelines.run("churn-retrain", reason="week 1", actor="alice")
    assert run.status == "succeeded", run.error
    # The scikit-learn candidate is churn/1; compiled and verified on the holdout, churn/2.
    assert run.version == 2
    registered = run.step("register")
    assert registered is not None
    compiled = registered.outputs["compiled"]
    assert compiled["from"] == 1 and compiled["compiled"] is True
    assert compiled["max_difference"] <= 1e-5
    assert "rows" in compiled["reason"]
    version = services.registry.resolve("churn@champion")
    assert (version.number, version.flavor) == (2, "onnx")
    derived = version.lineage["derived_from"]
    assert derived["version"] == "churn/1" and derived["rows"] == 60  # the 30 % holdout
    assert version.lineage["pipeline"] == "churn-retrain"
