"""champion endpoints list|show|rm as a user types them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from champion.cli import common
from tests.cli.conftest import CommandLine
from tests.conftest import ModelFolders


def _two_endpoints(champion: CommandLine, model_folder: ModelFolders) -> None:
    folder = str(model_folder("constant"))
    for _ in range(2):
        assert champion("models", "register", folder, "--model", "churn").returncode == 0
    assert champion("alias", "set", "churn", "champion", "1").returncode == 0
    assert champion("alias", "set", "churn", "challenger", "2").returncode == 0
    canary = ("--param", "champion=churn@champion", "--param", "challenger=churn@challenger")
    result = champion(
        "endpoints", "set", "churn", "--policy", "canary", *canary, "--param", "share=0.25"
    )
    assert result.returncode == 0, result.stderr
    assert champion("endpoints", "set", "spare", "--version", "churn/2").returncode == 0


def test_list_show_and_show_json(
    champion: CommandLine, model_folder: ModelFolders, monkeypatch: pytest.MonkeyPatch
) -> None:
    _two_endpoints(champion, model_folder)
    monkeypatch.setattr(common.console, "width", 70)  # a narrow terminal
    listed = champion("endpoints", "list")
    assert listed.returncode == 0, listed.stderr
    assert "spare" in listed.stdout and "canary" in listed.stdout
    # Parameters fold onto more lines; none is cut with an ellipsis.
    assert "…" not in listed.stdout
    params = "".join(
        line.split("│")[3].strip() for line in listed.stdout.splitlines() if "│" in line
    )
    assert '{"challenger":"churn@challenger","champion":"churn@champion","share":0.25}' in params

    shown = champion("endpoints", "show", "churn")
    assert "churn@champion resolves to churn/1" in shown.stdout
    assert "churn@challenger resolves to churn/2" in shown.stdout

    as_json = champion("endpoints", "show", "churn", "--json")
    assert as_json.returncode == 0, as_json.stderr
    body = json.loads(as_json.stdout)
    assert body["policy"] == "canary" and body["params"]["share"] == 0.25
    assert body["resolves"] == {"churn@champion": "churn/1", "churn@challenger": "churn/2"}
    assert [c["config_version"] for c in body["history"]] == [1]
    assert body["history"][0]["updated_by"] == "cli-user"

    missing = champion("endpoints", "show")
    assert missing.returncode == 2 and "Missing argument" in missing.stderr


def test_rm_is_audited_and_refused_while_an_experiment_runs(
    champion: CommandLine, model_folder: ModelFolders
) -> None:
    _two_endpoints(champion, model_folder)
    started = champion("experiment", "set", "churn", "--goal", "click_rate")
    assert started.returncode == 0, started.stderr
    refused = champion("endpoints", "rm", "churn")
    assert refused.returncode == 2
    assert "Endpoint 'churn' has a running experiment" in refused.stderr
    assert "champion experiment promote|rollback churn" in refused.stderr
    listed = champion("experiment", "list")
    assert "churn" in listed.stdout and "running" in listed.stdout

    removed = champion("endpoints", "rm", "spare", "--reason", "unused")
    assert removed.returncode == 0, removed.stderr
    assert "Removed endpoint spare (single, configuration 1)." in removed.text
    assert "spare" not in champion("endpoints", "list").stdout
    audit = champion("audit", "--endpoint", "spare", "--full")
    assert "endpoint.remove" in audit.stdout and "unused" in audit.stdout
    again = champion("endpoints", "rm", "spare")
    assert again.returncode == 2 and "Unknown endpoint 'spare'" in again.stderr

    # Created again under its name, it goes on from its last configuration number.
    assert champion("endpoints", "set", "spare", "--version", "churn/1").returncode == 0
    body = json.loads(champion("endpoints", "show", "spare", "--json").stdout)
    assert body["config_version"] == 2


def test_a_pipeline_endpoint_is_set_from_a_stages_file_and_shown_per_stage(
    champion: CommandLine, model_folder: ModelFolders, tmp_path: Path
) -> None:
    for model in ("risk", "offer"):
        registered = champion("models", "register", str(model_folder(model)), "--model", model)
        assert registered.returncode == 0, registered.stderr
        assert champion("alias", "set", model, "champion", "1").returncode == 0
    stages = tmp_path / "stages.yaml"
    stages.write_text(
        "stages:\n"
        "  - {name: risk, model: risk@champion}\n"
        "  - name: offer\n"
        "    model: offer@champion\n"
        "    inputs: {risk: risk.risk, contract: request.contract}\n"
    )
    result = champion("endpoints", "set", "churn", "--stages", str(stages))
    assert result.returncode == 0, result.stderr
    assert "churn" in result.text and "stages" in result.text
    shown = champion("endpoints", "stages", "churn")
    assert shown.returncode == 0, shown.stderr
    rows = [line.split("│")[1].strip() for line in shown.stdout.splitlines() if "│" in line]
    assert [row for row in rows if row != "stage"] == ["risk", "offer"]
    stages.write_text(
        "- {name: risk, model: risk@champion}\n"
        "- {name: offer, model: offer@champion,\n"
        "   inputs: {risk: risk.score, contract: request.contract}}\n"
    )
    refused = champion("endpoints", "set", "churn", "--stages", str(stages))
    assert refused.returncode == 2
    assert "Stage 'offer'" in refused.stderr and "no output 'score'" in refused.stderr


def test_batching_is_set_kept_by_later_changes_turned_off_and_checked(
    champion: CommandLine, model_folder: ModelFolders
) -> None:
    _two_endpoints(champion, model_folder)
    on = ("--max-batch-size", "16", "--max-batch-wait-ms", "2")
    result = champion("endpoints", "set", "spare", "--version", "churn/2", *on)
    assert result.returncode == 0, result.stderr
    assert "batching up to 16 rows or 2 ms" in result.stdout

    def batching() -> object:
        return json.loads(champion("endpoints", "show", "spare", "--json").stdout)["batching"]

    assert batching() == {"max_batch_size": 16, "max_batch_wait_ms": 2.0}
    assert champion("endpoints", "set", "spare", "--version", "churn/1").returncode == 0
    assert batching() == {"max_batch_size": 16, "max_batch_wait_ms": 2.0}
    assert (
        champion("endpoints", "set", "spare", "--version", "churn/1", "--no-batching").returncode
        == 0
    )
    assert batching() is None

    for args, message in [
        (("--max-batch-size", "0", "--max-batch-wait-ms", "2"), "batching.max_batch_size"),
        (("--max-batch-size", "8", "--max-batch-wait-ms", "2000"), "batching.max_batch_wait_ms"),
        (("--max-batch-size", "8"), "add --max-batch-wait-ms"),
        (("--no-batching", "--max-batch-size", "8"), "--no-batching takes neither"),
    ]:
        refused = champion("endpoints", "set", "spare", "--version", "churn/1", *args)
        assert refused.returncode == 2 and message in refused.stderr, (args, refused.stderr)
    assert batching() is None
