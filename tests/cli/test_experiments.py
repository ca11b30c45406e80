"""champion experiment show|set|plan|approve|promote|rollback, as a user types them."""

from __future__ import annotations

from fastapi.testclient import TestClient

from champion.services import Services
from champion.settings import Settings
from tests.api.test_experiments import _canary, _second_version, _serve
from tests.cli.conftest import CommandLine, Result
from tests.conftest import ModelFolders, churn_canary


def _run(champion: CommandLine, *args: str) -> tuple[int, str, str]:
    result: Result = champion(*args)
    return result.returncode, result.text, result.stderr


def test_experiment_commands(
    services: Services,
    settings: Settings,
    model_folder: ModelFolders,
    champion: CommandLine,
) -> None:
    churn_canary(services, model_folder, 0.05)
    for args, message in [
        (("--goal", "ctx"), "experiment.goal: Value error, unknown metric"),
        (("--goal", "ctr", "--guardrail", "latency"), "--guardrail 'latency': write metric="),
        (("--goal", "ctr", "--ramp", "1%,five"), "--ramp '1%,five': write the canary shares"),
        (("--goal", "ctr", "--alpha", "2"), "experiment.alpha: Input should be less than"),
    ]:
        code, _, err = _run(champion, "experiment", "set", "churn", *args)
        assert code == 2 and message in err, (args, err)
    code, _, err = _run(champion, "experiment", "set", "nope", "--goal", "ctr")
    assert code == 2 and "Unknown endpoint 'nope'" in err and "Traceback" not in err
    code, out, err = _run(
        champion,
        "experiment",
        "set",
        "churn",
        "--goal",
        "click_rate",
        "--guardrail",
        "error_rate=0.02",
        "--guardrail",
        "latency_ms=50%",
        "--automation",
        "approve",
        "--ramp",
        "5%,20%,100%",
        "--step-minutes",
        "30",
        "--reason",
        "v2 is ready",
    )
    assert code == 0, err
    assert "churn: experiment 1 running (canary, share 5%" in out
    assert "Tests" in out and "Decision: continue (action: hold)" in out
    experiment = services.experiments.get("churn")
    assert experiment.design.ramp.steps == (0.05, 0.2, 1.0)
    assert experiment.design.ramp.min_seconds == 1800
    guardrails = experiment.design.guardrails or ()
    assert [(g.metric, g.tolerance, g.relative) for g in guardrails] == [
        ("error_rate", 0.02, False),
        ("latency_ms", 0.5, True),
    ]
    code, _, err = _run(champion, "experiment", "approve", "churn")
    assert code == 2 and "has nothing waiting for approval" in err
    code, out, err = _run(champion, "experiment", "promote", "churn")
    assert code == 0 and "experiment 1 promoted" in out, err
    assert services.registry.resolve("churn@champion").number == 2
    code, out, err = _run(champion, "experiment", "rollback", "churn")
    assert code == 0 and "rolled_back" in out, err
    assert services.registry.resolve("churn@champion").number == 1
    code, out, _ = _run(champion, "experiment", "show", "churn")
    assert code == 0 and "Decision: rollback" in out


def test_experiment_plan(
    services: Services, model_folder: ModelFolders, champion: CommandLine
) -> None:
    churn_canary(services, model_folder, 0.5)
    code, _, err = _run(champion, "experiment", "plan", "churn", "--goal", "ctr", "--mde", "x")
    assert code == 2 and "--mde 'x': write the smallest change" in err
    code, _, err = _run(
        champion, "experiment", "plan", "churn", "--goal", "click_rate", "--mde", "5%"
    )
    assert code == 2 and "has no click_rate history" in err


def test_experiment_plan_prints_the_units_and_days(
    served: Services, client: TestClient, model_folder: ModelFolders, champion: CommandLine
) -> None:
    _second_version(served, model_folder)
    _canary(client, "churn@champion", "churn@challenger", 0.5)
    ids = _serve(client, 40)
    clicks = [{"request_id": i, "kind": "click"} for i in ids[::4]]
    assert client.post("/v1/feedback/batch", json={"events": clicks}).is_success
    code, out, err = _run(
        champion, "experiment", "plan", "churn", "--goal", "click_rate", "--mde", "40%"
    )
    assert code == 0, err
    assert "plan for goal click_rate (baseline 0.25), method sequential, change 0.1" in out
    assert "error_rate within 0.01" in out and "Needed:" in out and "units per arm" in out


def test_experiment_set_takes_cuped_and_the_chance_to_win(
    services: Services, model_folder: ModelFolders, champion: CommandLine
) -> None:
    churn_canary(services, model_folder, 0.5)
    base = ("experiment", "set", "churn", "--goal", "click_rate")
    code, _, err = _run(champion, *base, "--cuped-days", "7", "--method", "welch")
    assert code == 2 and "experiment.cuped: CUPED adjusts an event metric" in err
    code, _, err = _run(champion, *base, "--cuped-days", "7")
    assert code == 0, err
    design = services.experiments.get("churn").design
    assert (design.cuped, design.cuped_days) == (True, 7.0)
    code, _, err = _run(champion, *base, "--method", "bayesian", "--chance-to-win", "0.9")
    assert code == 0, err
    assert services.experiments.get("churn").design.chance_to_win == 0.9
    code, _, err = _run(champion, *base, "--method", "bayesian", "--chance-to-win", "1")
    assert code == 2 and "experiment.chance_to_win: Input should be less than 1" in err
