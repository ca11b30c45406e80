"""Replicas on one database and one bucket: a version registered on one is served by another
with an empty cache, and a blob changed in the bucket is refused by every replica that has
not loaded it yet (issue 14)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from champion.api import create_app
from champion.cli.main import main
from champion.settings import Settings
from tests.conftest import local_client
from tests.fixtures.faults import until
from tests.fixtures.objects import Bucket
from tests.registry.folders import ROW, pack, sklearn_folder


def _replica(settings: Settings, home: Path, bucket: Bucket) -> Settings:
    """Another machine: its own home (so its own cache), the same database and bucket."""
    database = settings.database_url or f"sqlite:///{settings.home / 'champion.db'}"
    return settings.model_copy(
        update={"home": home, "database_url": database, "artifacts_url": bucket.url}
    )


def _register(client: TestClient, folder: Path, aliases: str = "champion") -> dict[str, Any]:
    response = client.post(
        "/v1/models/churn/versions",
        files={"file": ("v.tar.gz", pack(folder), "application/gzip")},
        data={"aliases": aliases} if aliases else {},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _serve(client: TestClient) -> None:
    body = {"policy": "single", "params": {"version": "churn@champion"}}
    assert client.put("/v1/endpoints/churn", json=body).status_code == 200


def _predict(settings: Settings) -> Any:
    with local_client(create_app(settings)) as client:
        return client.post("/v1/endpoints/churn/predict", json={"instances": [ROW]})


def _error(response: Any) -> tuple[int, str, str]:
    body = response.json()["error"]
    return response.status_code, body["code"], body["message"]


@pytest.mark.slow(seconds=15)
def test_registered_on_one_replica_served_by_another_and_a_tampered_blob_refused(
    settings: Settings, bucket: Bucket, tmp_path: Path
) -> None:
    a = _replica(settings, settings.home, bucket)
    with local_client(create_app(a)) as first:
        version = _register(first, sklearn_folder(tmp_path / "v1"))
        _serve(first)
        expected = first.post("/v1/endpoints/churn/predict", json={"instances": [ROW]}).json()
    assert bucket.blobs() == set(version["files"].values())
    assert not (a.home / "artifacts").exists()  # nothing of it in replica A's folder

    b = _replica(settings, tmp_path / "replica-b", bucket)
    served = _predict(b)
    assert served.status_code == 200, served.text
    assert served.json()["predictions"] == expected["predictions"]
    assert {p.name for p in b.artifacts_cache_dir.glob("??/*")} == set(version["files"].values())

    model = version["files"]["model.skops"]
    bucket.fs.pipe(bucket.key(model), b"not the model that was registered")
    c = _replica(settings, tmp_path / "replica-c", bucket)
    with local_client(create_app(c)) as client:
        response = client.post("/v1/endpoints/churn/predict", json={"instances": [ROW]})
        found = client.get("/v1/diagnostics").json()["dependencies"]
    status, code, message = _error(response)
    assert (status, code) == (409, "ArtifactTampered")
    assert message.startswith(
        f"Version churn/1 failed its sha256 check on file 'model.skops': Artifact blob {model} "
        f"in {bucket.url} does not match its sha256"
    )
    assert not (c.artifacts_cache_dir / model[:2] / model).exists()
    assert found["artifact_store"] == {"status": "ok", "path": bucket.url}
    assert [v["problems"] for v in found["versions"]] == [
        ["model.skops: sha256 mismatch in the artifact store"]
    ]


def test_a_blob_missing_from_the_bucket_is_a_503_naming_it(
    settings: Settings, bucket: Bucket, tmp_path: Path
) -> None:
    with local_client(create_app(_replica(settings, settings.home, bucket))) as first:
        version = _register(first, sklearn_folder(tmp_path / "v1"))
        _serve(first)
    model = version["files"]["model.skops"]
    bucket.fs.rm_file(bucket.key(model))

    status, code, message = _error(_predict(_replica(settings, tmp_path / "b", bucket)))
    assert (status, code) == (503, "Unavailable")
    assert f"Version churn/1 cannot be loaded: blob sha256 {model}" in message
    assert f"missing from the store at {bucket.url}" in message
    assert "one CHAMPION_ARTIFACTS_URL" in message


def test_a_replica_serves_through_a_cached_blob_it_finds_changed(
    settings: Settings, bucket: Bucket, tmp_path: Path
) -> None:
    a = _replica(settings, settings.home, bucket)
    with local_client(create_app(a)) as first:
        version = _register(first, sklearn_folder(tmp_path / "v1"))
        _serve(first)
    assert _predict(a).status_code == 200  # loaded once: the blobs are in A's cache
    model = version["files"]["model.skops"]
    copy = a.artifacts_cache_dir / model[:2] / model
    good = copy.read_bytes()
    copy.write_bytes(good[:-1] + b"!")

    assert _predict(a).status_code == 200  # a restarted replica: the bad copy is not used
    assert copy.read_bytes() == good


def test_deleting_a_version_removes_its_unshared_blobs_from_the_bucket(
    settings: Settings, bucket: Bucket, tmp_path: Path
) -> None:
    with local_client(create_app(_replica(settings, settings.home, bucket))) as client:
        first = _register(client, sklearn_folder(tmp_path / "a", extra={"table.bin": b"same"}))
        second = _register(
            client, sklearn_folder(tmp_path / "b", extra={"table.bin": b"same"}), aliases=""
        )
        assert bucket.blobs() == set(first["files"].values()) | set(second["files"].values())
        response = client.delete("/v1/models/churn/versions/2", params={"reason": "unused"})
        assert response.status_code == 200, response.text
    assert bucket.blobs() == set(first["files"].values())  # the shared table.bin stays


def test_a_bucket_gone_after_start_makes_the_server_not_ready_naming_the_setting(
    settings: Settings, bucket: Bucket
) -> None:
    replica = _replica(settings, settings.home, bucket).model_copy(
        update={"ready_check_seconds": 0.01}
    )
    with local_client(create_app(replica)) as client:
        assert client.get("/v1/health/ready").status_code == 200
        bucket.fs.rmdir(bucket.url.removeprefix("s3://").split("/")[0])
        # The checks run at most every ready_check_seconds: the next one sees it.
        until("readiness to fail", lambda: client.get("/v1/health/ready").status_code == 503)
        ready = client.get("/v1/health/ready")
    artifacts = ready.json()["checks"]["artifacts"]
    assert artifacts["status"] == "error"
    assert "(CHAMPION_ARTIFACTS_URL) could not be reached: bucket" in artifacts["error"]


def test_the_command_line_names_an_unreachable_bucket_and_fails_with_1(
    bucket: Bucket,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CHAMPION_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CHAMPION_ARTIFACTS_URL", "s3://no-such-bucket/champion")
    monkeypatch.setattr(sys, "argv", ["champion", "models", "list"])
    with pytest.raises(SystemExit) as exit:
        main()
    assert exit.value.code == 1  # the store is unavailable: not a usage error
    assert capsys.readouterr().err.startswith(
        "error: The artifact store s3://no-such-bucket/champion (CHAMPION_ARTIFACTS_URL) could "
        "not be reached: bucket 'no-such-bucket' does not exist."
    )
