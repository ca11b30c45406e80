"""Every package lists its public names in a sorted __all__, and each of them imports."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import champion

_SUBPACKAGES = sorted(
    name
    for _, name, is_pkg in pkgutil.walk_packages(champion.__path__, "champion.")
    if is_pkg and ".migrations" not in name
)
PACKAGES = ["champion", *_SUBPACKAGES]


def _isort_key(name: str) -> tuple[int, str]:
    if name.isupper() and len(name) > 1:
        return (0, name)
    return (1 if name[:1].isupper() else 2, name)


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_importable(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", [])
    # The order ruff's RUF022 keeps: CONSTANTS, then Classes, then functions, each A to Z.
    assert list(exported) == sorted(exported, key=_isort_key)
    for symbol in exported:
        assert hasattr(module, symbol), f"{name}.__all__ lists {symbol!r} but it is missing"


def test_importing_champion_does_no_heavy_work() -> None:
    code = (
        "import sys, champion; "
        "heavy = [m for m in ('fastapi', 'scipy', 'sklearn', 'sqlalchemy', 'plotly') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
