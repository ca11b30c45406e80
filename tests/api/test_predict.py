from __future__ import annotations

import io
import socket
import tarfile
import time
from pathlib import Path

import orjson
from fastapi.testclient import TestClient

from champion.services import Services
from champion.settings import Settings
from tests.conftest import LiveServer, ModelFolders, local_client

ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}


def test_predict_answers_with_request_id_and_version(served: Services, client: TestClient) -> None:
    response = client.post(
        "/v1/endpoints/churn/predict", json={"unit": "u1", "instances": [ROW, ROW]}
    )
    assert response.status_code == 200
    body = response.json()
    assert len(body["request_id"]) == 32
    assert (body["model"], body["version"]) == ("churn", 1)
    assert body["predictions"] == [{"score": 0.25}, {"score": 0.25}]


def test_rank_returns_ordered_items_with_positions(served: Services, client: TestClient) -> None:
    body = client.post("/v1/endpoints/recs/rank", json={"unit": "u1", "k": 3}).json()
    assert [(i["item"], i["position"]) for i in body["items"]] == [("a", 1), ("b", 2), ("c", 3)]


def test_moving_the_alias_switches_the_endpoint_without_restart(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    folder = model_folder("constant")
    (folder / "score.txt").write_text("0.75")
    served.registry.register(folder, model="churn", actor="tests")
    response = client.put("/v1/models/churn/aliases/champion", json={"version": 2})
    assert response.status_code == 200
    body = client.post("/v1/endpoints/churn/predict", json={"instances": [ROW]}).json()
    assert (body["version"], body["predictions"]) == (2, [{"score": 0.75}])


def test_a_change_made_by_another_process_is_seen_within_a_second(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    folder = model_folder("constant")
    (folder / "score.txt").write_text("0.5")
    served.registry.register(folder, model="churn", actor="cli", aliases_to_set=("champion",))
    deadline = time.monotonic() + 10  # the state poll is 0.5 s; a loaded host is slower
    while time.monotonic() < deadline:
        body = client.post("/v1/endpoints/churn/predict", json={"instances": [ROW]}).json()
        if body["version"] == 2:
            break
        time.sleep(0.05)
    assert body["version"] == 2


def _error(response: object) -> tuple[int, str, str]:
    body = response.json()["error"]  # type: ignore[attr-defined]
    return response.status_code, body["code"], body["message"]  # type: ignore[attr-defined]


def test_bad_requests_get_a_clear_4xx(served: Services, client: TestClient) -> None:
    post = client.post
    assert _error(
        post(
            "/v1/endpoints/churn/predict",
            content=b"{nope",
            headers={"content-type": "application/json"},
        )
    )[:2] == (400, "MalformedRequest")
    status, code, message = _error(
        post("/v1/endpoints/churn/predict", json={"instances": [ROW | {"tenure": "3"}]})
    )
    assert (status, code) == (422, "InvalidInput") and "instances[0].tenure" in message
    status, _, message = _error(
        post("/v1/endpoints/churn/predict", json={"instances": [ROW | {"extra": 1}]})
    )
    assert status == 422 and "instances[0].extra: Extra inputs" in message
    # Valid JSON (1e999) and the NaN/Infinity that Python's JSON accepts: not numbers a model
    # can use, so a 422 naming the field, never the model's failure as a 5xx.
    for number in (b"1e999", b"-Infinity", b"NaN"):
        status, code, message = _error(
            post(
                "/v1/endpoints/churn/predict",
                content=b'{"instances": [{"tenure": 3, "charges": %s, "contract": "x"}]}' % number,
                headers={"content-type": "application/json"},
            )
        )
        assert (status, code) == (422, "InvalidInput"), message
        assert message.startswith("body.instances[0].charges: ")
        assert "is not a finite number (JSON has no NaN or Infinity)" in message
    status, _, message = _error(post("/v1/endpoints/churn/predict", json={"instances": []}))
    assert status == 422 and "instances" in message
    status, code, message = _error(post("/v1/endpoints/nope/predict", json={"instances": [ROW]}))
    assert (status, code) == (404, "NotFound") and "Unknown endpoint 'nope'" in message
    status, _, message = _error(post("/v1/endpoints/recs/predict", json={"instances": [ROW]}))
    assert status == 422 and "serves a ranker" in message
    assert _error(client.get("/v1/models/nope"))[:2] == (404, "NotFound")
    assert "Unknown version churn/7" in _error(client.get("/v1/models/churn/versions/7"))[2]
    assert "Unknown alias 'champoin'" in _error(client.get("/v1/models/churn/versions/champoin"))[2]
    status, _, message = _error(
        client.put(
            "/v1/endpoints/churn",
            json={"policy": "single", "params": {"version": "churn@champoin"}},
        )
    )
    assert status == 404 and "champoin" in message
    status, _, message = _error(
        client.put("/v1/endpoints/churn", json={"policy": "singel", "params": {}})
    )
    assert (
        status == 422
        and "Unknown policy 'singel'. Known policies: ab, bandit, blue_green, canary, "
        "interleave, shadow, single."
        in message
    )
    assert client.get("/v1/endpoints/churn").json()["config_version"] == 1


def test_oversized_bodies_are_refused_with_413(
    tmp_path: Path, served: Services, settings: Settings
) -> None:
    from champion.api import create_app

    small = settings.model_copy(update={"max_request_bytes": 2048})
    with local_client(create_app(small)) as client:
        response = client.post("/v1/endpoints/churn/predict", json={"instances": [ROW] * 100})
        assert _error(response)[:2] == (413, "PayloadTooLarge")


def _raw_post(url: str, head: bytes, body: bytes) -> bytes:
    """The server's answer to a hand-written POST (what no HTTP client library sends)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head + b"\r\n" + body)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_bodies_without_a_length_are_counted_and_a_false_length_lets_nothing_through(
    served: Services, settings: Settings
) -> None:
    # A declared Content-Length within the limit is trusted (the server reads exactly that
    # many bytes), so the attacks are the bodies that declare none, or declare two framings.
    row = orjson.dumps({"instances": [ROW] * 200})
    settings.max_request_bytes = 2048
    path = b"POST /v1/endpoints/churn/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    json = b"Content-Type: application/json\r\nConnection: close\r\n"
    with LiveServer(settings) as server:
        chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(row), row)
        answer = _raw_post(server.url, path + json + b"Transfer-Encoding: chunked\r\n", chunked)
        assert answer.startswith(b"HTTP/1.1 413 ") and b"PayloadTooLarge" in answer
        # Both framings at once (request smuggling): the server refuses it before the app.
        both = json + b"Content-Length: 10\r\nTransfer-Encoding: chunked\r\n"
        answer = _raw_post(server.url, path + both, chunked)
        assert answer.startswith((b"HTTP/1.1 400 ", b"HTTP/1.1 413 ")), answer[:200]
        # A short Content-Length: the bytes after it are never part of this body (the
        # server takes them for a next request, finds none and closes the connection).
        small = orjson.dumps({"instances": [ROW]})
        short = json + b"Content-Length: %d\r\n" % len(small)
        answer = _raw_post(server.url, path + short, small + row)
        assert answer.count(b'"label"') <= 1 and b" 500 " not in answer, answer


def test_a_tampered_version_is_refused_and_the_endpoint_unchanged(
    served: Services, client: TestClient, settings: Settings, model_folder: ModelFolders
) -> None:
    folder = model_folder("constant")
    version = served.registry.register(folder, model="churn", actor="tests")
    sha = version.files["constant.py"]
    (settings.artifacts_dir / sha[:2] / sha).write_text("import os\n")
    response = client.put(
        "/v1/endpoints/churn", json={"policy": "single", "params": {"version": "churn/2"}}
    )
    status, code, message = _error(response)
    assert (status, code) == (409, "ArtifactTampered") and "'constant.py'" in message
    assert client.get("/v1/endpoints/churn").json()["params"] == {"version": "churn@champion"}


def _pack(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(folder, arcname="model")
    return buffer.getvalue()


def test_upload_registers_a_packed_folder(
    served: Services, settings: Settings, client: TestClient, model_folder: ModelFolders
) -> None:
    settings.allow_code_uploads = True  # the fixture is a python-flavor version
    response = client.post(
        "/v1/models/churn/versions",
        files={"file": ("model.tar.gz", _pack(model_folder("constant")), "application/gzip")},
        data={"aliases": "challenger", "reason": "retrained"},
    )
    assert response.status_code == 201, response.text
    assert (response.json()["version"], response.json()["aliases"]) == (2, ["challenger"])


def test_upload_refuses_archives_escaping_the_folder(
    served: Services, client: TestClient, tmp_path: Path
) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = b"kind: classifier\n"
        info = tarfile.TarInfo("../../escape/champion.yaml")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    response = client.post(
        "/v1/models/churn/versions",
        files={"file": ("x.tar.gz", buffer.getvalue(), "application/gzip")},
    )
    assert _error(response)[:2] == (422, "InvalidInput")
    assert client.get("/v1/models/churn").json()["version_count"] == 1
    response = client.post(
        "/v1/models/churn/versions", files={"file": ("x.tar.gz", b"not a tar", "application/gzip")}
    )
    assert _error(response)[:2] == (422, "InvalidInput")


def test_values_no_database_stores_are_refused_by_name_in_predictions_and_rankings(
    served: Services, client: TestClient
) -> None:
    # What the event log could not store is a 4xx naming the field, never a lost event.
    predict, rank = "/v1/endpoints/churn/predict", "/v1/endpoints/recs/rank"
    refused = [
        (predict, b'{"unit": "a\\u0000b", "instances": [{"tenure": 3}]}', 422, "body.unit: "),
        (predict, b'{"instances": [{"tenure": 3, "note": "\\ud800"}]}', 400, "body is not valid"),
        (rank, b'{"unit": "u", "k": 2, "context": {"n": 1e999}}', 422, "body.context.n: "),
        (rank, b'{"k": 2, "context": {"seen": [18446744073709551616]}}', 422, "body.context.seen"),
        (rank, b'{"k": 2, "context": {"q": "x\\u0000"}}', 422, "body.context.q: "),
    ]
    for path, body, status, start in refused:
        response = client.post(path, content=body, headers={"content-type": "application/json"})
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"]["message"].startswith(start), (body, response.text)
