"""The Open Inference Protocol v2 (KServe, Triton): a model is an endpoint, a version one of
the versions it serves. Errors answer ``{"error": "..."}`` (see api/errors.py)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from champion import __version__
from champion.api.state import ServerState, state_of
from champion.errors import InvalidInput, MalformedRequest, NotFound
from champion.registry import VersionKey
from champion.registry.manifest import Manifest
from champion.serving.tensors import (
    DATATYPES,
    Tensor,
    decode_inputs,
    encode_outputs,
    field_datatype,
    pack,
)
from champion.validation import check_storable, short_repr

__all__ = ["router"]

router = APIRouter(prefix="/v2", tags=["open inference protocol"])

_HEADER_LENGTH = "inference-header-content-length"
# The body is read by hand (it may carry binary tensors after the JSON); this documents it.
_TENSOR = {
    "type": "object",
    "required": ["name", "shape", "datatype"],
    "properties": {
        "name": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "datatype": {"type": "string", "enum": list(DATATYPES)},
        "parameters": {"type": "object"},
        "data": {"type": "array"},
    },
}
_INFER_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["inputs"],
                    "properties": {
                        "id": {"type": "string"},
                        "parameters": {"type": "object"},
                        "inputs": {"type": "array", "items": _TENSOR},
                        "outputs": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "parameters": {"type": "object"},
                                },
                            },
                        },
                    },
                }
            }
        },
    }
}


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


@router.get("")
def server_metadata() -> dict[str, Any]:
    return {"name": "champion", "version": __version__, "extensions": ["binary_tensor_data"]}


@router.get("/health/live")
def live() -> dict[str, bool]:
    return {"live": True}


@router.get("/health/ready")
def ready(request: Request) -> Response:
    """200 when ``/v1/health/ready`` is; 400 (the protocol's "false") when it is not."""
    if not state_of(request).readiness.check().ready:
        return _json({"ready": False}, 400)
    return _json({"ready": True})


def _versions(state: ServerState, name: str, version: str | None) -> list[VersionKey]:
    """The versions the endpoint serves (the answering one first), or the one asked for."""
    state.services.endpoints.get(name)  # NotFound with the known names
    active = state.serving.status().get(name)
    keys = list(active.policy.versions()) if active is not None and active.policy else []
    if version is None:
        return keys
    chosen = [key for key in keys if str(key.number) == version]
    if not chosen:
        numbers = ", ".join(str(key.number) for key in keys) or "none"
        raise NotFound(f"Model {name!r} has no version {version!r}; versions: {numbers}.")
    return chosen


def _metadata(request: Request, name: str, version: str | None) -> dict[str, Any]:
    state = state_of(request)
    keys = _versions(state, name, version)
    body: dict[str, Any] = {
        "name": name,
        "versions": [str(key.number) for key in keys],
        "platform": "champion",
        "inputs": [],
        "outputs": [],
    }
    if keys:
        found = state.services.registry.get_version(keys[0].model, keys[0].number)
        signature = Manifest.model_validate(found.manifest).signature
        body["inputs"] = [
            {"name": f.name, "datatype": field_datatype(f), "shape": [-1]} for f in signature.inputs
        ]
        body["outputs"] = [
            {"name": f.name, "datatype": field_datatype(f), "shape": [-1]}
            for f in signature.outputs
        ]
    return body


def _ready(request: Request, name: str, version: str | None) -> Response:
    state = state_of(request)
    _versions(state, name, version)
    active = state.serving.status().get(name)
    ok = active is not None and active.error is None
    return _json({"name": name, "ready": ok}, 200 if ok else 400)


def _unit(unit: Any) -> str | None:
    """``parameters.unit``, held to the rules of /v1 predict's ``unit``."""
    if unit is None:
        return None
    if not isinstance(unit, str) or not 1 <= len(unit) <= 256:
        raise InvalidInput(
            f"parameters.unit must be a text of 1 to 256 characters. Got {short_repr(unit)}."
        )
    try:
        check_storable(unit, "parameters.unit")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return unit


def _json_length(header: str | None, size: int) -> int:
    """Where the JSON part ends: the whole body, or the header's length when tensors follow."""
    if header is None:
        return size
    try:
        length = int(header)
    except ValueError:
        length = -1
    if not 0 <= length <= size:
        raise MalformedRequest(
            f"Inference-Header-Content-Length must be a whole number from 0 to the body's "
            f"{size} bytes. Got {header!r} instead."
        )
    return length


async def _infer(request: Request, name: str, version: str | None) -> Response:
    state = state_of(request)
    raw = await request.body()
    split = _json_length(request.headers.get(_HEADER_LENGTH), len(raw))
    try:
        body = orjson.loads(raw[:split])
    except orjson.JSONDecodeError as exc:
        raise MalformedRequest(f"The inference request is not valid JSON: {exc}.") from None
    if not isinstance(body, dict):
        raise InvalidInput("The inference request must be a JSON object with 'inputs'.")
    keys = _versions(state, name, version)
    if not keys:
        raise NotFound(f"Model {name!r} cannot serve now; see GET /v1/endpoints/{name}.")
    loaded = state.serving.runtime.get(keys[0])
    if loaded.version.kind == "ranker":
        raise InvalidInput(f"Endpoint {name!r} serves a ranker: call /v1/endpoints/{name}/rank.")
    instances = decode_inputs(body.get("inputs"), loaded.check_inputs.fields, raw[split:])
    parameters = body.get("parameters") or {}
    unit = _unit(parameters.get("unit") if isinstance(parameters, dict) else None)
    answer = await state.serving.predict(
        name,
        unit,
        instances,
        version=keys[0] if version is not None else None,
    )
    requested, binary = _requested(body, parameters)
    tensors = encode_outputs(answer.served.outputs, [n for n, _ in requested] or None)
    as_binary = (
        {n for n, b in requested if b}
        if requested
        else ({t.name for t in tensors} if binary else set())
    )
    return _answer(body, name, answer.served.version.number, answer.request_id, tensors, as_binary)


def _requested(body: dict[str, Any], parameters: Any) -> tuple[list[tuple[str, bool]], bool]:
    binary_all = bool(isinstance(parameters, dict) and parameters.get("binary_data_output"))
    requested = []
    for index, item in enumerate(body.get("outputs") or []):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise InvalidInput(f"outputs[{index}]: must be an object with a 'name'.")
        params = item.get("parameters") or {}
        binary = params.get("binary_data", binary_all) if isinstance(params, dict) else binary_all
        requested.append((item["name"], bool(binary)))
    return requested, binary_all


def _answer(
    body: dict[str, Any],
    name: str,
    number: int,
    request_id: str,
    tensors: list[Tensor],
    as_binary: set[str],
) -> Response:
    outputs, blobs = [], []
    for tensor in tensors:
        item: dict[str, Any] = {
            "name": tensor.name,
            "datatype": tensor.datatype,
            "shape": tensor.shape,
        }
        if tensor.name in as_binary:
            blob = pack(tensor)
            blobs.append(blob)
            item["parameters"] = {"binary_data_size": len(blob)}
        else:
            item["data"] = tensor.data
        outputs.append(item)
    header: dict[str, Any] = {
        "model_name": name,
        "model_version": str(number),
        "id": body.get("id") if isinstance(body.get("id"), str) else request_id,
        # The id to send feedback with (POST /v1/feedback).
        "parameters": {"request_id": request_id},
        "outputs": outputs,
    }
    encoded = orjson.dumps(header)
    if not blobs:
        return Response(encoded, media_type="application/json")
    return Response(
        encoded + b"".join(blobs),
        media_type="application/octet-stream",
        headers={"Inference-Header-Content-Length": str(len(encoded))},
    )


@router.get("/models/{name}")
def model_metadata(name: str, request: Request) -> dict[str, Any]:
    return _metadata(request, name, None)


@router.get("/models/{name}/versions/{version}")
def version_metadata(name: str, version: str, request: Request) -> dict[str, Any]:
    return _metadata(request, name, version)


@router.get("/models/{name}/ready")
def model_ready(name: str, request: Request) -> Response:
    return _ready(request, name, None)


@router.get("/models/{name}/versions/{version}/ready")
def version_ready(name: str, version: str, request: Request) -> Response:
    return _ready(request, name, version)


@router.post("/models/{name}/infer", openapi_extra=_INFER_BODY)
async def infer(name: str, request: Request) -> Response:
    """Predict with the endpoint's policy (``parameters.unit`` names the unit)."""
    return await _infer(request, name, None)


@router.post("/models/{name}/versions/{version}/infer", openapi_extra=_INFER_BODY)
async def version_infer(name: str, version: str, request: Request) -> Response:
    """Predict with that version alone, outside the policy (logged under the arm 'pinned')."""
    return await _infer(request, name, version)
