"""Deleting a version: refused while in use, its unshared blobs collected, audited; and a
blob missing at serving time is the store's fault (503), not the caller's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from champion import Client
from champion.api import create_app
from champion.errors import Conflict
from champion.services import Services
from champion.settings import Settings
from tests.conftest import LiveServer, local_client
from tests.registry.folders import ROW, pack, sklearn_folder


def _register(client: TestClient, folder: Path, **data: str) -> dict[str, Any]:
    response = client.post(
        "/v1/models/churn/versions",
        files={"file": ("v.tar.gz", pack(folder), "application/gzip")},
        data=data,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _error(response: Any) -> tuple[int, str, str]:
    body = response.json()["error"]
    return response.status_code, body["code"], body["message"]


def _blobs(settings: Settings) -> set[str]:
    return {p.name for p in settings.artifacts_dir.rglob("*") if p.is_file()}


def test_a_deleted_version_leaves_its_unshared_blobs_and_its_number(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    first = _register(client, sklearn_folder(tmp_path / "a", extra={"table.bin": b"same"}))
    second = _register(client, sklearn_folder(tmp_path / "b", extra={"table.bin": b"same"}))
    assert first["files"]["table.bin"] == second["files"]["table.bin"]  # one shared blob
    assert first["files"]["model.skops"] != second["files"]["model.skops"]
    response = client.delete("/v1/models/churn/versions/2", params={"reason": "bad data"})
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    assert _blobs(settings) == set(first["files"].values())  # 2's own model gone, shared kept
    status, code, message = _error(client.get("/v1/models/churn/versions/2"))
    assert (status, code) == (404, "NotFound")
    assert "churn/2 (deleted" in message and "Latest version of 'churn': 1" in message
    model = client.get("/v1/models/churn").json()
    assert (model["version_count"], model["latest_version"]) == (1, 1)
    assert [v["version"] for v in model["versions"]] == [1]
    assert _register(client, sklearn_folder(tmp_path / "c"))["version"] == 3  # never reused
    records = client.get("/v1/audit", params={"model": "churn"}).json()["records"]
    deleted = next(r for r in records if r["action"] == "version.delete")
    assert (deleted["target"], deleted["reason"]) == ("churn/2", "bad data")
    assert _error(client.delete("/v1/models/churn/versions/2"))[:2] == (404, "NotFound")


def test_a_version_in_use_is_refused_with_409(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    first = _register(client, sklearn_folder(tmp_path / "a"), aliases="champion")
    second = _register(client, sklearn_folder(tmp_path / "b"))
    status, code, message = _error(client.delete("/v1/models/churn/versions/1"))
    assert (status, code) == (409, "Conflict")
    assert "churn@champion points at it" in message and "champion alias rm churn" in message
    body = {"policy": "single", "params": {"version": "churn/2"}}
    assert client.put("/v1/endpoints/scoring", json=body).status_code == 200
    status, code, message = _error(client.delete("/v1/models/churn/versions/2"))
    assert (status, code) == (409, "Conflict")
    assert "endpoint 'scoring' serves it" in message
    assert client.get("/v1/models/churn").json()["version_count"] == 2
    assert _blobs(settings) == {*first["files"].values(), *second["files"].values()}
    assert client.post("/v1/endpoints/scoring/predict", json={"instances": [ROW]}).is_success


@pytest.mark.parametrize(
    ("version", "status", "message"),
    [
        ("champion", 422, "a version is deleted by its number, got 'champion'"),
        ("9", 404, "Unknown version churn/9"),
        ("01", 422, "Invalid version reference 'churn/01'"),
    ],
)
def test_deleting_what_is_not_a_version_number_says_why(
    client: TestClient, tmp_path: Path, version: str, status: int, message: str
) -> None:
    _register(client, sklearn_folder(tmp_path / "a"), aliases="champion")
    response = client.delete(f"/v1/models/churn/versions/{version}")
    assert (response.status_code, message in _error(response)[2]) == (status, True)


def test_the_client_deletes_a_version(
    services: Services, live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHAMPION_TOKEN", raising=False)
    services.registry.register(sklearn_folder(tmp_path / "a"), model="churn", actor="t")
    services.registry.set_alias("churn", "champion", 1, actor="t")
    services.registry.register(sklearn_folder(tmp_path / "b"), model="churn", actor="t")
    with Client(live_server.url) as client:
        assert client.delete_version("churn", 2, reason="unused").version == 2
        with pytest.raises(Conflict, match="churn@champion points at it"):
            client.delete_version("churn", 1)
        assert client.get_model("churn").version_count == 1


def test_a_blob_missing_from_a_replicas_store_is_a_503_naming_it(
    settings: Settings, tmp_path: Path
) -> None:
    # A second replica on the same database with its own, empty home: the artifact store is
    # not shared, which the README says it must be.
    with local_client(create_app(settings)) as first:
        version = _register(first, sklearn_folder(tmp_path / "a"), aliases="champion")
        body = {"policy": "single", "params": {"version": "churn@champion"}}
        assert first.put("/v1/endpoints/churn", json=body).status_code == 200
    database = settings.database_url or f"sqlite:///{settings.home / 'champion.db'}"
    replica = settings.model_copy(update={"home": tmp_path / "replica", "database_url": database})
    with local_client(create_app(replica)) as second:
        response = second.post("/v1/endpoints/churn/predict", json={"instances": [ROW]})
    status, code, message = _error(response)
    assert (status, code) == (503, "Unavailable")
    assert f"blob sha256 {version['files']['champion.yaml']}" in message
    assert "Version churn/1 cannot be loaded" in message
    assert "Every replica must use the same artifact store" in message
