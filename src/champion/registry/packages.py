"""The package versions a version was trained with, recorded in its lineage."""

from __future__ import annotations

import functools
import platform
import sys
from importlib import metadata

from champion.registry.manifest import Manifest

__all__ = ["TRAINING_PACKAGES", "installed_versions", "with_packages"]

TRAINING_PACKAGES = ("numpy", "pandas", "pyarrow", "scikit-learn", "scipy", "skops")
"""What models commonly depend on; the ones installed are recorded."""


def installed_versions(names: tuple[str, ...] = TRAINING_PACKAGES) -> dict[str, str]:
    """``{name: version}`` of the installed ones among ``names``, and ``python``.

    >>> "python" in installed_versions(())
    True
    """
    return dict(_versions(names, tuple(sys.path)))


@functools.cache
def _versions(names: tuple[str, ...], path: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    # Reading the metadata scans every distribution (tens of milliseconds per registration);
    # what a process imports does not change while its search path stays the same.
    del path  # the cache key: metadata.version() reads sys.path itself
    found = [("python", platform.python_version())]
    for name in names:
        try:
            found.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            continue
    return tuple(found)


def with_packages(manifest: Manifest) -> Manifest:
    """``manifest`` with this process's package versions in its lineage, unless it has some.

    A version registered from the process (or environment) that trained it records what it
    was trained with; one that states its own ``lineage.packages`` keeps them.
    """
    if manifest.lineage.packages:
        return manifest
    lineage = manifest.lineage.model_copy(update={"packages": installed_versions()})
    return manifest.model_copy(update={"lineage": lineage})
