"""champion experiment show lists a canary's ramp steps, each with its own split check."""

from __future__ import annotations

from champion.services import Services
from tests.cli.conftest import CommandLine, Result
from tests.conftest import ModelFolders, churn_canary


def test_show_lists_the_ramp_steps(
    services: Services, model_folder: ModelFolders, champion: CommandLine
) -> None:
    churn_canary(services, model_folder, 0.05)
    body = {"goal": "click_rate", "ramp": {"steps": [0.05, 0.2, 1.0]}}
    experiment = services.experiments.set("churn", body, actor="t")
    services.rollout.ramp(experiment, 0.2, actor="t", reason="step up")
    result: Result = champion("experiment", "show", "churn")
    assert result.returncode == 0, result.stderr
    out = " ".join(result.text.split())
    assert "Arms in step 2 (earlier steps are not pooled)" in out
    assert "Steps" in out and "5%" in out and "20%" in out
    assert "2 (last before 100 %)" in out and "no data" in out
