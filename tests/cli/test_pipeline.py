from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from champion.cli import common
from tests.automation.trainers import customers, spec, write_batch
from tests.cli.conftest import CommandLine


def test_pipeline_commands_ingest_run_approve_and_show(
    champion: CommandLine, tmp_path: Path
) -> None:
    incoming = tmp_path / "incoming"
    bad = customers(150, seed=1).astype(object)
    bad.loc[0, "charges"] = "free"
    write_batch(incoming, "initial.csv", bad)
    definition = spec(incoming, automation="approve").to_json()
    definition["source"]["path"] = "incoming"  # relative to the YAML file
    file = tmp_path / "churn.yaml"
    file.write_text(yaml.safe_dump(definition))

    applied = champion("pipeline", "apply", str(file), "--reason", "weekly")
    assert applied.returncode == 0, applied.stderr
    assert "churn-retrain is at revision 1" in applied.stdout
    ingested = champion("ingest", "customers")
    assert ingested.returncode == 0, ingested.stderr
    assert "partial" in ingested.stdout and "1 of 150 rows failed" in ingested.stdout
    assert "Nothing new" in champion("ingest", "customers").stdout

    ran = champion("pipeline", "run", "churn-retrain", "--reason", "first")
    assert ran.returncode == 0, ran.stderr
    out = " ".join(ran.stdout.split())
    assert "awaiting_approval" in out and "waiting for approval" in out
    approved = champion("pipeline", "approve", "churn-retrain", "1")
    assert approved.returncode == 0, approved.stderr
    assert "succeeded → version 1" in " ".join(approved.stdout.split())
    shown = champion("pipeline", "show", "churn-retrain")
    assert "succeeded" in shown.stdout and "cli-user" in shown.stdout
    listed = champion("pipeline", "list")
    assert "churn-retrain" in listed.stdout and "approve" in listed.stdout


def test_pipeline_commands_refuse_bad_input_with_exit_code_2(
    champion: CommandLine, tmp_path: Path
) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text("name: x\nmodel: m\n")
    bad = champion("pipeline", "apply", str(file))
    assert bad.returncode == 2 and "bad.yaml: source: Field required" in bad.stderr
    missing = champion("pipeline", "run", "nope")
    assert missing.returncode == 2 and "Unknown pipeline 'nope'" in missing.stderr
    unknown = champion("ingest", "nowhere")
    assert (
        unknown.returncode == 2 and "No pipeline reads a source named 'nowhere'" in unknown.stderr
    )


def test_ingest_shows_a_bar_that_moves_with_percentage_and_bytes(
    champion: CommandLine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    incoming = tmp_path / "incoming"
    for week in (1, 2, 3):
        write_batch(incoming, f"week-{week}.csv", customers(120, seed=week))
    definition = spec(incoming).to_json()
    definition["source"]["path"] = str(incoming)
    file = tmp_path / "churn.yaml"
    file.write_text(yaml.safe_dump(definition))
    assert champion("pipeline", "apply", str(file)).returncode == 0
    monkeypatch.setattr(common.console, "_force_terminal", True)  # as on a terminal
    ingested = champion("ingest", "customers")
    assert ingested.returncode == 0, ingested.stderr
    total = sum(p.stat().st_size for p in incoming.iterdir()) / 1000
    # Its last frame: every byte counted, against a known total (determinate, so a % shows).
    assert re.search(rf"100% .*{total:.1f}/{total:.1f} kB", ingested.stdout), ingested.stdout
    assert "Pipeline" not in ingested.stdout  # no bar of pipeline steps that never move
