"""Package dependencies form one DAG, in the layers of DESIGN.md.

Every package and top-level module of ``champion`` is found with ``pkgutil`` and must sit in
one layer of ``LAYERS`` (outer to inner). A module may import its own layer and the layers
inside it, never an outer one. Inside the services layer only the edges of ``SERVICE_EDGES``
are allowed, and inside every layer the graph has no cycle. Every import counts: at module
level, inside a function (imported late to start fast) and under ``TYPE_CHECKING``.

``python -m tests.meta.test_layers [SRC]`` prints the package graph (of ``SRC``, a folder
holding ``champion/``; by default the one under test).
"""

from __future__ import annotations

import ast
import pkgutil
import sys
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import champion

ROOT = Path(champion.__file__).parent

LAYERS: dict[str, frozenset[str]] = {
    # What users and operators touch: parse, call a service, render. ``champion`` is the root
    # package's own names (the client, save_model).
    "interfaces": frozenset(
        {
            "champion",
            "__main__",
            "api",
            "cli",
            "client",
            "dashboard",
            "demo",
            "saving",
            "server_process",
        }
    ),
    # What puts every service together: building them (services), all their tables (schema)
    # and the contract checks over every extension point (testing).
    "assembly": frozenset({"schema", "services", "testing"}),
    "services": frozenset(
        {
            "access",
            "alerts",
            "automation",
            "diagnostics",
            "drift",
            "evaluation",
            "events",
            "registry",
            "serving",
        }
    ),
    "storage": frozenset({"artifacts", "audit", "db"}),
    # Shared by every layer and knowing none of them.
    "foundation": frozenset(
        {
            "answers",
            "clock",
            "datafiles",
            "errors",
            "ids",
            "metrics",
            "observability",
            "periods",
            "plotlyjs",
            "plugins",
            "settings",
            "types",
            "validation",
        }
    ),
}

SERVICE_EDGES: dict[str, frozenset[str]] = {
    "registry": frozenset(),
    "events": frozenset(),
    "access": frozenset({"registry"}),
    "serving": frozenset({"events", "registry"}),
    "evaluation": frozenset({"events", "registry", "serving"}),
    "drift": frozenset({"evaluation", "events", "registry", "serving"}),
    "alerts": frozenset({"drift", "registry", "serving"}),
    "automation": frozenset({"alerts", "drift", "evaluation", "registry", "serving"}),
    "diagnostics": frozenset({"automation", "events", "registry", "serving"}),
}
"""Which services each service may import: inner services first."""

TESTED_ELSEWHERE = {"demo": "e2e", "testing": "contracts"}
"""Packages whose tests live in another folder of tests/ than their own name."""


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    where: str
    module: str

    def __str__(self) -> str:
        return f"{self.where} imports {self.module}"


def nodes(root: Path = ROOT) -> list[str]:
    """Every package and top-level module of champion, and ``champion`` for the root."""
    return ["champion", *(m.name for m in pkgutil.iter_modules([str(root)]))]


def _module_name(path: Path, root: Path) -> tuple[str, bool]:
    parts = ["champion", *path.relative_to(root).with_suffix("").parts]
    is_package = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_package else parts), is_package


def _node(module: str, root: Path) -> str | None:
    parts = module.split(".")
    if parts[0] != "champion":
        return None
    if len(parts) == 1:
        return "champion"
    first = root / parts[1]
    return parts[1] if first.is_dir() or first.with_suffix(".py").is_file() else "champion"


def imports(root: Path = ROOT) -> Iterator[Import]:
    """Every import of one champion node by another, with the file and line it is on."""
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        module, is_package = _module_name(path, root)
        source = _node(module, root)
        assert source is not None
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package = module.split(".")[: None if is_package else -1]
                    package = package[: len(package) - node.level + 1]
                    base = ".".join([*package, *([base] if base else [])])
                # ``from champion import drift`` imports the package drift; ``from champion
                # import __version__`` a name of the root package.
                targets = [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in targets:
                target = _node(name, root)
                # Importing any champion module runs champion/__init__ first, so the root's
                # own names (its version) are no dependency of their own.
                if target is None or target in (source, "champion"):
                    continue
                where = f"{path.relative_to(root.parent)}:{node.lineno}"
                yield Import(source, target, where, name)


def _layer_of(node: str) -> str:
    return next((layer for layer, members in LAYERS.items() if node in members), "no layer")


def _allowed(edge: Import) -> bool:
    order = list(LAYERS)
    source, target = _layer_of(edge.source), _layer_of(edge.target)
    if "no layer" in (source, target):
        return False
    if source == target == "services":
        return edge.target in SERVICE_EDGES[edge.source]
    return order.index(source) <= order.index(target)


def package_graph(root: Path = ROOT) -> dict[str, dict[str, list[Import]]]:
    graph: dict[str, dict[str, list[Import]]] = defaultdict(lambda: defaultdict(list))
    for edge in imports(root):
        graph[edge.source][edge.target].append(edge)
    return graph


def cycles(graph: Mapping[str, Mapping[str, list[Import]]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for successor in graph.get(node, {}):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while (popped := stack.pop()) != node:
                component.append(popped)
            component.append(node)
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def render(root: Path = ROOT) -> str:
    """The package graph as text: each node with the nodes it imports, layer by layer."""
    graph = package_graph(root)
    present = set(nodes(root))
    lines = []
    for layer, members in LAYERS.items():
        lines.append(f"{layer}:")
        for node in sorted(members & present):
            targets = ", ".join(sorted(graph.get(node, {})))
            lines.append(f"  {node} -> {targets or '(nothing of champion)'}")
    unplaced = sorted(set(nodes(root)) - _placed())
    if unplaced:
        lines.append(f"in no layer: {', '.join(unplaced)}")
    for component in cycles(graph):
        lines.append(f"cycle: {' <-> '.join(component)}")
        for source in component:
            for target in component:
                for edge in graph.get(source, {}).get(target, [])[:1]:
                    lines.append(f"  {source} -> {target}: {edge}")
    return "\n".join(lines)


def _placed() -> set[str]:
    return {node for members in LAYERS.values() for node in members}


def test_every_package_and_module_is_in_one_layer() -> None:
    placed = [node for members in LAYERS.values() for node in members]
    twice = sorted({node for node in placed if placed.count(node) > 1})
    assert not twice, f"in two layers: {twice}"
    missing = sorted(set(nodes()) - set(placed))
    assert not missing, f"in no layer of LAYERS (add them where they belong): {missing}"
    gone = sorted(set(placed) - set(nodes()))
    assert not gone, f"LAYERS names what does not exist: {gone}"
    assert set(SERVICE_EDGES) == LAYERS["services"]


def test_no_import_breaks_a_layer_rule() -> None:
    broken = [edge for edge in imports() if not _allowed(edge)]
    assert not broken, "\n".join(
        f"{edge}: {edge.source} ({_layer_of(edge.source)}) may not import {edge.target} "
        f"({_layer_of(edge.target)})"
        for edge in broken
    )


def test_every_allowed_service_edge_is_used() -> None:
    # The table is the picture of the services: an edge no import needs is a stale picture.
    graph = package_graph()
    unused = sorted(
        f"{source} -> {target}"
        for source, targets in SERVICE_EDGES.items()
        for target in targets
        if target not in graph.get(source, {})
    )
    assert not unused, f"SERVICE_EDGES allows imports nobody makes: {unused}"


def test_packages_form_no_cycle() -> None:
    found = cycles(package_graph())
    assert not found, render()


def test_every_package_has_tests() -> None:
    tests = Path(__file__).parents[1]
    packages = [m.name for m in pkgutil.iter_modules([str(ROOT)]) if m.ispkg]
    for package in packages:
        folder = tests / TESTED_ELSEWHERE.get(package, package)
        assert any(folder.glob("test_*.py")), f"no tests/{folder.name}/test_*.py for {package}"


def test_answers_import_pydantic_and_nothing_else_of_champion() -> None:
    # The client imports them: they must not bring the server (FastAPI) or any service along.
    for edge in imports():
        assert edge.source != "answers", f"{edge}: answers may import no other champion module"
    for path in (ROOT / "answers").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = (
                    [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
                )
                heavy = [n for n in names if n and n.startswith(("fastapi", "starlette", "sqla"))]
                assert not heavy, f"{path.relative_to(ROOT)}:{node.lineno} imports {heavy}"


if __name__ == "__main__":
    print(render(Path(sys.argv[1]) / "champion" if len(sys.argv) > 1 else ROOT))
