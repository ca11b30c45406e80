"""champion.yaml: read and validate the description of a version folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from champion.errors import InvalidInput
from champion.validation import describe_validation_error

__all__ = [
    "MANIFEST",
    "REFERENCE_FILES",
    "Derivation",
    "FieldSpec",
    "Lineage",
    "Manifest",
    "find_reference_file",
    "read_manifest",
]

MANIFEST = "champion.yaml"
REFERENCE_FILES = ("reference.parquet", "reference.csv", "reference.jsonl")
"""A version folder may hold its training data under one of these names: the drift
reference, profiled when the version is registered."""


def find_reference_file(folder: Path) -> Path | None:
    """The reference data file of a version folder, if it has one (a link is not one)."""
    for name in REFERENCE_FILES:
        path = folder / name
        if path.is_file() and not path.is_symlink():
            return path
    return None


FieldType = Literal["number", "integer", "string", "boolean"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class FieldSpec(_Strict):
    name: str = Field(min_length=1, max_length=128)
    type: FieldType
    nullable: bool = False
    description: str = ""


class Signature(_Strict):
    inputs: list[FieldSpec] = Field(default_factory=list)
    outputs: list[FieldSpec] = Field(default_factory=list)


class DataSource(_Strict):
    location: str | None = None
    fingerprint: str | None = None
    rows: int | None = None


class Derivation(_Strict):
    """Where a compiled version came from, and how closely it was shown to agree with it."""

    version: str = Field(description="The version it was compiled from, e.g. 'attrition/3'.")
    file: str = Field(description="The file of that version it was compiled from.")
    method: str = Field(description="The converter and its version, e.g. 'skl2onnx 1.20.0'.")
    rows: int = Field(ge=1, description="Rows both were run on to compare their outputs.")
    probes: int = Field(
        default=0, ge=0, description="Rows more, each with a number between two of the data's."
    )
    max_difference: float = Field(
        ge=0, description="Largest absolute difference of an output (probability or value)."
    )
    tolerance: float = Field(ge=0, description="The largest difference that was accepted.")


class Lineage(_Strict):
    trained_by: str | None = None
    data: DataSource | None = None
    datasets: list[str] = Field(
        default_factory=list, description="sha256 of every data file the version learnt from."
    )
    code_version: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    packages: dict[str, str] = Field(
        default_factory=dict, description="Installed versions of the packages it was trained with."
    )
    pipeline: str | None = None
    derived_from: Derivation | None = None
    pipeline_run: int | None = None
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)


class Manifest(_Strict):
    """The validated content of a version folder's champion.yaml."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False
    )

    name: str | None = None
    kind: Literal["classifier", "regressor", "ranker"]
    flavor: str
    class_: str | None = Field(default=None, alias="class", pattern=r"^[\w.]+:[\w.]+$")
    file: str | None = None
    trusted_types: list[str] = Field(default_factory=list)
    signature: Signature = Field(default_factory=Signature)
    target: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="The reference data's column of true outcomes (classifiers): its "
        "labelled rows calibrate the scores that performance estimation reads.",
    )
    lineage: Lineage = Field(default_factory=Lineage)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def read_manifest(folder: Path) -> Manifest:
    """Read and validate ``folder/champion.yaml``; errors name the field at fault."""
    path = folder / MANIFEST
    if not path.is_file():
        raise InvalidInput(f"No {MANIFEST} in {str(folder)!r}: a version folder must have one.")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{MANIFEST} is not valid YAML: {exc}") from None
    return parse_manifest(raw)


def parse_manifest(raw: Any) -> Manifest:
    if not isinstance(raw, dict):
        raise InvalidInput(f"{MANIFEST} must be a mapping, got {type(raw).__name__}.")
    names = [
        f.get("name")
        for f in (raw.get("signature") or {}).get("inputs") or []
        if isinstance(f, dict)
    ]
    duplicates = sorted({n for n in names if isinstance(n, str) and names.count(n) > 1})
    if duplicates:
        raise InvalidInput(f"{MANIFEST}: signature.inputs has duplicate names {duplicates!r}.")
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput(f"{MANIFEST}: {describe_validation_error(exc)}") from None
