"""The python flavor: a user class, imported from the version folder.

champion instantiates ``Class()``, calls ``load(path)`` if the class has it, then
``predict(instances)`` (classifier, regressor) or ``rank(unit, context, k)`` (ranker).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from champion.errors import InvalidInput
from champion.registry.confinement import confined_file, module_files
from champion.registry.flavors.base import Loaded, LoadOptions, RankedItem
from champion.registry.manifest import Manifest
from champion.types import Instance, Json

__all__ = ["PythonFlavor"]

# Imports touch the process-wide sys.path and sys.modules; one at a time.
_IMPORT_LOCK = threading.Lock()


class PythonFlavor:
    name = "python"

    def check(self, folder: Path, manifest: Manifest, options: LoadOptions) -> None:
        if not manifest.class_:
            raise InvalidInput("champion.yaml: the python flavor needs 'class: module:Class'.")
        module = manifest.class_.split(":")[0]
        if not all(part.isidentifier() for part in module.split(".")):
            raise InvalidInput(
                f"champion.yaml: class {manifest.class_!r} must read 'module:Class' with a "
                "dotted module path of the version folder, such as 'ranker:Ranker'."
            )
        top = module.split(".")[0]
        if importlib.machinery.BuiltinImporter.find_spec(
            top
        ) or importlib.machinery.FrozenImporter.find_spec(top):
            raise InvalidInput(
                f"champion.yaml: class {manifest.class_!r} names module {module!r}, which "
                "Python finds built into itself before any folder; rename the module."
            )
        plain, package = module_files(module)
        for candidate in (plain, package):
            try:
                confined_file(folder, "class", candidate)
                return
            except InvalidInput:
                continue
        raise InvalidInput(
            f"champion.yaml: class {manifest.class_!r} names module {module!r}, "
            f"but the version folder has no {plain} or {package}."
        )

    def carries_code(self, manifest: Manifest) -> bool:
        return True

    def load(self, folder: Path, manifest: Manifest, options: LoadOptions) -> Loaded:
        self.check(folder, manifest, options)
        assert manifest.class_ is not None  # checked above
        module_name, _, class_name = manifest.class_.partition(":")
        cls = _import_from(folder, module_name, class_name)
        instance = cls()
        if hasattr(instance, "load"):
            instance.load(folder)
        return _PythonLoaded(instance, manifest)


class _PythonLoaded:
    pure_compute = False  # the user's code may read files, call services or sleep

    def __init__(self, instance: Any, manifest: Manifest) -> None:
        self.instance = instance
        self.manifest = manifest

    def predict(self, instances: Sequence[Instance]) -> list[Json]:
        outputs = list(self.instance.predict(list(instances)))
        if len(outputs) != len(instances):
            raise ValueError(
                f"{type(self.instance).__name__}.predict returned {len(outputs)} outputs "
                f"for {len(instances)} instances."
            )
        return outputs

    def rank(self, unit: str | None, context: dict[str, Any], k: int) -> list[RankedItem]:
        ranked: list[RankedItem] = []
        for entry in self.instance.rank(unit, context, k):
            if isinstance(entry, tuple | list):
                ranked.append((entry[0], None if entry[1] is None else float(entry[1])))
            else:
                ranked.append((entry, None))
        return ranked[:k]


def _import_from(folder: Path, module_name: str, class_name: str) -> Any:
    # Two versions may both ship "ranker.py": import with the folder first on sys.path, then
    # drop the folder's modules from sys.modules so the next version imports its own copy.
    top = module_name.split(".")[0]
    with _IMPORT_LOCK:
        # Copies of sys.modules: other threads (a server's) import while this one walks it.
        saved = {
            name: mod
            for name, mod in list(sys.modules.items())
            if name == top or name.startswith(top + ".")
        }
        for name in saved:
            del sys.modules[name]
        sys.path.insert(0, str(folder))
        try:
            importlib.invalidate_caches()
            module = importlib.import_module(module_name)
        except Exception as exc:
            raise InvalidInput(
                f"Cannot import {module_name!r} from the version folder: {exc}"
            ) from exc
        finally:
            sys.path.remove(str(folder))
            for name in [n for n in list(sys.modules) if n == top or n.startswith(top + ".")]:
                del sys.modules[name]
            sys.modules.update(saved)
    # A built-in or frozen module (sys, os) is found before the folder on sys.path: whatever
    # runs must be the version's own, hashed file.
    origin = getattr(module, "__file__", None)
    if origin is None or not Path(origin).resolve().is_relative_to(folder.resolve()):
        raise InvalidInput(
            f"champion.yaml: module {module_name!r} is not loaded from the version folder "
            "(Python finds a built-in or installed module of that name first); rename it."
        )
    try:
        return getattr(module, class_name)
    except AttributeError:
        raise InvalidInput(f"Module {module_name!r} has no class {class_name!r}.") from None
