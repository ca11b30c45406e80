"""champion models register and rm: confined paths, code as the local user, deletion."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli.conftest import CommandLine
from tests.conftest import ModelFolders
from tests.registry.cases import CASES, Case, outside
from tests.registry.folders import sklearn_folder
from tests.registry.mlflow_models import save_pyfunc
from tests.registry.tabular import churn_frame


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_register_refuses_a_manifest_path_outside_the_folder(
    case: Case, champion: CommandLine, tmp_path: Path
) -> None:
    folder = case.build(tmp_path, outside(tmp_path))
    result = champion("models", "register", str(folder), "--model", "churn")
    assert result.returncode == 2, result.stdout
    assert re.search(case.message, " ".join(result.stderr.split())), result.stderr
    assert "Traceback" not in result.stderr
    assert "Unknown model 'churn'" in champion("models", "show", "churn").stderr


def test_register_takes_code_on_the_servers_machine(
    champion: CommandLine, model_folder: ModelFolders, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHAMPION_ALLOW_CODE_UPLOADS", raising=False)
    result = champion("models", "register", str(model_folder("constant")), "--model", "churn")
    assert result.returncode == 0, result.stderr
    assert "Registered churn/1" in result.stdout


@pytest.mark.parametrize("database_url", [None], ids=["sqlite"])  # see test_mlflow_flavor
def test_register_takes_an_mlflow_folder_behind_the_trust_flag(
    champion: CommandLine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame, _ = churn_frame(50)
    folder = str(save_pyfunc(tmp_path / "score", frame))
    monkeypatch.delenv("CHAMPION_TRUST_PICKLE", raising=False)
    refused = champion("models", "register", folder, "--model", "score")
    assert refused.returncode == 2, refused.stdout
    assert "CHAMPION_TRUST_PICKLE=true" in " ".join(refused.stderr.split())
    monkeypatch.setenv("CHAMPION_TRUST_PICKLE", "true")
    result = champion("models", "register", folder, "--model", "score")
    assert result.returncode == 0, result.stderr
    assert "Registered score/1" in result.stdout


def test_rm_deletes_an_unused_version_and_refuses_one_in_use(
    champion: CommandLine, tmp_path: Path
) -> None:
    for name in ("a", "b"):
        folder = str(sklearn_folder(tmp_path / name))
        assert champion("models", "register", folder, "--model", "churn").returncode == 0
    assert champion("alias", "set", "churn", "champion", "1").returncode == 0
    result = champion("models", "rm", "churn", "2", "--reason", "never deployed")
    assert result.returncode == 0, result.stderr
    assert re.search(r"Deleted churn/2: 2 files, [\d,]+ bytes\.", result.text)
    cases = [
        (("models", "rm", "churn/1"), "churn@champion points at it"),
        (("models", "rm", "churn", "2"), "Unknown version churn/2 (deleted"),
        (("models", "rm", "churn@champion"), "Delete names a version by number"),
    ]
    for args, message in cases:
        refused = champion(*args)
        assert refused.returncode == 2, (args, refused.stdout)
        assert message in " ".join(refused.stderr.split()), (args, refused.stderr)
    assert "version.delete" in champion("audit", "--model", "churn").text


def test_show_prints_the_newest_versions_unless_told_otherwise(
    champion: CommandLine, model_folder: ModelFolders
) -> None:
    folder = str(model_folder("constant"))
    for _ in range(23):
        assert champion("models", "register", folder, "--model", "churn").returncode == 0
    shown = champion("models", "show", "churn")
    assert shown.returncode == 0, shown.stderr
    assert "The newest 20 of 23 versions; --limit N or --all for more." in shown.text
    assert champion("models", "show", "churn", "--limit", "3").stdout.count("python") == 3
    everything = champion("models", "show", "churn", "--all")
    assert "The newest" not in everything.stdout and everything.stdout.count("│ 1 ") == 1
    filtered = champion("models", "show", "churn", "--metric", "auc>0.9")
    assert filtered.text == "No versions of churn match."
    bad = champion("models", "show", "churn", "--metric", "auc")
    assert bad.returncode == 2 and "metric: 'auc' is no metric threshold" in bad.stderr


def test_compile_registers_the_onnx_version_or_says_why_not(
    champion: CommandLine, tmp_path: Path
) -> None:
    from champion import save_model
    from tests.registry.tabular import churn_frame, churn_pipeline

    frame, label = churn_frame(200)
    folder = save_model(churn_pipeline(frame, label), tmp_path / "v1", example=frame)
    registered = champion("models", "register", str(folder), "--model", "churn", "--compile")
    assert registered.returncode == 0, registered.stderr
    assert "Registered churn/1" in registered.text
    assert "Compiled churn/1 to ONNX as churn/2: outputs agree on 200 rows" in registered.text
    refused = champion("models", "compile", "churn/1", "--tolerance", "0")
    assert refused.returncode == 1
    assert "Not compiled: its outputs disagree on 200 rows" in " ".join(refused.stderr.split())
    sample = tmp_path / "sample.csv"
    frame.head(40).to_csv(sample, index=False)
    again = champion("models", "compile", "churn/1", "--sample", str(sample), "--alias", "fast")
    assert again.returncode == 0, again.stderr
    assert "Compiled churn/1 to ONNX as churn/3 (fast): outputs agree on 40 rows" in again.text
    onnx = champion("models", "compile", "churn/3")
    assert onnx.returncode == 1
    assert "its flavor is 'onnx'; only sklearn versions compile" in onnx.stderr
