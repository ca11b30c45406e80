"""Uploading a version: confined paths, code only with the operator's consent, bounded
unpacking, no leftovers, and a full disk said as such."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from champion.api import create_app
from champion.artifacts.leftovers import STALE_SECONDS, owner_tag
from champion.services import Services
from champion.settings import Settings
from tests.conftest import ModelFolders
from tests.fixtures.faults import tmpfs_over
from tests.registry.cases import CASES, Case, outside
from tests.registry.folders import pack, sklearn_folder

URL = "/v1/models/churn/versions"


def _upload(client: TestClient, archive: bytes, **data: str) -> Any:
    return client.post(URL, files={"file": ("v.tar.gz", archive, "application/gzip")}, data=data)


def _error(response: Any) -> tuple[int, str, str]:
    body = response.json()["error"]
    return response.status_code, body["code"], body["message"]


def _count(client: TestClient) -> int:
    response = client.get("/v1/models/churn")
    return int(response.json()["version_count"]) if response.status_code == 200 else 0


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_an_uploaded_manifest_path_outside_the_folder_is_refused(
    case: Case, client: TestClient, tmp_path: Path
) -> None:
    archive = pack(case.build(tmp_path, outside(tmp_path)))
    status, code, message = _error(_upload(client, archive))
    assert (status, code) == (422, "InvalidInput")
    if "symlink" in case.id:
        # The archive's link to an absolute path is refused as it is unpacked.
        assert "link" in message, message
    else:
        assert re.search(case.message, message), message
    assert _count(client) == 0


def test_an_archive_link_inside_the_folder_is_refused_as_a_link(
    client: TestClient, tmp_path: Path
) -> None:
    folder = sklearn_folder(tmp_path / "v", file="linked.skops")
    (folder / "linked.skops").symlink_to("model.skops")
    status, _, message = _error(_upload(client, pack(folder)))
    assert status == 422 and "'linked.skops' is a symbolic link" in message


# -- code only with the operator's consent -------------------------------------------------


def _code_versions(tmp_path: Path, model_folder: ModelFolders) -> dict[str, Path]:
    return {
        "python": model_folder("constant"),
        "trusted_types": sklearn_folder(tmp_path / "t", trusted_types=["collections.OrderedDict"]),
    }


def test_a_version_that_runs_code_is_refused_by_default(
    client: TestClient, settings: Settings, tmp_path: Path, model_folder: ModelFolders
) -> None:
    assert settings.allow_code_uploads is False
    for kind, folder in _code_versions(tmp_path, model_folder).items():
        status, code, message = _error(_upload(client, pack(folder)))
        assert (status, code) == (403, "Forbidden"), kind
        assert "CHAMPION_ALLOW_CODE_UPLOADS=true" in message
        assert "champion models register" in message
    assert _count(client) == 0
    response = _upload(client, pack(sklearn_folder(tmp_path / "plain")))
    assert response.status_code == 201, response.text  # skops of sklearn/NumPy/SciPy types


def test_a_trusted_pickle_is_code_too(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    settings.trust_pickle = True
    folder = sklearn_folder(tmp_path / "v")
    (folder / "model.skops").rename(folder / "model.pkl")
    (folder / "champion.yaml").write_text(
        (folder / "champion.yaml").read_text().replace("model.skops", "model.pkl")
    )
    assert _error(_upload(client, pack(folder)))[:2] == (403, "Forbidden")


def test_the_operator_allows_code_with_the_setting(
    client: TestClient, settings: Settings, tmp_path: Path, model_folder: ModelFolders
) -> None:
    settings.allow_code_uploads = True
    for folder in _code_versions(tmp_path, model_folder).values():
        response = _upload(client, pack(folder))
        assert response.status_code == 201, response.text
    assert _count(client) == 2


def test_with_tokens_only_an_admin_token_registers_code(
    services: Services, settings: Settings, model_folder: ModelFolders
) -> None:
    settings.allow_code_uploads = True
    admin = services.tokens.create("ops", frozenset({"admin"}), actor="t")[1]
    others = services.tokens.create("app", frozenset({"read", "predict", "feedback"}), actor="t")[1]
    archive = pack(model_folder("constant"))
    with TestClient(create_app(settings)) as client:
        refused = client.post(
            URL,
            files={"file": ("v.tar.gz", archive, "application/gzip")},
            headers={"Authorization": f"Bearer {others}"},
        )
        assert _error(refused)[:2] == (403, "Forbidden")
        assert "needs the 'admin' scope" in _error(refused)[2]
        taken = client.post(
            URL,
            files={"file": ("v.tar.gz", archive, "application/gzip")},
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert taken.status_code == 201, taken.text
        assert taken.json()["created_by"] == "ops"


# -- bounded unpacking ---------------------------------------------------------------------


def _archive(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_unpacked_size_is_bounded_while_unpacking(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    settings.max_unpacked_bytes = 64 * 1024
    manifest = (sklearn_folder(tmp_path / "v") / "champion.yaml").read_bytes()
    bomb = _archive({"champion.yaml": manifest, "zeros.bin": bytes(16 * 1024 * 1024)})
    assert len(bomb) < 64 * 1024  # a small upload that would unpack to 16 MiB
    # The temporary folder holds 1 MiB: unpacking first and measuring after would fill it (507).
    with tmpfs_over(settings.home / "tmp", "1m") as scratch:
        status, code, message = _error(_upload(client, bomb))
        assert list(scratch.iterdir()) == []
    assert (status, code) == (413, "PayloadTooLarge")
    assert "more than 65,536 bytes" in message and "CHAMPION_MAX_UNPACKED_BYTES" in message
    assert _count(client) == 0


def test_the_number_of_files_is_bounded(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    settings.max_unpacked_files = 10
    manifest = (sklearn_folder(tmp_path / "v") / "champion.yaml").read_bytes()
    many = {"champion.yaml": manifest} | {f"f{i}.txt": b"x" for i in range(30)}
    status, code, message = _error(_upload(client, _archive(many)))
    assert (status, code) == (413, "PayloadTooLarge")
    assert "more than 10 files" in message and "CHAMPION_MAX_UNPACKED_FILES" in message
    assert list((settings.home / "tmp").iterdir()) == []


# -- leftovers and a full disk -------------------------------------------------------------


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_start_removes_what_a_crashed_upload_left(settings: Settings) -> None:
    host, dead = owner_tag().split("+")[0], _dead_pid()
    scratch, blobs = settings.home / "tmp", settings.artifacts_dir / "ab"
    crashed = [scratch / f"upload-{host}+{dead}+x1", blobs / f".incoming-{host}+{dead}+x2"]
    elsewhere = [scratch / "upload-other-host+1+x3", blobs / ".incoming-other-host+1+x4"]
    old = scratch / "upload-other-host+1+x5"
    live = blobs / f".incoming-{owner_tag()}x6"
    for path in [*crashed, *elsewhere, old, live]:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.name.startswith("upload-"):
            path.mkdir()
            (path / "unpacked").mkdir()
        else:
            path.write_bytes(b"half")
    day_ago = time.time() - STALE_SECONDS - 60
    os.utime(old, (day_ago, day_ago))
    with TestClient(create_app(settings)):
        pass
    assert [p.exists() for p in [*crashed, old]] == [False] * 3
    assert [p.exists() for p in [*elsewhere, live]] == [True] * 3


def _with_big_file(root: Path) -> Path:
    return sklearn_folder(root, extra={"table.bin": os.urandom(1024 * 1024)})


def test_a_full_artifact_store_is_a_507_with_nothing_registered(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    with tmpfs_over(settings.artifacts_dir, "256k") as store:
        status, code, message = _error(_upload(client, pack(_with_big_file(tmp_path / "v"))))
        assert (status, code) == (507, "InsufficientStorage")
        assert f"No space left in the artifact store at {store}" in message
        assert "nothing was registered" in message
        assert [p for p in store.rglob("*") if p.is_file()] == []  # no blob, whole or half
        assert client.get("/v1/models").json()["models"] == []
        response = _upload(client, pack(sklearn_folder(tmp_path / "small")))
        assert response.status_code == 201, response.text  # the space came back


def test_a_full_temporary_folder_is_a_507(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    with tmpfs_over(settings.home / "tmp", "256k") as scratch:
        status, code, message = _error(_upload(client, pack(_with_big_file(tmp_path / "v"))))
        assert (status, code) == (507, "InsufficientStorage")
        assert f"the server's temporary folder {scratch}" in message
        assert list(scratch.iterdir()) == []
    assert client.get("/v1/models").json()["models"] == []


def test_compile_answers_201_with_the_new_version_or_200_with_the_reason(
    client: TestClient, tmp_path: Path
) -> None:
    from champion import save_model
    from tests.registry.tabular import churn_frame, churn_pipeline

    frame, label = churn_frame(100)
    folder = save_model(churn_pipeline(frame, label), tmp_path / "v1", example=frame)
    assert _upload(client, pack(folder)).status_code == 201
    url = "/v1/models/churn/versions/1/compile"
    compiled = client.post(url, json={"aliases": ["fast"], "reason": "speed"})
    assert compiled.status_code == 201, compiled.text
    body = compiled.json()
    assert (body["compiled"], body["rows"], body["version"]["version"]) == (True, 100, 2)
    assert body["version"]["flavor"] == "onnx" and body["version"]["aliases"] == ["fast"]
    assert body["version"]["lineage"]["derived_from"]["version"] == "churn/1"
    refused = client.post(url, json={"tolerance": 0})
    assert refused.status_code == 200
    assert refused.json()["compiled"] is False and refused.json()["version"] is None
    assert "more than the tolerance 0" in refused.json()["reason"]
    bad = client.post(url, json={"tolerance": -1})
    assert bad.status_code == 422 and "tolerance" in bad.json()["error"]["message"]
