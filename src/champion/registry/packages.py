"""The package versions a version was trained with, recorded in its lineage."""

from __future__ import annotations

import platform
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
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def with_packages(manifest: Manifest) -> Manifest:
    """``manifest`` with this process's package versions in its lineage, unless it has some.

    A version registered from the process (or environment) that trained it records what it
    was trained with; one that states its own ``lineage.packages`` keeps them.
    """
    if manifest.lineage.packages:
        return manifest
    lineage = manifest.lineage.model_copy(update={"packages": installed_versions()})
    return manifest.model_copy(update={"lineage": lineage})
