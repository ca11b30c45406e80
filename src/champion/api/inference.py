"""The Open Inference Protocol v2 (KServe, Triton): a model is an endpoint, a version one of
the versions it serves. Errors answer ``{"error": "..."}`` (see api/errors.py)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from champion import __version__
from champion.answers import (
    InferAnswer,
    ModelMetadata,
    ModelReady,
    ServerLive,
    ServerMetadata,
    ServerReady,
)
from champion.api.answers import OIP_ERRORS, OIP_INFER, OIP_LOOKUP, oip_readiness
from champion.api.schemas import EndpointName
from champion.api.state import ServerState, state_of
from champion.errors import InvalidInput, MalformedRequest, NotFound
from champion.registry import VersionKey
from champion.registry.manifest import FieldSpec, Manifest
from champion.serving.policies import ServedItem
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

router = APIRouter(prefix="/v2", tags=["open inference protocol"], responses=OIP_ERRORS)

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


@router.get("", response_model=ServerMetadata)
def server_metadata() -> dict[str, Any]:
    return {"name": "champion", "version": __version__, "extensions": ["binary_tensor_data"]}


@router.get("/health/live", response_model=ServerLive)
def live() -> dict[str, bool]:
    return {"live": True}


@router.get("/health/ready", response_model=ServerReady, responses=oip_readiness(ServerReady))
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
    """Inputs from the answering version's signature; outputs from its signature's
    ``outputs``, else from its reference profile (what it answered on its training data).
    A ranker takes its context fields and ``k`` (INT64 [1]) and answers ``items`` and
    ``scores``, each [k], in rank order."""
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
        body["inputs"] = [_tensor_spec(f.name, field_datatype(f)) for f in signature.inputs]
        if found.kind == "ranker":
            body["inputs"].append(_tensor_spec("k", "INT64", [1]))
            body["outputs"] = list(_RANKER_OUTPUTS)
        elif signature.outputs:
            body["outputs"] = [_tensor_spec(f.name, field_datatype(f)) for f in signature.outputs]
        else:
            body["outputs"] = _profiled_outputs(state, keys[0])
    return body


def _tensor_spec(name: str, datatype: str, shape: list[int] | None = None) -> dict[str, Any]:
    return {"name": name, "datatype": datatype, "shape": shape or [-1]}


_RANKER_OUTPUTS = (_tensor_spec("items", "BYTES"), _tensor_spec("scores", "FP64"))


def _profiled_outputs(state: ServerState, key: VersionKey) -> list[dict[str, Any]]:
    # The reference profile names each output column as the tensors do, under "output.".
    stored = state.services.references.find(key)
    if stored is None:
        return []
    kinds = {c.name: c.kind for c in stored.profile.columns}
    return [
        _tensor_spec(
            column.removeprefix("output."), "FP64" if kinds.get(column) == "numeric" else "BYTES"
        )
        for column in stored.output_columns
    ]


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
    parameters = body.get("parameters") or {}
    unit = _unit(parameters.get("unit") if isinstance(parameters, dict) else None)
    requested, binary = _requested(body, parameters)
    names = [n for n, _ in requested] or None
    fields = loaded.check_inputs.fields
    if loaded.version.kind == "ranker":
        if version is not None:
            raise InvalidInput(
                f"A ranker is asked through its endpoint's policy: call /v2/models/{name}/infer."
            )
        context, k = _ranker_inputs(body.get("inputs"), fields, raw[split:])
        answer = await state.serving.rank(name, unit, k, context)
        tensors = _ranked(answer.served.items, names)
    else:
        instances = decode_inputs(body.get("inputs"), fields, raw[split:])
        answer = await state.serving.predict(
            name,
            unit,
            instances,
            version=keys[0] if version is not None else None,
        )
        tensors = encode_outputs(answer.served.outputs, names)
    as_binary = (
        {n for n, b in requested if b}
        if requested
        else ({t.name for t in tensors} if binary else set())
    )
    return _answer(body, name, answer.served.version.number, answer.request_id, tensors, as_binary)


_K = FieldSpec(name="k", type="integer", nullable=True)
MAX_K = 1000  # as POST /v1/endpoints/{endpoint}/rank


def _ranker_inputs(
    inputs: Any, fields: Sequence[FieldSpec], binary: bytes
) -> tuple[dict[str, Any], int]:
    """One ranking: the context fields and ``k`` (default 10), one value each."""
    if not inputs:  # no context, the default k: a ranker may take nothing at all
        return {}, 10
    instances = decode_inputs(inputs, [*fields, _K], binary)
    if len(instances) != 1:
        raise InvalidInput(
            f"A ranker ranks for one context at a time: send each input with shape [1]; got "
            f"{len(instances)} values each."
        )
    context = dict(instances[0])
    k = context.pop("k", None)
    k = 10 if k is None else k
    if not 1 <= k <= MAX_K:
        raise InvalidInput(f"Input 'k' must be from 1 to {MAX_K}. Got {k!r}.")
    return context, k


def _ranked(items: Sequence[ServedItem], requested: list[str] | None) -> list[Tensor]:
    tensors = [
        Tensor("items", "BYTES", [len(items)], [i.item for i in items]),
        # A ranker that gives no score for an item: NaN (null in the JSON form).
        Tensor("scores", "FP64", [len(items)], [_score(i.score) for i in items]),
    ]
    if requested:
        by_name = {t.name: t for t in tensors}
        unknown = [n for n in requested if n not in by_name]
        if unknown:
            raise InvalidInput(f"Unknown output {unknown[0]!r}; a ranker answers items, scores.")
        tensors = [by_name[n] for n in requested]
    return tensors


def _score(score: float | None) -> float:
    return math.nan if score is None else float(score)


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


@router.get("/models/{name}", response_model=ModelMetadata, responses=OIP_LOOKUP)
def model_metadata(name: EndpointName, request: Request) -> dict[str, Any]:
    return _metadata(request, name, None)


@router.get("/models/{name}/versions/{version}", response_model=ModelMetadata, responses=OIP_LOOKUP)
def version_metadata(name: EndpointName, version: str, request: Request) -> dict[str, Any]:
    return _metadata(request, name, version)


@router.get("/models/{name}/ready", response_model=ModelReady, responses=oip_readiness(ModelReady))
def model_ready(name: EndpointName, request: Request) -> Response:
    return _ready(request, name, None)


@router.get(
    "/models/{name}/versions/{version}/ready",
    response_model=ModelReady,
    responses=oip_readiness(ModelReady),
)
def version_ready(name: EndpointName, version: str, request: Request) -> Response:
    return _ready(request, name, version)


@router.post(
    "/models/{name}/infer",
    openapi_extra=_INFER_BODY,
    response_model=InferAnswer,
    responses=OIP_INFER,
)
async def infer(name: EndpointName, request: Request) -> Response:
    """Predict with the endpoint's policy (``parameters.unit`` names the unit)."""
    return await _infer(request, name, None)


@router.post(
    "/models/{name}/versions/{version}/infer",
    openapi_extra=_INFER_BODY,
    response_model=InferAnswer,
    responses=OIP_INFER,
)
async def version_infer(name: EndpointName, version: str, request: Request) -> Response:
    """Predict with that version alone, outside the policy (logged under the arm 'pinned')."""
    return await _infer(request, name, version)
