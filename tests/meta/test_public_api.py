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


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_importable(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", [])
    assert list(exported) == sorted(exported)
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
