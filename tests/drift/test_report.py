from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from champion.drift.report import write_report
from champion.services import Services
from tests.conftest import ModelFolders
from tests.drift.traffic import customers, register_scorer, serve


def test_the_report_is_self_contained_and_sorted_by_severity(
    services: Services, model_folder: ModelFolders, client: TestClient, tmp_path: Path
) -> None:
    register_scorer(services, model_folder, customers(3000, seed=1))
    serve(client, customers(500, seed=2, shift=1.0))
    run = services.drift.endpoint_drift("churn", window="1h")
    path = write_report(run, tmp_path / "reports" / "churn.html")
    page = path.read_text()
    # Nothing is fetched: no script, stylesheet or image comes from elsewhere.
    assert re.findall(r"<(?:script|link|img)[^>]+(?:src|href)=", page) == []
    assert "Plotly.newPlot" in page and len(page) > 1_000_000  # plotly.js is inlined
    body = json.loads(path.with_suffix(".json").read_text())
    assert body["version"] == "churn/1" and body["rows"] == 500
    drifted = [c for c in body["columns"] if c["drifted"]]
    assert [c["column"] for c in body["columns"][: len(drifted)]] == [c["column"] for c in drifted]
    severities = [c["severity"] for c in drifted]
    assert severities == sorted(severities, reverse=True)
    contract = next(c for c in body["columns"] if c["column"] == "contract")
    assert contract["distribution"]["labels"] == ["month", "one_year", "two_year"]
    assert sum(contract["distribution"]["current"]) == pytest.approx(1.0)
    tenure = next(c for c in body["columns"] if c["column"] == "tenure")
    assert len(tenure["distribution"]["labels"]) == len(tenure["distribution"]["reference"])
    for column in body["columns"]:
        assert f"{column['column']}: {column['verdict']}" in page
