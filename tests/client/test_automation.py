"""Pipelines, runs, sources and the diagnosis through the client, against a live server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from champion import Client
from champion.answers import RunAnswer
from champion.errors import Conflict, InvalidInput, NotFound
from champion.services import Services
from champion.settings import Settings
from tests.automation.trainers import customers, spec, write_batch
from tests.conftest import LiveServer


def _wait(client: Client, run_id: int, statuses: set[str]) -> RunAnswer:
    deadline = time.monotonic() + 60
    while True:
        run = client.get_run("churn-retrain", run_id)
        if run.status in statuses or time.monotonic() > deadline:
            return run
        time.sleep(0.1)


def test_pipelines_runs_sources_and_diagnostics(
    services: Services, settings: Settings, tmp_path: Path
) -> None:
    incoming = tmp_path / "incoming"
    bad = customers(100, seed=1).astype(object)
    bad.loc[3, "tenure"] = "three"
    write_batch(incoming, "initial.csv", bad)
    body = spec(incoming, automation="approve").to_json()
    offline = settings.model_copy(update={"package_index_url": ""})
    with LiveServer(offline) as server, Client(server.url, token="") as client:
        with pytest.raises(InvalidInput, match=r"holdout\.share: Input should be less than 1"):
            client.apply_pipeline({**body, "holdout": {"share": 2}})
        pipeline_file = tmp_path / "pipeline.yaml"
        pipeline_file.write_text(yaml.safe_dump(body))
        applied = client.apply_pipeline(pipeline_file, reason="from the file")
        assert (applied.name, applied.revision) == ("churn-retrain", 1)
        assert client.apply_pipeline(body).revision == 2
        assert [p.name for p in client.list_pipelines()] == ["churn-retrain"]

        queued = client.start_run("churn-retrain", reason="try it")
        assert queued.status == "queued"
        waiting = _wait(client, queued.id, {"awaiting_approval", "failed"})
        assert waiting.status == "awaiting_approval", waiting.error
        assert client.approve_run("churn-retrain", queued.id, reason="ok").approved_by
        done = _wait(client, queued.id, {"succeeded", "failed"})
        assert (done.status, done.version) == ("succeeded", 1)
        with pytest.raises(Conflict, match="is succeeded"):
            client.approve_run("churn-retrain", queued.id)
        [run] = client.list_runs("churn-retrain", limit=5)
        assert all(s.seconds is not None for s in run.steps)
        assert client.get_pipeline("churn-retrain").runs[0].id == run.id
        with pytest.raises(NotFound):
            client.get_run("churn-retrain", 999)

        [ingested] = client.list_files("customers")
        assert (ingested.status, ingested.quarantined_rows) == ("partial", 1)
        quarantined = client.quarantine("customers", ingested.id)
        assert quarantined.rows[0].reasons == ["tenure: 'three' is not an integer"]
        write_batch(incoming, "more.csv", customers(30, seed=2))
        assert [f.path.endswith("more.csv") for f in client.ingest("customers")] == [True]

        report = client.diagnostics(history=5)
        assert report.pipelines is not None
        steps = report.pipelines["churn-retrain"]["steps"]
        assert {s["step"] for s in steps} >= {"ingest", "train"}
        assert report.dependencies["database"]["status"] == "ok"
