from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from champion.cli.main import main
from champion.settings import Settings
from tests.conftest import ModelFolders
from tests.drift.traffic import customers


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def champion(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> object:
    """The command line, in this process (a subprocess costs seconds of imports per call)."""
    monkeypatch.setenv("CHAMPION_HOME", str(settings.home))
    monkeypatch.setenv("CHAMPION_ACTOR", "cli-user")
    monkeypatch.setenv("COLUMNS", "200")
    if settings.database_url:
        monkeypatch.setenv("CHAMPION_DATABASE_URL", settings.database_url)
    else:
        monkeypatch.delenv("CHAMPION_DATABASE_URL", raising=False)

    def run(*args: str) -> Result:
        monkeypatch.setattr(sys, "argv", ["champion", *args])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return run


def test_reference_compare_and_report_from_the_command_line(
    champion: Any, model_folder: ModelFolders, tmp_path: Path
) -> None:
    folder = str(model_folder("scorer"))
    assert champion("models", "register", folder, "--model", "churn").returncode == 0
    customers(2000, seed=1).to_csv(tmp_path / "train.csv", index=False)
    customers(800, seed=2, shift=1.0).to_parquet(tmp_path / "live.parquet")
    result = champion("drift", "reference", "churn/1", str(tmp_path / "train.csv"))
    assert result.returncode == 0, result.stderr
    assert "Stored the reference of churn/1 (2,000 rows)" in result.stdout
    again = champion("drift", "reference", "churn/1", str(tmp_path / "train.csv"))
    assert again.returncode == 2 and "already has a reference profile" in again.stderr
    compared = champion("drift", "compare", "churn/1", str(tmp_path / "live.parquet"), "--json")
    assert compared.returncode == 0, compared.stderr
    body = json.loads(compared.stdout)
    assert body["rows"] == 800 and {"tenure", "contract"} <= set(body["drifted_columns"])
    out = tmp_path / "out" / "report.html"
    report = champion(
        "drift", "report", "--data", str(tmp_path / "live.parquet"),
        "--version", "churn@latest", "--out", str(out),
    )  # fmt: skip
    assert report.returncode == 2 and "Unknown alias 'latest'" in report.stderr
    report = champion(
        "drift", "report", "--data", str(tmp_path / "live.parquet"),
        "--version", "churn/1", "--out", str(out),
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert out.is_file() and out.with_suffix(".json").is_file()
    assert "columns drifted. Report:" in report.stdout


def test_alert_rules_from_the_command_line(champion: Any) -> None:
    result = champion(
        "alerts", "set", "drifting", "--endpoint", "churn", "--metric", "drift_share",
        "--above", "0.25", "--window", "2h", "--webhook", "http://127.0.0.1:9/hook",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "drift_share above 0.25 on churn" in " ".join(result.stdout.split())
    listed = champion("alerts", "rules")
    assert "drifting" in listed.stdout and "webhook" in listed.stdout
    wrong = champion("alerts", "set", "x", "--endpoint", "churn", "--metric", "drift_share")
    assert wrong.returncode == 2 and "exactly one of --above and --below" in wrong.stderr
    assert champion("alerts", "evaluate").stdout.strip() == "No alert opened or resolved."
    assert champion("alerts", "rm", "drifting").returncode == 0
    assert "Unknown alert rule 'drifting'" in champion("alerts", "show", "drifting").stderr
