"""MLmodel files read as champion manifests: signatures, kinds, lineage (no MLflow needed)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from champion.errors import InvalidInput
from champion.registry.mlmodel import adopt_mlflow_folder, infer_kind, signature_fields


def _mlmodel(outputs: Any = None, inputs: Any = None, **pyfunc: Any) -> dict[str, Any]:
    signature = {}
    if inputs is not None:
        signature["inputs"] = json.dumps(inputs)
    if outputs is not None:
        signature["outputs"] = json.dumps(outputs)
    return {"flavors": {"python_function": pyfunc}, "signature": signature}


def _tensor(dtype: str, shape: list[int]) -> list[dict[str, Any]]:
    return [{"type": "tensor", "tensor-spec": {"dtype": dtype, "shape": shape}}]


@pytest.mark.parametrize(
    ("mlmodel", "kind"),
    [
        (_mlmodel(predict_fn="predict_proba"), "classifier"),
        (_mlmodel(_tensor("float64", [-1, 2])), "classifier"),  # a probability per class
        (_mlmodel(_tensor("int64", [-1])), "classifier"),  # labels
        (_mlmodel(_tensor("float64", [-1])), "regressor"),
        (_mlmodel([{"type": "string", "name": "segment"}]), "classifier"),
        (_mlmodel([{"type": "double", "name": "price"}]), "regressor"),
    ],
)
def test_the_kind_is_read_from_the_pyfunc_and_its_outputs(
    mlmodel: dict[str, Any], kind: str
) -> None:
    assert infer_kind(mlmodel) == kind


def test_a_model_whose_outputs_do_not_tell_asks_for_a_champion_yaml() -> None:
    with pytest.raises(InvalidInput, match=r"Add a champion\.yaml beside MLmodel with 'kind:"):
        infer_kind(_mlmodel([{"type": "double", "name": "a"}, {"type": "double", "name": "b"}]))


def test_inputs_champion_cannot_carry_are_refused_by_name() -> None:
    fields = signature_fields(
        _mlmodel(inputs=[{"type": "long", "name": "n"}, {"type": "double", "name": "x",
                                                          "required": False}]),
        "inputs",
    )  # fmt: skip
    assert [(f.name, f.type, f.nullable) for f in fields] == [
        ("n", "integer", False),
        ("x", "number", True),
    ]
    with pytest.raises(InvalidInput, match=r"signature input 'photo' has type 'binary'"):
        signature_fields(_mlmodel(inputs=[{"type": "binary", "name": "photo"}]), "inputs")
    with pytest.raises(InvalidInput, match=r"signature input '#0' has type 'tensor'"):
        signature_fields(_mlmodel(inputs=_tensor("float32", [-1, 4])), "inputs")


def test_a_folder_without_a_python_function_flavor_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "MLmodel").write_text(yaml.safe_dump({"flavors": {"keras": {}}}))
    with pytest.raises(InvalidInput, match="MLmodel has no python_function flavor"):
        adopt_mlflow_folder(folder, tmp_path / "copy")
    assert not (tmp_path / "copy").exists()


def test_a_pipe_in_the_folder_is_refused_before_anything_is_copied(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "MLmodel").write_text(yaml.safe_dump({"flavors": {"python_function": {}}}))
    os.mkfifo(folder / "data.pipe")
    with pytest.raises(InvalidInput, match=r"'data\.pipe' is not a regular file"):
        adopt_mlflow_folder(folder, tmp_path / "copy")
    assert not (tmp_path / "copy").exists()
