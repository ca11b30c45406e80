"""Open Inference Protocol v2: the JSON form here, a real third-party client at the end."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from champion.services import Services
from tests.conftest import LiveServer, ModelFolders

INPUTS = [
    {"name": "tenure", "datatype": "INT64", "shape": [2], "data": [3, 40]},
    {"name": "charges", "datatype": "FP32", "shape": [2, 1], "data": [[12.5], [80.0]]},
    {"name": "contract", "datatype": "BYTES", "shape": [2], "data": ["Month-to-month", "Two year"]},
]


def test_health_metadata_and_readiness(served: Services, client: TestClient) -> None:
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").json() == {"ready": True}
    assert "binary_tensor_data" in client.get("/v2").json()["extensions"]
    metadata = client.get("/v2/models/churn").json()
    assert metadata["versions"] == ["1"]
    assert metadata["inputs"] == [
        {"name": "tenure", "datatype": "INT64", "shape": [-1]},
        {"name": "charges", "datatype": "FP64", "shape": [-1]},
        {"name": "contract", "datatype": "BYTES", "shape": [-1]},
    ]
    assert client.get("/v2/models/churn/versions/1").json()["versions"] == ["1"]
    assert client.get("/v2/models/churn/ready").json() == {"name": "churn", "ready": True}
    assert client.get("/v2/models/churn/versions/1/ready").status_code == 200
    missing = client.get("/v2/models/churn/versions/7/ready")
    assert missing.status_code == 404
    assert missing.json() == {"error": "Model 'churn' has no version '7'; versions: 1."}


def test_infer_maps_named_tensors_onto_the_signature(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    body = {"id": "req-1", "inputs": INPUTS, "parameters": {"unit": "u1"}}
    answer = client.post("/v2/models/churn/infer", json=body).json()
    assert (answer["model_name"], answer["model_version"], answer["id"]) == ("churn", "1", "req-1")
    assert answer["outputs"] == [
        {"name": "score", "datatype": "FP64", "shape": [2], "data": [0.25, 0.25]}
    ]
    request_id = answer["parameters"]["request_id"]
    feedback = {"request_id": request_id, "kind": "label", "label": 1}
    assert client.post("/v1/feedback", json=feedback).status_code == 201
    # A version pinned by the path answers alone, outside the policy.
    folder = model_folder("constant")
    (folder / "score.txt").write_text("0.75")
    served.registry.register(folder, model="churn", actor="tests")
    canary = {"champion": "churn/1", "challenger": "churn/2", "share": 0.0}
    assert client.put("/v1/endpoints/churn", json={"policy": "canary", "params": canary}).is_success
    pinned = client.post("/v2/models/churn/versions/2/infer", json={"inputs": INPUTS}).json()
    assert (pinned["model_version"], pinned["outputs"][0]["data"]) == ("2", [0.75, 0.75])
    routed = client.post("/v2/models/churn/infer", json={"inputs": INPUTS}).json()
    assert routed["model_version"] == "1"  # share 0: the policy sends everyone to the champion


def _error(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["error"]


@pytest.mark.parametrize(
    ("inputs", "status", "message"),
    [
        (INPUTS[:2], 422, "Missing input 'contract'; the model takes the inputs tenure, charges"),
        (
            [*INPUTS, {"name": "age", "datatype": "INT64", "shape": [2], "data": [1, 2]}],
            422,
            "Unknown input 'age'",
        ),
        (
            [INPUTS[0] | {"data": [3.5, 4.0]}, *INPUTS[1:]],
            422,
            "Input 'tenure': 3.5 is not a valid integer (INT64)",
        ),
        # Values the datatype (or the event log's 64-bit integers) cannot hold, and NUL in text.
        (
            [INPUTS[0] | {"data": [3, -1e20]}, *INPUTS[1:]],
            422,
            "Input 'tenure': -1e+20 is not a valid integer (INT64)",
        ),
        (
            [INPUTS[0] | {"datatype": "INT8", "data": [3, 1000]}, *INPUTS[1:]],
            422,
            "Input 'tenure': 1000 is not a valid integer (INT8)",
        ),
        (
            [*INPUTS[:2], INPUTS[2] | {"data": ["a\x00b", "Two year"]}],
            422,
            "Input 'contract': 'a\\x00b' is not a valid string (BYTES)",
        ),
        (
            [INPUTS[0] | {"datatype": "FP32"}, *INPUTS[1:]],
            422,
            "Input 'tenure' has datatype FP32; the field is integer: send one of INT16",
        ),
        ([INPUTS[0] | {"shape": [3]}, *INPUTS[1:]], 422, "shape [3] holds 3 values, got 2"),
        ([INPUTS[0] | {"datatype": "INT65"}], 422, "inputs[0].datatype: 'INT65' is not one of"),
        ([INPUTS[0] | {"shape": [1], "data": [1]}, *INPUTS[1:]], 422, "the same number"),
        ([], 422, "inputs: must be a non-empty list"),
    ],
)
def test_bad_inference_requests_get_the_protocols_error_and_a_4xx(
    served: Services, client: TestClient, inputs: list[Any], status: int, message: str
) -> None:
    got_status, got_message = _error(client.post("/v2/models/churn/infer", json={"inputs": inputs}))
    assert got_status == status and message in got_message


def test_requests_the_protocol_refuses_before_any_model_runs(
    served: Services, client: TestClient
) -> None:
    assert _error(client.post("/v2/models/nope/infer", json={"inputs": INPUTS}))[0] == 404
    status, message = _error(client.post("/v2/models/recs/infer", json={"inputs": INPUTS}))
    assert status == 422 and "serves a ranker" in message
    response = client.post(
        "/v2/models/churn/infer", content=b"{no", headers={"content-type": "application/json"}
    )
    assert _error(response)[0] == 400
    response = client.post(
        "/v2/models/churn/infer",
        content=b'{"inputs": [{"name": "charges", "datatype": "FP32", "shape": [1], "data": '
        b"[1e999]}]}",
        headers={"content-type": "application/json"},
    )
    assert _error(response) == (
        400,
        "The inference request is not valid JSON: number is infinity when parsed as double: "
        "line 1 column 76 (char 75).",
    )
    response = client.post(
        "/v2/models/churn/infer",
        json={"inputs": INPUTS},
        headers={"inference-header-content-length": "99999"},
    )
    status, message = _error(response)
    assert status == 400 and "Inference-Header-Content-Length must be a whole number" in message
    response = client.post(
        "/v2/models/churn/infer",
        json={"inputs": INPUTS, "outputs": [{"name": "probability"}]},
    )
    assert _error(response) == (422, "Unknown output 'probability'; the model answers score.")
    assert client.get("/v2/models/churn/nope").json() == {"error": "Not Found"}


def test_tritonclient_calls_a_running_server(served: Services, live_server: LiveServer) -> None:
    import tritonclient.http as triton
    from tritonclient.utils import InferenceServerException

    url = live_server.url.removeprefix("http://")
    client = triton.InferenceServerClient(url=url)
    try:
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready("churn") and client.is_model_ready("churn", "1")
        metadata = client.get_model_metadata("churn")
        assert [i["name"] for i in metadata["inputs"]] == ["tenure", "charges", "contract"]

        tenure = triton.InferInput("tenure", [3], "INT64")
        charges = triton.InferInput("charges", [3, 1], "FP32")
        contract = triton.InferInput("contract", [3], "BYTES")
        for binary in (True, False):  # the binary tensor extension, then the JSON form
            tenure.set_data_from_numpy(np.array([1, 2, 3], dtype=np.int64), binary_data=binary)
            charges.set_data_from_numpy(
                np.array([[1.5], [2.5], [3.5]], dtype=np.float32), binary_data=binary
            )
            contract.set_data_from_numpy(
                np.array([b"Month-to-month", b"One year", b"Two year"], dtype=np.object_),
                binary_data=binary,
            )
            outputs = [triton.InferRequestedOutput("score", binary_data=binary)]
            # The JSON form is a body without a content type: an open server wants it to say
            # it comes from no browser's form (the binary form's own header says so).
            headers = None if binary else {"X-Champion-Request": "1"}
            result = client.infer(
                "churn", [tenure, charges, contract], outputs=outputs, headers=headers
            )
            np.testing.assert_array_equal(result.as_numpy("score"), np.array([0.25] * 3))
            assert result.get_response()["model_version"] == "1"
        # All outputs; the inputs are still in the JSON form.
        result = client.infer("churn", [tenure, charges, contract], headers=headers)
        np.testing.assert_array_equal(result.as_numpy("score"), np.array([0.25] * 3))

        wrong = triton.InferInput("tenure", [3], "FP32")
        wrong.set_data_from_numpy(np.array([1.5, 2, 3], dtype=np.float32))
        with pytest.raises(InferenceServerException, match="has datatype FP32"):
            client.infer("churn", [wrong, charges, contract])
        with pytest.raises(InferenceServerException, match="Unknown endpoint 'nope'"):
            client.get_model_metadata("nope")
    finally:
        client.close()
