from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from champion.api import create_app
from champion.cli import common
from champion.clock import FixedClock
from champion.db import write
from champion.events.tables import predictions
from champion.services import Services
from champion.settings import Settings
from tests.cli.conftest import CommandLine
from tests.conftest import ModelFolders, local_client
from tests.drift.traffic import customers, register_scorer, serve


def test_reference_compare_and_report_from_the_command_line(
    champion: CommandLine, model_folder: ModelFolders, tmp_path: Path
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


def test_alert_rules_from_the_command_line(champion: CommandLine) -> None:
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


def test_drift_show_says_when_whole_stored_days_stood_in_for_deleted_rows(
    champion: CommandLine, settings: Settings, model_folder: ModelFolders
) -> None:
    now = datetime.now(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    clock = FixedClock(today)
    services = Services.open(settings, clock)
    register_scorer(services, model_folder, customers(3000, seed=1))
    with local_client(create_app(settings, clock)) as client:
        for days_ago, seed in ((3, 2), (2, 3), (1, 4)):
            clock.at = today - timedelta(days=days_ago, hours=-12)
            serve(client, customers(300, seed=seed))
    clock.at = now
    services.drift_days.run()
    with write(services.engine) as conn:
        conn.execute(predictions.delete().where(predictions.c.at < today - timedelta(days=1)))
    services.close()

    shown = champion("drift", "show", "churn", "--window", "2d")
    assert shown.returncode == 0, shown.stderr
    assert "churn against churn/1 (serving now): 600 rows" in shown.text
    assert "whole stored days were compared, from" in shown.text
    body = json.loads(champion("drift", "show", "churn", "--window", "2d", "--json").stdout)
    assert (body["resolution"], body["rows"]) == ("day", 600)
    assert body["covered"]["start"] == (today - timedelta(days=2)).isoformat()


TELCO = Path(__file__).parents[2] / "data" / "telco-churn" / "Telco-Customer-Churn.csv"


def test_a_data_file_without_outputs_is_compared_on_its_inputs(
    champion: CommandLine, tmp_path: Path
) -> None:
    """The Telco table against the attrition model trained on 80 % of it: the model's outputs
    (absent from any data file) are neither missing values nor drift."""
    from champion.demo.attrition import write_attrition_classifier

    folder = tmp_path / "attrition"
    write_attrition_classifier(TELCO.parents[1], folder, "tests")
    registered = champion("models", "register", str(folder), "--model", "attrition")
    assert registered.returncode == 0, registered.stderr
    training = folder / "reference.parquet"  # the rows the reference was profiled from

    same = champion("drift", "compare", "attrition/1", str(training))
    assert same.returncode == 0, same.stderr
    assert "0 of 19 columns drifted (0%); 0 rows have data-quality problems" in same.text
    assert "none of the model's outputs (output.label," in same.text

    compared = champion("drift", "compare", "attrition/1", str(TELCO), "--json")
    assert compared.returncode == 0, compared.stderr
    body = json.loads(compared.stdout)
    assert body["rows"] == 7043 and body["drifted_columns"] == []
    assert all(c["role"] == "input" for c in body["columns"]) and len(body["columns"]) == 19
    quality = body["quality"]
    assert quality["missing_columns"] == [] and quality["unchecked_columns"] == [
        "output.label", "output.probabilities.0", "output.probabilities.1",
    ]  # fmt: skip
    # The only problems are the customers outside the training rows' ranges.
    import pandas as pd

    train, telco = pd.read_parquet(training), pd.read_csv(TELCO)
    outside = pd.Series(False, index=telco.index)
    for column in ("tenure", "MonthlyCharges", "TotalCharges"):
        values = pd.to_numeric(telco[column].astype(str).str.strip().replace("", None))
        outside |= (values < train[column].min()) | (values > train[column].max())
    assert quality["bad_rows"] == int(outside.sum()) == 1
    assert set(quality["columns"]) == {"TotalCharges"}


def test_compare_shows_a_determinate_bar_over_the_file_rows(
    champion: CommandLine,
    model_folder: ModelFolders,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert champion("models", "register", str(model_folder("scorer")), "--model", "churn")
    customers(500, seed=1).to_csv(tmp_path / "train.csv", index=False)
    customers(3000, seed=2).to_csv(tmp_path / "live.csv", index=False)
    assert champion("drift", "reference", "churn/1", str(tmp_path / "train.csv")).returncode == 0
    monkeypatch.setattr(common.console, "_force_terminal", True)  # as on a terminal
    compared = champion("drift", "compare", "churn/1", str(tmp_path / "live.csv"))
    assert compared.returncode == 0, compared.stderr
    assert re.search(r"Reading live\.csv .*100% 3000 of 3000 rows", compared.stdout)


def test_the_rows_of_a_text_file_are_counted_for_the_bar(tmp_path: Path) -> None:
    from champion.cli.drift import _text_rows

    frame = customers(1234, seed=3)
    frame.to_csv(tmp_path / "a.csv", index=False)
    frame.to_json(tmp_path / "a.jsonl", orient="records", lines=True)
    (tmp_path / "b.csv").write_text("x,y\n1,2\n3,4")  # no newline at the end
    (tmp_path / "empty.csv").write_text("")
    assert _text_rows(tmp_path / "a.csv") == 1234
    assert _text_rows(tmp_path / "a.jsonl") == 1234
    assert _text_rows(tmp_path / "b.csv") == 2
    assert _text_rows(tmp_path / "empty.csv") == 0
    assert _text_rows(tmp_path / "missing.csv") is None  # the command names it later


def test_a_rankers_monitoring_from_the_command_line(
    champion: CommandLine, served: Services, tmp_path: Path
) -> None:
    from tests.drift.rankings import scripted

    log = scripted(seed=5, units=30)
    shown = len(log.items)
    log.write(served.engine)
    # The scripted hours are in January 2026: a window reaching back past them holds both.
    result = champion("drift", "ranking", "recs", "--window", "2000d")
    assert result.returncode == 0, result.stderr
    assert "recs/1" in result.text and "window before" in result.text
    assert f"{shown:,}" in result.text and "context inputs" in result.text
    body = json.loads(champion("drift", "ranking", "recs", "--window", "2000d", "--json").stdout)
    [version] = body["versions"]
    assert version["impressions"] == shown and version["item_drift"]["p_value"] is None
    out = tmp_path / "ranking.html"
    report = champion(
        "drift", "report", "--endpoint", "recs", "--window", "2000d", "--out", str(out)
    )
    assert report.returncode == 0, report.stderr
    assert "Shown items drifted for 0 of 1 versions" in report.text
    assert json.loads(out.with_suffix(".json").read_text())["versions"][0]["impressions"] == shown
    bad = champion("drift", "ranking", "recs", "--window", "soon")
    assert bad.returncode == 2 and "'window'" in bad.stderr
    other = champion("drift", "ranking", "churn")
    assert other.returncode == 2 and "serves a classifier" in other.stderr
