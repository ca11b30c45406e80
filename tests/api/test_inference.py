"""Open Inference Protocol v2: the JSON form here, a real third-party client at the end."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import yaml
from fastapi.testclient import TestClient

from champion.services import Services
from tests.conftest import LiveServer, ModelFolders

ONE_DATABASE = (
    "The protocol's parsing and answers do not depend on the database; the prediction events it "
    "writes are the /predict route's, tested on both databases."
)


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
        (INPUTS[:2], 400, "Missing input 'contract'; the model takes the inputs tenure, charges"),
        (
            [*INPUTS, {"name": "age", "datatype": "INT64", "shape": [2], "data": [1, 2]}],
            400,
            "Unknown input 'age'",
        ),
        (
            [INPUTS[0] | {"data": [3.5, 4.0]}, *INPUTS[1:]],
            400,
            "Input 'tenure': 3.5 is not a valid integer (INT64)",
        ),
        # Values the datatype (or the event log's 64-bit integers) cannot hold, and NUL in text.
        (
            [INPUTS[0] | {"data": [3, -1e20]}, *INPUTS[1:]],
            400,
            "Input 'tenure': -1e+20 is not a valid integer (INT64)",
        ),
        (
            [INPUTS[0] | {"datatype": "INT8", "data": [3, 1000]}, *INPUTS[1:]],
            400,
            "Input 'tenure': 1000 is not a valid integer (INT8)",
        ),
        (
            [*INPUTS[:2], INPUTS[2] | {"data": ["a\x00b", "Two year"]}],
            400,
            "Input 'contract': 'a\\x00b' is not a valid string (BYTES)",
        ),
        (
            [INPUTS[0] | {"datatype": "FP32"}, *INPUTS[1:]],
            400,
            "Input 'tenure' has datatype FP32; the field is integer: send one of INT16",
        ),
        ([INPUTS[0] | {"shape": [3]}, *INPUTS[1:]], 400, "shape [3] holds 3 values, got 2"),
        ([INPUTS[0] | {"datatype": "INT65"}], 400, "inputs[0].datatype: 'INT65' is not one of"),
        ([INPUTS[0] | {"shape": [1], "data": [1]}, *INPUTS[1:]], 400, "the same number"),
        ([], 400, "inputs: must be a non-empty list"),
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
    assert status == 400 and "Unknown input 'tenure'; the model takes the inputs k" in message
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
    assert _error(response) == (400, "Unknown output 'probability'; the model answers score.")
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


def test_metadata_lists_outputs_declared_or_profiled_and_a_rankers_tensors(
    served: Services, client: TestClient, model_folder: ModelFolders
) -> None:
    from tests.drift.traffic import customers

    # Declared in the signature.
    folder = model_folder("constant")
    manifest = yaml.safe_load((folder / "champion.yaml").read_text())
    manifest["signature"]["outputs"] = [{"name": "score", "type": "number"}]
    (folder / "champion.yaml").write_text(yaml.safe_dump(manifest))
    served.registry.register(folder, model="declared", actor="tests")
    single = {"policy": "single", "params": {"version": "declared/1"}}
    assert client.put("/v1/endpoints/declared", json=single).is_success
    # Not declared: from the reference profile, what the version answered on its data.
    served.registry.register(model_folder("scorer"), model="profiled", actor="tests")
    served.references.compute("profiled/1", customers(300, seed=1), actor="tests")
    single = {"policy": "single", "params": {"version": "profiled/1"}}
    assert client.put("/v1/endpoints/profiled", json=single).is_success

    declared = client.get("/v2/models/declared").json()
    assert declared["outputs"] == [{"name": "score", "datatype": "FP64", "shape": [-1]}]
    profiled = client.get("/v2/models/profiled").json()
    names = [o["name"] for o in profiled["outputs"]]
    answer = client.post("/v2/models/profiled/infer", json={"inputs": INPUTS}).json()
    assert names and names == [o["name"] for o in answer["outputs"]]  # what infer answers
    assert {o["datatype"] for o in profiled["outputs"]} <= {"FP64", "BYTES"}

    ranker = client.get("/v2/models/recs").json()
    assert ranker["inputs"] == [{"name": "k", "datatype": "INT64", "shape": [1]}]
    assert ranker["outputs"] == [
        {"name": "items", "datatype": "BYTES", "shape": [-1]},
        {"name": "scores", "datatype": "FP64", "shape": [-1]},
    ]
    k = [{"name": "k", "datatype": "INT64", "shape": [1], "data": [2]}]
    ranked = client.post("/v2/models/recs/infer", json={"inputs": k}).json()
    assert [o["name"] for o in ranked["outputs"]] == ["items", "scores"]
    assert ranked["outputs"][0] == {"name": "items", "datatype": "BYTES", "shape": [2],
                                    "data": ["a", "b"]}  # fmt: skip
    too_many = [{"name": "k", "datatype": "INT64", "shape": [1], "data": [5000]}]
    status, message = _error(client.post("/v2/models/recs/infer", json={"inputs": too_many}))
    assert (status, message) == (400, "Input 'k' must be from 1 to 1000. Got 5000.")


@pytest.fixture
def declared(served: Services, model_folder: ModelFolders) -> Services:
    """An endpoint 'declared' whose version's signature declares its output."""
    folder = model_folder("constant")
    manifest = yaml.safe_load((folder / "champion.yaml").read_text())
    manifest["signature"]["outputs"] = [{"name": "score", "type": "number"}]
    (folder / "champion.yaml").write_text(yaml.safe_dump(manifest))
    served.registry.register(folder, model="declared", actor="tests")
    served.endpoints.set("declared", "single", {"version": "declared/1"}, actor="tests")
    return served


def test_tritonclient_discovers_inputs_and_outputs_from_metadata(
    declared: Services, live_server: LiveServer
) -> None:
    import tritonclient.http as triton
    from tritonclient.utils import InferenceServerException, triton_to_np_dtype

    client = triton.InferenceServerClient(url=live_server.url.removeprefix("http://"))
    values = {"tenure": [3, 40], "charges": [12.5, 80.0], "contract": [b"a", b"b"]}
    try:
        metadata = client.get_model_metadata("declared")
        inputs = []
        for spec in metadata["inputs"]:  # as a generic tool does: only from the metadata
            tensor = triton.InferInput(spec["name"], [2], spec["datatype"])
            dtype = triton_to_np_dtype(spec["datatype"])
            tensor.set_data_from_numpy(np.array(values[spec["name"]], dtype=dtype))
            inputs.append(tensor)
        outputs = [triton.InferRequestedOutput(o["name"]) for o in metadata["outputs"]]
        assert [o["name"] for o in metadata["outputs"]] == ["score"]
        result = client.infer("declared", inputs, outputs=outputs)
        for spec in metadata["outputs"]:
            array = result.as_numpy(spec["name"])
            assert array is not None and array.dtype == triton_to_np_dtype(spec["datatype"])
        np.testing.assert_array_equal(result.as_numpy("score"), np.array([0.25, 0.25]))

        # A wrong value is the 400 Triton answers, with the protocol's error body.
        wrong = triton.InferInput("tenure", [2], "FP32")
        wrong.set_data_from_numpy(np.array([1.5, 2.0], dtype=np.float32))
        with pytest.raises(InferenceServerException) as raised:
            client.infer("declared", [wrong, *inputs[1:]])
        assert raised.value.status() == "400" and "has datatype FP32" in str(raised.value)

        ranker = client.get_model_metadata("recs")
        assert [o["name"] for o in ranker["outputs"]] == ["items", "scores"]
        k = triton.InferInput("k", [1], "INT64")
        k.set_data_from_numpy(np.array([3], dtype=np.int64))
        ranked = client.infer("recs", [k])
        assert ranked.as_numpy("items").tolist() == [b"a", b"b", b"c"]
    finally:
        client.close()
