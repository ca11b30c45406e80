from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pytest

from champion.errors import InvalidInput
from champion.registry.manifest import FieldSpec
from champion.serving.tensors import decode_inputs, encode_outputs, pack

FIELDS = [
    FieldSpec(name="age", type="integer"),
    FieldSpec(name="city", type="string"),
    FieldSpec(name="score", type="number", nullable=True),
]


def test_binary_tensors_decode_like_their_json_form() -> None:
    ages = np.array([30, 41], dtype=np.int32).tobytes()
    cities = b"".join(struct.pack("<I", len(c)) + c for c in (b"Oslo", "Zürich".encode()))
    inputs: list[dict[str, Any]] = [
        {"name": "age", "datatype": "INT32", "shape": [2], "parameters": {"binary_data_size": 8}},
        {"name": "city", "datatype": "BYTES", "shape": [2, 1]},
    ]
    inputs[1]["parameters"] = {"binary_data_size": len(cities)}
    rows = decode_inputs(inputs, FIELDS, ages + cities)
    assert rows == [
        {"age": 30, "city": "Oslo", "score": None},  # a nullable field may be left out
        {"age": 41, "city": "Zürich", "score": None},
    ]
    with pytest.raises(InvalidInput, match="binary_data_size 8 exceeds the binary data sent"):
        decode_inputs(inputs, FIELDS, ages[:4])


def test_outputs_become_typed_tensors_and_nested_objects_dotted_names() -> None:
    outputs = [
        {"label": 1, "probabilities": {"0": 0.2, "1": 0.8}, "ok": True, "tags": ["a"]},
        {"label": 0, "probabilities": {"0": 0.9, "1": 0.1}, "ok": False, "tags": ["b", "c"]},
    ]
    tensors = {t.name: t for t in encode_outputs(outputs)}
    assert [(t.datatype, t.shape) for t in tensors.values()] == [
        ("INT64", [2]),
        ("FP64", [2]),
        ("FP64", [2]),
        ("BOOL", [2]),
        ("BYTES", [2]),  # ragged lists travel as JSON
    ]
    assert tensors["probabilities.1"].data == [0.8, 0.1]
    assert tensors["tags"].data == ['["a"]', '["b","c"]']
    assert np.frombuffer(pack(tensors["probabilities.1"]), "<f8").tolist() == [0.8, 0.1]
    assert pack(tensors["tags"])[:4] == struct.pack("<I", 5)
    [only] = encode_outputs([[0.5, 0.5], [1.0, 0.0]])
    assert (only.name, only.shape, only.data) == ("output", [2, 2], [0.5, 0.5, 1.0, 0.0])
