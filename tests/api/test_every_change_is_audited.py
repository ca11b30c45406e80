"""Every HTTP route that changes state leaves an audit record; the log finds it by model and
endpoint. A new state-changing route fails this test until it is exercised here."""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from champion import save_model
from champion.evaluation.decision import Decision
from champion.services import Services
from champion.settings import Settings
from tests.automation.trainers import customers, spec, write_batch
from tests.conftest import ModelFolders, wait_until_written
from tests.registry.tabular import churn_frame, churn_pipeline

EVENTS = {
    ("POST", "/v1/endpoints/{endpoint}/predict"),
    ("POST", "/v1/endpoints/{endpoint}/rank"),
    ("POST", "/v2/models/{name}/infer"),
    ("POST", "/v2/models/{name}/versions/{version}/infer"),
    ("POST", "/v1/feedback"),
    ("POST", "/v1/feedback/batch"),
}
"""Routes that log prediction and feedback events: the event log is their record."""

CHANGES = {"POST", "PUT", "PATCH", "DELETE"}


def _pack(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(folder, arcname="model")
    return buffer.getvalue()


class Recorder:
    """Calls a route and returns the actions of the audit records the call left."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.seen: dict[tuple[str, str], list[str]] = {}

    def latest(self) -> int:
        records = self.client.get("/v1/audit", params={"limit": 1}).json()["records"]
        return int(records[0]["id"]) if records else 0

    def __call__(
        self, method: str, route: str, url: str, wait: Callable[[], bool] | None = None, **kw: Any
    ) -> httpx.Response:
        before = self.latest()
        response: httpx.Response = self.client.request(method, url, **kw)
        assert response.is_success, f"{method} {url}: {response.text}"
        deadline = time.monotonic() + 30
        while wait is not None and not wait() and time.monotonic() < deadline:
            time.sleep(0.05)
        records = self.client.get("/v1/audit", params={"limit": 1000}).json()["records"]
        actions = [r["action"] for r in records if r["id"] > before]
        assert actions, f"{method} {route} changed state without an audit record"
        self.seen.setdefault((method, route), []).extend(actions)
        return response


def test_every_state_changing_route_leaves_an_audit_record(
    served: Services,
    settings: Settings,
    client: TestClient,
    model_folder: ModelFolders,
    tmp_path: Path,
) -> None:
    settings.allow_code_uploads = True  # the fixtures are python-flavor versions
    call = Recorder(client)
    upload = {"file": ("m.tar.gz", _pack(model_folder("scorer")), "application/gzip")}
    call("POST", "/v1/models/{model}/versions", "/v1/models/churn/versions", files=upload,
         data={"aliases": "challenger"})  # fmt: skip
    call("POST", "/v1/models/{model}/versions", "/v1/models/churn/versions", files=upload)
    call("DELETE", "/v1/models/{model}/versions/{version}", "/v1/models/churn/versions/3")
    call("PUT", "/v1/models/{model}/aliases/{alias}", "/v1/models/churn/aliases/staging",
         json={"version": 2})  # fmt: skip
    call("DELETE", "/v1/models/{model}/aliases/{alias}", "/v1/models/churn/aliases/staging")
    data = customers(60, seed=1).rename(columns={"plan": "contract"}).to_csv(index=False)
    call("PUT", "/v1/models/{model}/versions/{version}/reference",
         "/v1/models/churn/versions/2/reference",
         files={"file": ("train.csv", io.BytesIO(data.encode()), "text/csv")})  # fmt: skip
    frame, label = churn_frame(60)
    saved = save_model(churn_pipeline(frame, label), tmp_path / "fast", example=frame)
    fast = {"file": ("m.tar.gz", _pack(saved), "application/gzip")}
    call("POST", "/v1/models/{model}/versions", "/v1/models/fast/versions", files=fast)
    call("POST", "/v1/models/{model}/versions/{version}/compile",
         "/v1/models/fast/versions/1/compile", json={})  # fmt: skip
    canary = {"champion": "churn@champion", "challenger": "churn@challenger", "share": 0.5}
    call("PUT", "/v1/endpoints/{endpoint}", "/v1/endpoints/churn",
         json={"policy": "canary", "params": canary})  # fmt: skip
    experiment = "/v1/endpoints/churn/experiment"
    call("PUT", "/v1/endpoints/{endpoint}/experiment", experiment,
         json={"goal": "click_rate", "automation": "approve"})  # fmt: skip
    served.rollout.propose(
        served.experiments.get("churn"),
        Decision("continue", "ramp", "healthy", "challenger", 0.6),
        actor="controller",
    )
    call("POST", "/v1/endpoints/{endpoint}/experiment/approve", f"{experiment}/approve", json={})
    call("POST", "/v1/endpoints/{endpoint}/experiment/promote", f"{experiment}/promote", json={})
    call("POST", "/v1/endpoints/{endpoint}/experiment/rollback", f"{experiment}/rollback",
         json={})  # fmt: skip
    rule = {"endpoint": "churn", "metric": "predictions", "threshold": 0, "window": "1h"}
    call("PUT", "/v1/alerts/rules/{name}", "/v1/alerts/rules/churn-volume", json=rule)
    row = {"tenure": 3, "charges": 50.0, "contract": "month"}
    assert client.post("/v1/endpoints/churn/predict", json={"instances": [row]}).is_success
    wait_until_written(client)
    call("POST", "/v1/alerts/evaluate", "/v1/alerts/evaluate")
    call("DELETE", "/v1/alerts/rules/{name}", "/v1/alerts/rules/churn-volume")

    incoming = tmp_path / "incoming"
    write_batch(incoming, "initial.csv", customers(120, seed=2))
    pipeline = spec(incoming, model="loyal", deploy=None, automation="approve", gates=[])
    body = pipeline.to_json()
    body.pop("name")
    call("PUT", "/v1/pipelines/{name}", "/v1/pipelines/churn-retrain", json={"spec": body})

    def run_waits() -> bool:
        runs = client.get("/v1/pipelines/churn-retrain/runs").json()["runs"]
        return bool(runs) and runs[0]["status"] == "awaiting_approval"

    queued = call("POST", "/v1/pipelines/{name}/runs", "/v1/pipelines/churn-retrain/runs",
                  json={"reason": "first"}, wait=run_waits).json()  # fmt: skip
    assert run_waits()
    call("POST", "/v1/pipelines/{name}/runs/{run_id}/approve",
         f"/v1/pipelines/churn-retrain/runs/{queued['id']}/approve", json={})  # fmt: skip
    write_batch(incoming, "week-2.csv", customers(50, seed=3))
    call("POST", "/v1/sources/{source}/ingest", "/v1/sources/customers/ingest")
    call("PUT", "/v1/endpoints/{endpoint}", "/v1/endpoints/spare",
         json={"policy": "single", "params": {"version": "churn/1"}})  # fmt: skip
    call("DELETE", "/v1/endpoints/{endpoint}", "/v1/endpoints/spare", params={"reason": "unused"})

    routes = {
        (method, route.path)
        for route in iter_route_contexts(client.app.routes)  # type: ignore[attr-defined]  # a FastAPI app
        if route.path is not None
        for method in set(route.methods or ()) & CHANGES
    }
    assert routes - EVENTS == set(call.seen), "exercise the new state-changing route here"
    expected = {
        "/v1/models/{model}/versions": "version.register",
        "/v1/models/{model}/versions/{version}": "version.delete",
        "/v1/models/{model}/aliases/{alias}": "alias.",
        "/v1/models/{model}/versions/{version}/reference": "reference.set",
        "/v1/models/{model}/versions/{version}/compile": "version.register",
        "/v1/endpoints/{endpoint}": "endpoint.",
        "/v1/endpoints/{endpoint}/experiment": "experiment.start",
        "/v1/endpoints/{endpoint}/experiment/approve": "experiment.ramp",
        "/v1/endpoints/{endpoint}/experiment/promote": "experiment.promote",
        "/v1/endpoints/{endpoint}/experiment/rollback": "experiment.rollback",
        "/v1/alerts/rules/{name}": "alert_rule.",
        "/v1/alerts/evaluate": "alert.open",
        "/v1/pipelines/{name}": "pipeline.apply",
        "/v1/pipelines/{name}/runs": "pipeline.run.queue",
        "/v1/pipelines/{name}/runs/{run_id}/approve": "pipeline.run.approve",
        "/v1/sources/{source}/ingest": "data.ingest",
    }
    for (_, route), actions in call.seen.items():
        assert any(a.startswith(expected[route]) for a in actions), (route, actions)

    def found(**params: str) -> set[str]:
        records = client.get("/v1/audit", params={"limit": 1000, **params}).json()["records"]
        return {r["action"] for r in records}

    about_churn = found(model="churn")
    assert {"version.register", "version.delete", "reference.set", "endpoint.configure",
            "experiment.start", "experiment.promote", "alert.open",
            "alert_rule.set"} <= about_churn  # fmt: skip
    assert not {"pipeline.apply", "data.ingest"} & about_churn  # those are about 'loyal'
    assert {"pipeline.apply", "pipeline.run.queue", "data.ingest"} <= found(model="loyal")
    on_churn = found(endpoint="churn")
    assert {"endpoint.configure", "experiment.ramp", "alert.open", "alert_rule.delete"} <= on_churn
    assert "version.register" not in on_churn
