"""What a pipeline hands its training entry point, and how the entry point is found."""

from __future__ import annotations

import hashlib
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from champion.errors import InvalidInput
from champion.registry.manifest import FieldSpec

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TrainingJob", "code_version", "load_entry"]


@dataclass(frozen=True)
class TrainingJob:
    """The training rows (the holdout already removed) and where to write the version folder.

    The entry point (``module:function``) receives one ``TrainingJob`` and returns the path of
    a version folder with a ``champion.yaml`` (usually ``job.folder``). champion adds the
    lineage (data fingerprints, code version, parameters, metrics, run) before registering.
    """

    data: pd.DataFrame
    target: str
    features: list[str]
    fields: tuple[FieldSpec, ...]
    params: dict[str, Any]
    folder: Path
    seed: int
    pipeline: str
    run_id: int
    holdout: dict[str, Any] = field(default_factory=dict)


def load_entry(entry: str) -> Callable[[TrainingJob], Any]:
    """Import ``module:function``; errors say which part is missing."""
    module_name, _, function = entry.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidInput(
            f"train.entry {entry!r}: cannot import {module_name!r} ({exc})."
        ) from None
    found = getattr(module, function, None)
    if not callable(found):
        raise InvalidInput(f"train.entry {entry!r}: {module_name!r} has no function {function!r}.")
    trainer: Callable[[TrainingJob], Any] = found
    return trainer


def code_version(entry: str) -> str:
    """The entry point's module and the sha256 of its source file: what code trained it."""
    module_name = entry.partition(":")[0]
    module = importlib.import_module(module_name)
    try:
        source = inspect.getsourcefile(module)
    except TypeError:
        source = None
    if source is None:
        return entry
    digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()
    return f"{entry} (sha256 {digest[:12]})"
