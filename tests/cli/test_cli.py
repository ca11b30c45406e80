from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from champion.settings import Settings
from tests.cli.conftest import CommandLine
from tests.conftest import ModelFolders


def run_installed(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m champion ARGS`` in its own process: the real executable."""
    env = dict(os.environ, CHAMPION_HOME=str(settings.home), CHAMPION_ACTOR="cli-user")
    if settings.database_url:
        env["CHAMPION_DATABASE_URL"] = settings.database_url
    return subprocess.run(
        [sys.executable, "-m", "champion", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


# The database plays no part in what this checks: SQLite only, to keep the suite short.
@pytest.mark.parametrize("database_url", [None], ids=["sqlite"])
@pytest.mark.slow(seconds=4)
def test_the_installed_command_runs_and_exits_2_on_user_errors(settings: Settings) -> None:
    assert run_installed(settings, "models", "list").returncode == 0
    for args, message in [
        (("bogus",), "No such command"),
        (("models", "show", "nope"), "Unknown model 'nope'"),
    ]:
        result = run_installed(settings, *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr


def test_register_alias_and_endpoint_from_the_command_line(
    champion: CommandLine, model_folder: ModelFolders
) -> None:
    folder = str(model_folder("constant"))
    result = champion("models", "register", folder, "--model", "churn", "--alias", "champion")
    assert result.returncode == 0, result.stderr
    assert "Registered churn/1 (champion)" in result.stdout
    assert champion("models", "register", folder, "--model", "churn").returncode == 0
    assert champion("alias", "set", "churn", "champion", "2", "--reason", "better").returncode == 0
    result = champion("endpoints", "set", "churn", "--version", "churn@champion")
    assert result.returncode == 0, result.stderr
    shown = champion("endpoints", "show", "churn")
    assert "churn@champion resolves to churn/2" in shown.stdout
    listed = champion("models", "list")
    assert "churn" in listed.stdout and "champion→2" in listed.stdout


def test_blue_green_switch_from_the_command_line(
    champion: CommandLine, model_folder: ModelFolders
) -> None:
    folder = str(model_folder("constant"))
    for _ in range(2):
        assert champion("models", "register", folder, "--model", "churn").returncode == 0
    result = champion(
        "endpoints",
        "set",
        "churn",
        "--policy",
        "blue_green",
        "--param",
        "blue=churn/1",
        "--param",
        "green=churn/2",
    )
    assert result.returncode == 0, result.stderr
    result = champion("endpoints", "switch", "churn", "--reason", "release")
    assert result.returncode == 0, result.stderr
    assert "now serves green: churn/2 (configuration 2)" in result.stdout
    shown = champion("endpoints", "show", "churn").stdout
    assert "release" in shown


def test_user_errors_exit_2_with_one_line_and_no_traceback(
    champion: CommandLine, tmp_path: Path
) -> None:
    cases = [
        (("models", "show", "nope"), "Unknown model 'nope'"),
        (("models", "register", str(tmp_path / "missing")), "does not exist"),
        (("alias", "set", "churn", "bad name!", "1"), "Invalid alias name 'bad name!'"),
        (("endpoints", "set", "e", "--version", "recs"), "Invalid version reference 'recs'"),
        (("endpoints", "set", "e", "--policy", "canry"), "Unknown policy 'canry'"),
        (("bogus",), "No such command"),
        (("endpoints", "switch", "nope"), "Unknown endpoint 'nope'"),
        (
            ("endpoints", "set", "e", "--policy", "canary", "--param", "share=2"),
            "params.champion: Field required",
        ),
    ]
    for args, message in cases:
        result = champion(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


# The database plays no part in what this checks: SQLite only, to keep the suite short.
@pytest.mark.parametrize("database_url", [None], ids=["sqlite"])
@pytest.mark.slow(seconds=4)
def test_predict_and_rank_against_a_running_server(
    settings: Settings, champion: CommandLine, model_folder: ModelFolders
) -> None:
    from champion.server_process import ServerProcess

    for folder, model in (("constant", "churn"), ("echo_ranker", "recs")):
        champion("models", "register", str(model_folder(folder)), "--model", model)
        champion("endpoints", "set", model, "--version", f"{model}/1")
    server = ServerProcess(settings.home, settings.database_url)
    server.start()
    try:
        row = '{"tenure": 3, "charges": null, "contract": "x"}'
        result = champion(
            "predict", "churn", "--unit", "u1", "--instances", row, "--url", server.url
        )
        assert result.returncode == 0, result.stderr
        assert '"score": 0.25' in result.stdout and '"request_id"' in result.stdout
        result = champion("predict", "recs", "--rank", "--k", "2", "--url", server.url)
        assert result.returncode == 0 and '"item": "b"' in result.stdout
        result = champion("predict", "churn", "--instances", '{"tenure": "3"}', "--url", server.url)
        assert result.returncode == 2
        assert "instances[0].tenure: Input should be a valid integer" in result.stderr
        # The wrong kind of call names the command-line fix, not the HTTP route.
        result = champion("predict", "churn", "--rank", "--url", server.url)
        assert result.returncode == 2
        assert result.stderr == (
            "error: Endpoint 'churn' serves a classifier: drop --rank and give --instances: "
            "champion predict churn --instances ROWS.\n"
        )
        result = champion("predict", "recs", "--instances", "{}", "--url", server.url)
        assert result.returncode == 2
        assert "serves a ranker: add --rank: champion predict recs --rank" in result.stderr
        assert "/v1/" not in result.stderr
    finally:
        server.stop()
    result = champion("predict", "churn", "--instances", row, "--url", server.url)
    assert result.returncode == 1 and "Cannot reach the server" in result.stderr
