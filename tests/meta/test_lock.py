"""constraints.txt is the lock: one exact pin per package, inside every range of pyproject.toml.

``make lock`` writes it with ``uv pip compile`` (the core, every extra and uv, which the
Makefile installs from it); ``make install`` and ``make test`` install from it. These tests
keep a hand edit from breaking it: a package pinned twice or loosely, a range in
pyproject.toml that its pin no longer satisfies, or a package that the extras install but the
lock does not pin.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).parents[2]
LOCK = ROOT / "constraints.txt"
TOOLS = {"uv"}
"""Pinned for the Makefile, which installs them beside champion; no extra requires them."""


def _pins() -> list[tuple[str, str, int]]:
    """(name, version, line number) of every pin; comments and blank lines left out."""
    pins: list[tuple[str, str, int]] = []
    for number, line in enumerate(LOCK.read_text().splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;=]+)", text)
        assert match is not None, f"constraints.txt:{number}: {line!r} is not one 'name==version'"
        pins.append((canonicalize_name(match[1]), match[2], number))
    return pins


def _locked() -> dict[str, Version]:
    return {name: Version(version) for name, version, _ in _pins()}


def _project() -> dict[str, list[Requirement]]:
    """The requirements of pyproject.toml: ``core`` and one entry per extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = {"core": project["dependencies"], **project["optional-dependencies"]}
    return {group: [Requirement(text) for text in texts] for group, texts in groups.items()}


def _applies(requirement: Requirement, extras: set[str]) -> bool:
    if requirement.marker is None:
        return True
    environment: dict[str, str] = {str(k): str(v) for k, v in default_environment().items()}
    return any(
        requirement.marker.evaluate({**environment, "extra": extra}) for extra in extras | {""}
    )


def test_every_package_is_pinned_once_to_one_exact_version() -> None:
    pins = _pins()
    seen: dict[str, int] = {}
    for name, _, number in pins:
        assert name not in seen, f"constraints.txt pins {name} twice (lines {seen[name]}, {number})"
        seen[name] = number


def test_every_range_in_pyproject_admits_its_pin() -> None:
    locked = _locked()
    broken = []
    for group, requirements in _project().items():
        for requirement in requirements:
            name = canonicalize_name(requirement.name)
            if name == "champion" or not _applies(requirement, {group}):
                continue
            if name not in locked:
                broken.append(f"{group}: {requirement} has no pin")
            elif not requirement.specifier.contains(locked[name], prereleases=True):
                broken.append(f"{group}: {requirement} excludes the pin {name}=={locked[name]}")
    assert not broken, "pyproject.toml and constraints.txt disagree:\n" + "\n".join(broken)


def test_the_lock_pins_every_package_the_extras_install() -> None:
    # Follow the requirements of the installed distributions from champion's own, with the
    # extras the Makefile installs (test carries postgres, otel, s3, onnx and mlflow). A
    # distribution that is not installed here is checked by name only.
    locked = _locked()
    extras = {"test", "dev", *(e for e in _project() if e != "core")}
    todo = [
        (r, extras)
        for group, requirements in _project().items()
        for r in requirements
        if group in extras | {"core"} and canonicalize_name(r.name) != "champion"
    ]
    seen: set[tuple[str, frozenset[str]]] = set()
    unpinned: set[str] = set()
    while todo:
        requirement, wanted = todo.pop()
        name = canonicalize_name(requirement.name)
        if not _applies(requirement, wanted):
            continue
        if name not in locked:
            unpinned.add(name)
        key = (name, frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            needs = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        todo += [(Requirement(text), set(requirement.extras)) for text in needs]
    assert not unpinned, f"constraints.txt lacks packages the extras install: {sorted(unpinned)}"
    assert TOOLS <= set(locked), f"constraints.txt lacks the tools {sorted(TOOLS - set(locked))}"
