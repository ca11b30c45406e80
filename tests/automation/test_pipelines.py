from __future__ import annotations

from pathlib import Path

import pytest

from champion import audit
from champion.automation import Run
from champion.db import read
from champion.errors import Conflict
from champion.services import Services
from tests.automation.trainers import customers, spec, write_batch


def _steps(run: Run) -> dict[str, str]:
    return {s.step: s.status for s in run.steps}


def test_first_run_serves_the_model_and_the_next_goes_out_as_a_canary(
    services: Services, tmp_path: Path
) -> None:
    incoming = tmp_path / "incoming"
    write_batch(incoming, "initial.csv", customers(300, seed=1))
    services.pipelines.apply(spec(incoming), actor="alice", reason="retrain churn weekly")

    first = services.pipelines.run("churn-retrain", reason="first model", actor="alice")

    assert first.status == "succeeded", first.error
    assert first.version == 1 and set(_steps(first).values()) == {"succeeded"}
    assert services.registry.resolve("churn@champion").number == 1
    endpoint = services.endpoints.get("churn")
    assert (endpoint.policy, endpoint.params) == ("single", {"version": "churn@champion"})

    write_batch(incoming, "week-2.csv", customers(300, seed=2))
    second = services.pipelines.run("churn-retrain", reason="new week", actor="alice")

    assert second.status == "succeeded", second.error
    assert second.version == 2
    endpoint = services.endpoints.get("churn")
    assert endpoint.policy == "canary"
    assert endpoint.params == {"champion": "churn@champion", "challenger": "churn/2", "share": 0.2}
    gate = second.step("gate")
    assert gate is not None and gate.outputs["passed"] is True
    paired = gate.outputs["results"][1]
    assert paired["test"] == "paired_bootstrap[auc]" and 0 <= paired["p_value"] <= 1
    lineage = services.registry.get_version("churn", 2).lineage
    ingested = services.ingestion.files("customers")
    assert lineage["datasets"] == [f.sha256 for f in ingested]
    assert (lineage["pipeline"], lineage["pipeline_run"]) == ("churn-retrain", second.id)
    assert lineage["params"]["C"] == 1.0 and lineage["params"]["holdout"]["share"] == 0.3
    assert set(lineage["metrics"]) == {"auc", "log_loss"}
    assert "scikit-learn" in lineage["packages"] and "python" in lineage["packages"]
    assert lineage["code_version"].startswith("tests.automation.trainers:train_logistic (sha256 ")
    assert lineage["data"]["rows"] == 420  # 600 rows less the 30 % holdout
    with read(services.engine) as conn:
        actions = [r.action for r in reversed(audit.list_audit(conn, limit=100))]
    assert actions == [
        "pipeline.apply",
        "pipeline.run.queue", "data.ingest", "model.create", "version.register",
        "reference.set", "alias.set", "endpoint.configure", "pipeline.run.succeeded",
        "pipeline.run.queue", "data.ingest", "version.register", "reference.set",
        "endpoint.configure", "pipeline.run.succeeded",
    ]  # fmt: skip
    # Each version's reference is its training rows: the second file was checked against
    # churn/1's, and the next ones will be against churn/2's once it is the champion.
    assert services.references.get(services.registry.resolve("churn/2").key).rows == 420
    week_2 = ingested[1].quality or {}
    assert week_2["reference"] == "churn/1" and week_2["quarantined"] == {}


def test_running_again_on_the_same_data_registers_nothing(
    services: Services, tmp_path: Path
) -> None:
    incoming = tmp_path / "incoming"
    write_batch(incoming, "initial.csv", customers(200, seed=1))
    services.pipelines.apply(spec(incoming), actor="alice")
    assert services.pipelines.run("churn-retrain", reason="", actor="alice").version == 1

    again = services.pipelines.run("churn-retrain", reason="again", actor="alice")

    assert again.status == "skipped"
    assert "same data and pipeline as run" in (again.summary["outcome"])
    assert services.registry.get_model("churn").version_count == 1
    assert _steps(again) == {"ingest": "succeeded", "validate": "succeeded"}


def test_a_gate_that_refuses_leaves_the_endpoint_as_it_was(
    services: Services, tmp_path: Path
) -> None:
    incoming = tmp_path / "incoming"
    write_batch(incoming, "initial.csv", customers(200, seed=1))
    services.pipelines.apply(spec(incoming), actor="alice")
    services.pipelines.run("churn-retrain", reason="", actor="alice")
    before = services.endpoints.history("churn")
    strict = spec(incoming, gates=[{"metric": "auc", "at_least": 0.999}])
    services.pipelines.apply(strict, actor="alice", reason="demand perfection")
    write_batch(incoming, "week-2.csv", customers(200, seed=2))

    refused = services.pipelines.run("churn-retrain", reason="", actor="alice")

    assert refused.status == "rejected"
    assert "the gates refused the candidate: auc = 0." in refused.summary["outcome"]
    assert services.endpoints.history("churn") == before
    assert services.registry.get_model("churn").version_count == 1
    again = services.pipelines.run("churn-retrain", reason="", actor="alice")
    assert again.status == "skipped" and "(rejected)" in again.summary["outcome"]


def test_approval_lets_the_run_register_and_deploy(services: Services, tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    write_batch(incoming, "initial.csv", customers(200, seed=1))
    services.pipelines.apply(spec(incoming, automation="approve"), actor="alice")

    waiting = services.pipelines.run("churn-retrain", reason="", actor="scheduler")

    assert waiting.status == "awaiting_approval"
    assert "register" not in _steps(waiting)
    with pytest.raises(Conflict, match="not queued"):
        services.pipelines.execute(waiting.id)
    approved = services.pipelines.approve("churn-retrain", waiting.id, actor="bob", reason="ok")
    assert approved.status == "queued" and approved.summary["approved_by"] == "bob"
    with pytest.raises(Conflict, match="is queued, not awaiting_approval"):
        services.pipelines.approve("churn-retrain", waiting.id, actor="bob")

    done = services.pipelines.execute(waiting.id)

    assert done.status == "succeeded" and done.version == 1
    assert services.registry.get_version("churn", 1).created_by == "bob"
    history = services.endpoints.history("churn")
    assert "approved by bob" in history[-1].reason


def test_manual_automation_only_proposes(services: Services, tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    write_batch(incoming, "initial.csv", customers(200, seed=1))
    services.pipelines.apply(spec(incoming, automation="manual"), actor="alice")

    proposed = services.pipelines.run("churn-retrain", reason="", actor="alice")

    assert proposed.status == "proposed"
    assert "automation is manual" in proposed.summary["outcome"]
    with pytest.raises(Conflict, match="not awaiting_approval"):
        services.pipelines.approve("churn-retrain", proposed.id, actor="bob")
    assert services.registry.list_models() == []
