from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from champion.api import create_app
from champion.automation import Run, Step
from champion.diagnostics import compare_packages, newest_versions
from champion.diagnostics.steps import step_timings
from champion.services import Services
from champion.settings import Settings
from tests.automation.trainers import customers, spec, write_batch
from tests.conftest import local_client


def test_diagnostics_over_http(services: Services, settings: Settings, tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    write_batch(incoming, "initial.csv", customers(200, seed=1))
    services.pipelines.apply(spec(incoming), actor="alice")
    services.pipelines.run("churn-retrain", reason="", actor="alice")
    write_batch(incoming, "week-2.csv", customers(200, seed=2))
    services.pipelines.run("churn-retrain", reason="", actor="alice")
    offline = settings.model_copy(update={"package_index_url": "http://127.0.0.1:9/pypi"})

    with local_client(create_app(offline)) as client:
        for unit in range(20):
            instance = {
                "tenure": unit,
                "charges": None if unit % 4 == 0 else 50.0 + unit,
                "plan": "monthly",
            }
            answer = client.post(
                "/v1/endpoints/churn/predict", json={"unit": str(unit), "instances": [instance]}
            )
            assert answer.status_code == 200, answer.text
        writer = client.app.state.champion.writer  # type: ignore[attr-defined]  # app state
        deadline = time.monotonic() + 10
        while (writer.pending() or writer.written < 20) and time.monotonic() < deadline:
            time.sleep(0.02)  # prediction events are written off the response path
        report = client.get("/v1/diagnostics").json()

    assert "pipelines" in report, report
    timings = report["pipelines"]["churn-retrain"]
    assert timings["runs"] == 2
    assert [s["step"] for s in timings["steps"]] == [
        "ingest",
        "validate",
        "train",
        "score",
        "gate",
        "register",
        "deploy",
    ]
    assert all(len(s["history"]) == 2 for s in timings["steps"])
    assert timings["slowest_latest"]["step"] in {"train", "score", "gate"}
    stages = {(s["version"], s["stage"]): s for s in report["serving"] if s["endpoint"] == "churn"}
    counts = {key: row["count"] for key, row in stages.items()}
    assert sum(counts[v, "model"] for v in ("churn/1", "churn/2") if (v, "model") in counts) == 20
    assert {stage for _, stage in stages} == {"routing", "model", "logging"}
    dependencies = report["dependencies"]
    assert dependencies["database"]["status"] == "ok"
    assert dependencies["artifact_store"] == {
        "status": "ok",
        "path": str(settings.artifacts_dir),
        "writable": True,
    }
    versions = {v["version"]: v for v in dependencies["versions"]}
    assert set(versions) == {"churn/1", "churn/2"}
    assert all(v["sha256"] == "verified" and v["loaded"] for v in versions.values())
    packages = {p["package"]: p for p in versions["churn/2"]["packages"]}
    assert packages["scikit-learn"]["status"] == "same"
    assert packages["scikit-learn"]["newest"] == "unknown"  # the index is unreachable
    ingested = report["data"]["ingested"]["customers"]
    assert ingested["file"].endswith("week-2.csv")
    tenure = next(c for c in ingested["columns"] if c["column"] == "tenure")
    assert tenure["missing_share"] == 0.0 and 1 <= tenure["median"] <= 72
    live = {c["column"]: c for c in report["data"]["live"]["churn"]["columns"]}
    assert report["data"]["live"]["churn"]["rows"] == 20
    assert live["charges"]["missing_share"] == 0.25
    assert live["tenure"]["mean"] == pytest.approx(9.5) and live["tenure"]["median"] == 9.5


def test_a_changed_blob_shows_as_a_sha256_mismatch(services: Services, tmp_path: Path) -> None:
    from champion.diagnostics.health import version_health

    incoming = tmp_path / "incoming"
    write_batch(incoming, "initial.csv", customers(200, seed=1))
    services.pipelines.apply(spec(incoming), actor="alice")
    services.pipelines.run("churn-retrain", reason="", actor="alice")
    version = services.registry.get_version("churn", 1)
    blob = services.settings.artifacts_dir / version.files["model.skops"][:2]
    (blob / version.files["model.skops"]).write_bytes(b"tampered")
    health = version_health(services.registry, version, loaded=())
    assert health["sha256"] == "mismatch" and health["problems"][0].startswith("model.skops: ")


def test_newest_versions_from_an_index_and_unknown_without_one() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        name = request.url.path.split("/")[-2]
        if name == "numpy":
            return httpx.Response(200, json={"info": {"version": "9.9.9"}})
        return httpx.Response(404)

    found = newest_versions(
        ["numpy", "nothing"], "https://index.test/pypi", 1.0, httpx.MockTransport(answer)
    )
    assert found == {"nothing": "unknown", "numpy": "9.9.9"}
    assert newest_versions(["numpy"], "", 1.0) == {"numpy": "unknown"}
    rows = compare_packages({"numpy": "0.1", "python": "3.11"}, found)
    assert [(r["package"], r["status"], r["outdated"]) for r in rows] == [
        ("numpy", "differs", True)
    ]


def _run(run_id: int, seconds: dict[str, float]) -> Run:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return Run(
        id=run_id,
        pipeline="p",
        revision=1,
        status="succeeded",
        trigger="manual",
        reason="",
        actor="a",
        created_at=at,
        scheduled_for=None,
        started_at=at,
        finished_at=at,
        claimed_by=None,
        lease_until=None,
        fingerprint=None,
        version=None,
        error=None,
        summary={},
        steps=tuple(
            Step(run_id, name, "succeeded", at, at, s, None, {}) for name, s in seconds.items()
        ),
    )


def test_the_step_that_slowed_down_stands_out() -> None:
    runs = [_run(i, {"ingest": 1.0, "train": 10.0}) for i in range(1, 5)]
    runs.append(_run(5, {"ingest": 4.0, "train": 9.0}))
    timings = step_timings(list(reversed(runs)))
    trends = {s["step"]: (s["trend"], s["median_seconds"]) for s in timings["steps"]}
    assert trends == {"ingest": ("slower", 1.0), "train": ("steady", 10.0)}
    assert timings["slowest_latest"] == {"step": "train", "seconds": 9.0, "share": 9.0 / 13.0}
