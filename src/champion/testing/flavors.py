"""The contract every flavor keeps, checked on a version folder it can load."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from champion.registry.flavors.base import Flavor, LoadOptions
from champion.registry.manifest import read_manifest
from champion.types import Instance, Json

__all__ = ["check_flavor"]


def check_flavor(
    flavor: Flavor, folder: Path, instances: Sequence[Instance], options: LoadOptions
) -> None:
    """Check ``flavor`` on the classifier or regressor in ``folder``, called on ``instances``.

    * ``check`` accepts the folder and ``carries_code`` answers a bool;
    * the loaded model says whether its calls are ``pure_compute``;
    * ``predict`` answers one JSON-ready output (no NaN) per instance, the same twice, and
      the same for an instance alone as within the batch;
    * a classifier's probabilities sum to 1 and its label is one of their classes.
    """
    manifest = read_manifest(folder)
    flavor.check(folder, manifest, options)
    assert isinstance(flavor.carries_code(manifest), bool), "carries_code must answer a bool"
    loaded = flavor.load(folder, manifest, options)
    assert isinstance(loaded.pure_compute, bool), "Loaded.pure_compute must be a bool"
    outputs = loaded.predict(list(instances))
    assert len(outputs) == len(instances), f"{len(outputs)} outputs for {len(instances)} inputs"
    json.dumps(outputs, allow_nan=False)  # raises on what an answer could not carry
    _close(outputs, loaded.predict(list(instances)), "a second call")
    for index, instance in enumerate(instances):
        _close(loaded.predict([instance]), [outputs[index]], f"instance {index} alone")
    for output in outputs:
        if isinstance(output, dict) and "probabilities" in output:
            probabilities = output["probabilities"]
            assert isinstance(probabilities, dict)
            total = sum(float(p) for p in probabilities.values())
            assert math.isclose(total, 1.0, abs_tol=1e-5), f"probabilities sum to {total}"
            assert str(output["label"]) in probabilities, f"label not a class: {output!r}"


def _close(a: list[Json], b: list[Json], what: str) -> None:
    left, right = _flat(a), _flat(b)
    assert len(left) == len(right), f"{what} answered a different shape"
    for x, y in zip(left, right, strict=True):
        if isinstance(x, float) or isinstance(y, float):
            close = math.isclose(float(x), float(y), rel_tol=1e-6, abs_tol=1e-9)
            assert close, f"{what}: {x} != {y}"
        else:
            assert x == y, f"{what}: {x!r} != {y!r}"


def _flat(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [item for key in sorted(value) for item in (key, *_flat(value[key]))]
    if isinstance(value, list):
        return [item for entry in value for item in _flat(entry)]
    return [value]
