"""Loaded versions: verified against their sha256, loaded once per process.

Calling them (in their own threads, with a timeout, failures counted) is
:mod:`champion.serving.calls`'s job.
"""

from __future__ import annotations

import gc
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from champion.plugins import Registry as PluginRegistry
from champion.registry import Registry, SignatureChecker, Version, VersionKey
from champion.registry.flavors import Flavor, Loaded, LoadOptions
from champion.registry.manifest import Manifest

__all__ = ["LoadedVersion", "Runtime"]


@dataclass(frozen=True)
class LoadedVersion:
    version: Version
    model: Loaded
    check_inputs: SignatureChecker


class Runtime:
    """The versions this process has in memory, keyed by model and number."""

    def __init__(
        self,
        registry: Registry,
        flavors: PluginRegistry[Flavor],
        options: LoadOptions,
        runtime_dir: Path,
    ) -> None:
        self.registry = registry
        self.flavors = flavors
        self.options = options
        self.runtime_dir = runtime_dir
        self._loaded: dict[VersionKey, LoadedVersion] = {}
        self._lock = threading.Lock()
        self._workdir: Path | None = None

    def get(self, key: VersionKey) -> LoadedVersion:
        """The loaded version, loading it first if needed (versions are immutable)."""
        found = self._loaded.get(key)
        if found is not None:
            return found
        with self._lock:
            found = self._loaded.get(key)
            if found is None:
                found = self._load(key)
                self._loaded[key] = found
            return found

    def loaded(self) -> list[LoadedVersion]:
        return [self._loaded[key] for key in sorted(self._loaded)]

    def _load(self, key: VersionKey) -> LoadedVersion:
        version = self.registry.get_version(key.model, key.number)
        folder = self.registry.materialise(
            version, self._work() / version.model / str(version.number)
        )
        manifest = Manifest.model_validate(version.manifest)
        model = self.flavors.get(version.flavor).load(folder, manifest, self.options)
        # A model holds many long-lived objects (lookup tables, trees); left to the cyclic
        # garbage collector, each full collection walks them all and stalls requests for tens
        # of milliseconds. Freezing moves everything alive now out of its reach.
        gc.freeze()
        return LoadedVersion(version, model, SignatureChecker(manifest.signature.inputs))

    def _work(self) -> Path:
        # Each process lays out its own copy: replicas sharing a home never step on each other.
        if self._workdir is None:
            self.runtime_dir.mkdir(parents=True, exist_ok=True)
            self._workdir = Path(tempfile.mkdtemp(prefix="loaded-", dir=self.runtime_dir))
        return self._workdir

    def close(self) -> None:
        with self._lock:
            self._loaded.clear()
            if self._workdir is not None:
                shutil.rmtree(self._workdir, ignore_errors=True)
                self._workdir = None
