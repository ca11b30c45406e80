"""Every package lists its public names in a sorted, complete __all__, and each of them imports."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

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
    assert hasattr(module, "__all__"), f"{name} has no __all__: list its public names"
    exported = module.__all__
    # The order ruff's RUF022 keeps: CONSTANTS, then Classes, then functions, each A to Z.
    assert list(exported) == sorted(exported, key=_isort_key)
    for symbol in exported:
        assert hasattr(module, symbol), f"{name}.__all__ lists {symbol!r} but it is missing"


def _own_names(name: str) -> set[str]:
    """The public names a package's ``__init__`` defines or imports from its own modules."""
    module = importlib.import_module(name)
    assert module.__file__ is not None
    found: set[str] = set()
    for node in ast.parse(Path(module.__file__).read_text()).body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(f"{name}."):
            found.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            found.add(node.name)
        elif isinstance(node, ast.Assign):
            found.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found.add(node.target.id)
    return {n for n in found if not n.startswith("_") or n == "__version__"}


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_complete(name: str) -> None:
    # What the package takes from its own modules, or defines, is its surface: a name left out
    # of __all__ is either public by accident or missing from the documented surface.
    module = importlib.import_module(name)
    missing = sorted(_own_names(name) - set(module.__all__))
    assert not missing, f"{name} defines or imports {missing} but leaves them out of __all__"
    modules = [m for m in pkgutil.iter_modules(module.__path__) if not m.name.startswith("_")]
    if modules:
        assert module.__all__, f"{name} has public modules but an empty __all__"
