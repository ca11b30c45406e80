"""Checking request instances against a version's input signature."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from champion.errors import InvalidInput
from champion.registry.manifest import FieldSpec
from champion.validation import describe_validation_error

__all__ = ["MAX_INSTANCES", "SignatureChecker"]

MAX_INSTANCES = 10_000
"""Instances in one call, through any protocol."""
_PYTHON_TYPES: dict[str, type] = {"number": float, "integer": int, "string": str, "boolean": bool}


class SignatureChecker:
    """Validates a batch of instances: a missing, extra or mistyped field is named in the error.

    Examples
    --------
    >>> from champion.registry.manifest import FieldSpec
    >>> check = SignatureChecker([FieldSpec(name="tenure", type="integer")])
    >>> check([{"tenure": 3}])
    [{'tenure': 3}]
    >>> check([{"tenure": "3"}])
    Traceback (most recent call last):
    ...
    champion.errors.InvalidInput: instances[0].tenure: Input should be a valid integer, got '3'
    """

    def __init__(self, fields: Sequence[FieldSpec], root: str = "instances") -> None:
        self.fields = tuple(fields)
        self.root = root
        annotations: dict[str, Any] = {}
        for spec in self.fields:
            python_type = _PYTHON_TYPES[spec.type]
            annotations[spec.name] = python_type | None if spec.nullable else python_type
        # Strict: "3" is not an integer and true is not a number; an int is a valid number.
        # Finite: NaN, Infinity and 1e999 parse as floats, but a model cannot use them and the
        # event log (JSON) could not store them as served.
        # The fields are known at run time only, so the TypedDict is built dynamically.
        make_typed_dict: Any = TypedDict
        row = make_typed_dict("row", annotations)
        row.__pydantic_config__ = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
        rows: Any = list[row]  # type: ignore[valid-type]  # a run-time type, see above
        self._adapter: TypeAdapter[list[dict[str, Any]]] = TypeAdapter(rows)

    def __call__(self, instances: Any) -> list[dict[str, Any]]:
        try:
            return self._adapter.validate_python(instances)
        except ValidationError as exc:
            raise InvalidInput(describe_validation_error(exc, self.root)) from None
