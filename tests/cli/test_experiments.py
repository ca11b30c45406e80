"""champion experiment show|set|approve|promote|rollback, as a user types them."""

from __future__ import annotations

import sys

import pytest

from champion.cli.main import main
from champion.services import Services
from champion.settings import Settings
from tests.conftest import ModelFolders


def _run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """The installed entry point, ``main()``, in this process (a subprocess per command would
    take seconds; tests/cli/test_cli.py runs the command itself)."""
    monkeypatch.setattr(sys, "argv", ["champion", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, " ".join(out.split()), err


def test_experiment_commands(
    services: Services,
    settings: Settings,
    model_folder: ModelFolders,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CHAMPION_HOME", str(settings.home))
    monkeypatch.setenv("CHAMPION_ACTOR", "cli-user")
    if settings.database_url:
        monkeypatch.setenv("CHAMPION_DATABASE_URL", settings.database_url)
    for alias in ("champion", "challenger"):
        services.registry.register(
            model_folder("constant"), model="churn", actor="t", aliases_to_set=(alias,)
        )
    params = {"champion": "churn@champion", "challenger": "churn@challenger", "share": 0.05}
    services.endpoints.set("churn", "canary", params, actor="t")
    for args, message in [
        (("--goal", "ctx"), "experiment.goal: Value error, unknown metric"),
        (("--goal", "ctr", "--guardrail", "latency"), "--guardrail 'latency': write metric="),
        (("--goal", "ctr", "--ramp", "1%,five"), "--ramp '1%,five': write the canary shares"),
        (("--goal", "ctr", "--alpha", "2"), "experiment.alpha: Input should be less than"),
    ]:
        code, _, err = _run(monkeypatch, capsys, "experiment", "set", "churn", *args)
        assert code == 2 and message in err, (args, err)
    code, _, err = _run(monkeypatch, capsys, "experiment", "set", "nope", "--goal", "ctr")
    assert code == 2 and "Unknown endpoint 'nope'" in err and "Traceback" not in err
    code, out, err = _run(
        monkeypatch,
        capsys,
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
    code, _, err = _run(monkeypatch, capsys, "experiment", "approve", "churn")
    assert code == 2 and "has nothing waiting for approval" in err
    code, out, err = _run(monkeypatch, capsys, "experiment", "promote", "churn")
    assert code == 0 and "experiment 1 promoted" in out, err
    assert services.registry.resolve("churn@champion").number == 2
    code, out, err = _run(monkeypatch, capsys, "experiment", "rollback", "churn")
    assert code == 0 and "rolled_back" in out, err
    assert services.registry.resolve("churn@champion").number == 1
    code, out, _ = _run(monkeypatch, capsys, "experiment", "show", "churn")
    assert code == 0 and "Decision: rollback" in out
