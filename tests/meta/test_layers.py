"""Inner layers never import outer ones (DESIGN.md: interfaces → services → storage)."""

from __future__ import annotations

import ast
from pathlib import Path

import champion

ROOT = Path(champion.__file__).parent
INTERFACES = (
    "champion.api",
    "champion.cli",
    "champion.demo",
    "champion.client",
    "champion.dashboard",
)
STORAGE = ("champion.db", "champion.artifacts")
SERVICES = (
    "registry",
    "serving",
    "events",
    "evaluation",
    "drift",
    "db",
    "artifacts",
    "access",
    "automation",
    "diagnostics",
    "observability",
)
TESTED = (
    "answers",
    "registry",
    "serving",
    "events",
    "evaluation",
    "drift",
    "db",
    "api",
    "cli",
    "access",
    "client",
    "automation",
    "diagnostics",
    "observability",
)


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _modules(prefix: str) -> list[Path]:
    folder = ROOT / prefix.removeprefix("champion.").replace(".", "/")
    return [p for p in folder.rglob("*.py") if "migrations" not in p.parts]


def test_services_never_import_interfaces() -> None:
    for package in SERVICES:
        for path in _modules(f"champion.{package}"):
            bad = {m for m in _imports(path) if m.startswith(INTERFACES)}
            assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_storage_never_imports_services() -> None:
    for prefix in STORAGE:
        for path in _modules(prefix):
            outer = {
                m
                for m in _imports(path)
                if m.startswith("champion.")
                and not m.startswith(STORAGE)
                and m not in {"champion.errors", "champion.types"}
            }
            assert not outer, f"{path.relative_to(ROOT)} imports {sorted(outer)}"


def test_every_package_has_tests() -> None:
    tests = Path(__file__).parents[1]
    for package in TESTED:
        assert any((tests / package).glob("test_*.py")), f"no tests/{package}/test_*.py"
    assert any((tests / "e2e").glob("test_demo*.py")), "the demo has no end-to-end test"


def test_answers_import_pydantic_and_nothing_else_of_champion() -> None:
    # The client imports them: they must not bring the server (FastAPI) or any service along.
    for path in _modules("champion.answers"):
        outer = {
            m
            for m in _imports(path)
            if (m.startswith("champion.") and not m.startswith("champion.answers"))
            or m.startswith(("fastapi", "starlette", "sqlalchemy"))
        }
        assert not outer, f"{path.relative_to(ROOT)} imports {sorted(outer)}"
