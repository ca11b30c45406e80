"""Open Inference Protocol v2 tensors ↔ champion instances and outputs.

A request's named inputs are the signature's fields, each a tensor of shape ``[N]`` or
``[N, 1]`` holding one value per instance; the answer's outputs are the fields of the model's
output objects (nested objects flattened with dots: ``probabilities.1``). Both the JSON form
and the binary tensor extension (``binary_data_size``; what tritonclient sends by default)
are read and written.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from champion.errors import InvalidInput
from champion.registry.manifest import FieldSpec
from champion.registry.signature import MAX_INSTANCES
from champion.types import Instance, Json
from champion.validation import MAX_ID

__all__ = ["DATATYPES", "Tensor", "decode_inputs", "encode_outputs", "field_datatype", "pack"]

_NUMERIC = {
    "BOOL": "?",
    "UINT8": "<u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "<i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
}
DATATYPES = (*_NUMERIC, "BYTES")
_ACCEPTED = {
    "integer": {d for d in _NUMERIC if "INT" in d},
    "number": {d for d in _NUMERIC if d != "BOOL"},
    "string": {"BYTES"},
    "boolean": {"BOOL"},
}
_FIELD_DATATYPE = {"integer": "INT64", "number": "FP64", "string": "BYTES", "boolean": "BOOL"}
# What an integer datatype holds, within what the event log stores (a signed 64-bit integer).
_INTEGER_RANGE = {
    d: (int(np.iinfo(_NUMERIC[d]).min), min(int(np.iinfo(_NUMERIC[d]).max), MAX_ID))
    for d in _ACCEPTED["integer"]
}


def field_datatype(spec: FieldSpec) -> str:
    """The datatype a signature field is described with in model metadata."""
    return _FIELD_DATATYPE[spec.type]


@dataclass(frozen=True)
class Tensor:
    name: str
    datatype: str
    shape: list[int]
    data: list[Any]


def _fail(message: str) -> InvalidInput:
    return InvalidInput(message)


def _flatten(data: Any) -> list[Any]:
    """Row-major values of nested lists (iteratively: the depth is the sender's choice)."""
    flat: list[Any] = []
    stack = [iter([data])]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            flat.append(item)
        else:
            stack.pop()
    return flat


def _read_binary(datatype: str, raw: bytes, name: str) -> list[Any]:
    if datatype == "BYTES":
        values, offset = [], 0
        while offset < len(raw):
            if offset + 4 > len(raw):
                raise _fail(f"Input {name!r}: truncated BYTES element length.")
            (size,) = struct.unpack_from("<I", raw, offset)
            offset += 4
            if offset + size > len(raw):
                raise _fail(f"Input {name!r}: truncated BYTES element.")
            values.append(raw[offset : offset + size])
            offset += size
        return values
    dtype = np.dtype(_NUMERIC[datatype])
    if len(raw) % dtype.itemsize:
        raise _fail(f"Input {name!r}: {len(raw)} bytes is not a whole number of {datatype}.")
    return list(np.frombuffer(raw, dtype=dtype).tolist())


def _tensor(raw: Any, index: int, binary: memoryview, offset: int) -> tuple[Tensor, int]:
    where = f"inputs[{index}]"
    if not isinstance(raw, dict):
        raise _fail(f"{where}: must be an object with name, shape, datatype and data.")
    name, datatype, shape = raw.get("name"), raw.get("datatype"), raw.get("shape")
    if not isinstance(name, str) or not name:
        raise _fail(f"{where}.name: must be a non-empty string, got {name!r}.")
    if datatype not in DATATYPES:
        raise _fail(f"{where}.datatype: {datatype!r} is not one of {', '.join(DATATYPES)}.")
    if not (
        isinstance(shape, list)
        and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise _fail(f"{where}.shape: must be a list of non-negative integers, got {shape!r}.")
    parameters = raw.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise _fail(f"{where}.parameters: must be an object, got {parameters!r}.")
    size = parameters.get("binary_data_size")
    if size is not None:
        if not isinstance(size, int) or size < 0 or offset + size > len(binary):
            raise _fail(f"{where}: binary_data_size {size!r} exceeds the binary data sent.")
        data = _read_binary(datatype, bytes(binary[offset : offset + size]), name)
        offset += size
    elif "data" in raw:
        data = _flatten(raw["data"])
    else:
        raise _fail(f"{where}: has neither data nor parameters.binary_data_size.")
    if len(data) != math.prod(shape):
        raise _fail(f"{where}: shape {shape} holds {math.prod(shape)} values, got {len(data)}.")
    return Tensor(name, datatype, shape, data), offset


def _value(spec: FieldSpec, tensor: Tensor, value: Any) -> Any:
    if value is None and spec.nullable:
        return None
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if spec.type == "string" and isinstance(value, bytes | str):
        try:
            text = value.decode() if isinstance(value, bytes) else value
        except UnicodeDecodeError:
            pass
        else:
            if "\x00" not in text:  # no database stores it in text
                return text
    elif spec.type == "boolean" and isinstance(value, bool):
        return value
    elif spec.type == "integer" and number and float(value).is_integer():
        low, high = _INTEGER_RANGE[tensor.datatype]
        if low <= int(value) <= high:
            return int(value)
    elif spec.type == "number" and number and math.isfinite(value):
        return float(value)
    raise _fail(f"Input {tensor.name!r}: {value!r} is not a valid {spec.type} ({tensor.datatype}).")


def decode_inputs(inputs: Any, fields: Sequence[FieldSpec], binary: bytes = b"") -> list[Instance]:
    """Turn a request's ``inputs`` (and its binary tail) into instances of the signature."""
    if not isinstance(inputs, list) or not inputs:
        raise _fail("inputs: must be a non-empty list of tensors.")
    view, offset = memoryview(binary), 0
    tensors: dict[str, Tensor] = {}
    for index, raw in enumerate(inputs):
        tensor, offset = _tensor(raw, index, view, offset)
        if tensor.name in tensors:
            raise _fail(f"inputs: {tensor.name!r} is given twice.")
        tensors[tensor.name] = tensor
    specs = {spec.name: spec for spec in fields}
    names = ", ".join(specs) or "(none)"
    unknown = [name for name in tensors if name not in specs]
    if unknown:
        raise _fail(f"Unknown input {unknown[0]!r}; the model takes the inputs {names}.")
    missing = [n for n, s in specs.items() if n not in tensors and not s.nullable]
    if missing:
        raise _fail(f"Missing input {missing[0]!r}; the model takes the inputs {names}.")
    rows = {t.shape[0] if t.shape else 1 for t in tensors.values()}
    for tensor in tensors.values():
        spec = specs[tensor.name]
        if len(tensor.shape) not in (1, 2) or (len(tensor.shape) == 2 and tensor.shape[1] != 1):
            raise _fail(
                f"Input {tensor.name!r}: shape {tensor.shape}; send one value per instance, "
                "shape [N] or [N, 1]."
            )
        if tensor.datatype not in _ACCEPTED[spec.type]:
            expected = ", ".join(sorted(_ACCEPTED[spec.type]))
            raise _fail(
                f"Input {tensor.name!r} has datatype {tensor.datatype}; the field is "
                f"{spec.type}: send one of {expected}."
            )
    if len(rows) != 1:
        raise _fail(f"inputs: every input needs the same number of instances, got {sorted(rows)}.")
    count = rows.pop()
    if not 1 <= count <= MAX_INSTANCES:
        raise _fail(f"inputs: send 1 to {MAX_INSTANCES:,} instances, got {count:,}.")
    instances: list[Instance] = [{} for _ in range(count)]
    for name, tensor in tensors.items():
        for row, value in zip(instances, tensor.data, strict=True):
            row[name] = _value(specs[name], tensor, value)
    for name in specs:
        if name not in tensors:
            for row in instances:
                row[name] = None
    return instances


def _columns(outputs: list[Json]) -> dict[str, list[Any]]:
    columns: dict[str, list[Any]] = {}

    def walk(prefix: str, value: Any, row: int) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner, row)
            return
        column = columns.setdefault(prefix or "output", [None] * len(outputs))
        column[row] = value

    for row, output in enumerate(outputs):
        walk("", output, row)
    return columns


def _typed(name: str, values: list[Any]) -> Tensor:
    count = len(values)
    if all(isinstance(v, bool) for v in values):
        return Tensor(name, "BOOL", [count], values)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return Tensor(name, "INT64", [count], values)
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return Tensor(name, "FP64", [count], [float(v) for v in values])
    if all(isinstance(v, str) for v in values):
        return Tensor(name, "BYTES", [count], values)
    lists = [v for v in values if isinstance(v, list)]
    if len(lists) == count and count and len({len(v) for v in lists}) == 1:
        flat = [x for v in lists for x in v]
        if all(isinstance(x, int | float) and not isinstance(x, bool) for x in flat):
            return Tensor(name, "FP64", [count, len(lists[0])], [float(x) for x in flat])
    # Anything else (mixed types, missing values) travels as one JSON document per instance.
    return Tensor(name, "BYTES", [count], [orjson.dumps(v).decode() for v in values])


def encode_outputs(outputs: list[Json], requested: Sequence[str] | None = None) -> list[Tensor]:
    """The model's outputs, one per instance, as named tensors (``requested`` ones only)."""
    tensors = [_typed(name, values) for name, values in _columns(outputs).items()]
    if requested:
        by_name = {t.name: t for t in tensors}
        missing = [name for name in requested if name not in by_name]
        if missing:
            raise _fail(f"Unknown output {missing[0]!r}; the model answers {', '.join(by_name)}.")
        tensors = [by_name[name] for name in requested]
    return tensors


def pack(tensor: Tensor) -> bytes:
    """The tensor's data in the binary tensor extension's layout (little-endian, row-major)."""
    if tensor.datatype == "BYTES":
        chunks = []
        for value in tensor.data:
            raw = value if isinstance(value, bytes) else str(value).encode()
            chunks.append(struct.pack("<I", len(raw)) + raw)
        return b"".join(chunks)
    return np.asarray(tensor.data, dtype=_NUMERIC[tensor.datatype]).tobytes()
