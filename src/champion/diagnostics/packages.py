"""Installed package versions against those a version was trained with, and the newest ones."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import metadata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

__all__ = ["compare_packages", "newest_versions"]


def newest_versions(
    names: Iterable[str],
    index_url: str,
    timeout: float,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, str]:
    """The newest release of each package on a PyPI-style JSON index, or ``"unknown"``.

    One unreachable answer stops the look-ups (the index is down or not reachable from here),
    so a missing network costs one timeout, not one per package.
    """
    import httpx  # here: every server imports diagnostics, only a diagnosis asks an index

    wanted = sorted(set(names))
    found = dict.fromkeys(wanted, "unknown")
    if not index_url:
        return found
    try:
        with httpx.Client(timeout=timeout, transport=transport) as client:
            for name in wanted:
                response = client.get(f"{index_url.rstrip('/')}/{name}/json")
                if response.status_code == 200:
                    found[name] = str(response.json()["info"]["version"])
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        pass
    return found


def compare_packages(
    trained: dict[str, str], newest: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """One row per package: trained with, installed now, newest, and the verdict.

    >>> rows = compare_packages({"not-a-package-xyz": "1.0"})
    >>> rows[0]["installed"], rows[0]["status"]
    (None, 'missing')
    """
    rows = []
    for name, version in sorted(trained.items()):
        if name == "python":
            continue
        try:
            installed: str | None = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        status = "missing" if installed is None else "same" if installed == version else "differs"
        latest = (newest or {}).get(name, "unknown")
        rows.append(
            {
                "package": name,
                "trained_with": version,
                "installed": installed,
                "status": status,
                "newest": latest,
                "outdated": None
                if latest == "unknown" or installed is None
                else installed != latest,
            }
        )
    return rows
