"""Manifests naming paths they must not, one per path-bearing field and kind of escape.

Each case builds a version folder under ``root`` beside an ``outside`` folder holding a real
model and module, so an escape that worked would find something to load.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.conftest import FIXTURES
from tests.registry.folders import sklearn_folder


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Path, Path], Path]
    message: str  # a regular expression the refusal matches


def outside(root: Path) -> Path:
    """A folder beside the version holding a loadable model, module and data file."""
    target = sklearn_folder(root / "outside")
    shutil.copy(FIXTURES / "constant" / "constant.py", target / "evil.py")
    (target / "reference.csv").write_text("tenure,charges\n1,2\n")
    return target


def _sklearn(file: str, link: tuple[str, str] | None = None) -> Callable[[Path, Path], Path]:
    def build(root: Path, out: Path) -> Path:
        folder = sklearn_folder(root / "version", file=file.replace("{out}", str(out)))
        if link is not None:
            (folder / link[0]).symlink_to(out / link[1])
        return folder

    return build


def _python(cls: str, link: tuple[str, str] | None = None) -> Callable[[Path, Path], Path]:
    def build(root: Path, out: Path) -> Path:
        folder = root / "version"
        shutil.copytree(FIXTURES / "constant", folder)
        manifest = yaml.safe_load((folder / "champion.yaml").read_text())
        manifest["class"] = cls.replace("{out}", str(out))
        (folder / "champion.yaml").write_text(yaml.safe_dump(manifest))
        if link is not None:
            (folder / link[0]).symlink_to(out / link[1])
        return folder

    return build


def _reference_link(root: Path, out: Path) -> Path:
    folder = sklearn_folder(root / "version")
    (folder / "reference.csv").symlink_to(out / "reference.csv")
    return folder


RELATIVE = r"must be a relative path to a file inside the version folder"
CASES = [
    Case("file-absolute", _sklearn("{out}/model.skops"), rf"file '/.+/model.skops' {RELATIVE}"),
    Case("file-dotdot", _sklearn("../outside/model.skops"), rf"file '\.\./outside.+' {RELATIVE}"),
    Case(
        "file-symlink",
        _sklearn("linked.skops", ("linked.skops", "model.skops")),
        r"'linked.skops' is a symbolic link",
    ),
    Case(
        "file-symlinked-folder",
        _sklearn("models/model.skops", ("models", "")),
        r"'models' is a symbolic link",
    ),
    Case(
        "file-missing",
        _sklearn("nope.skops"),
        r"file 'nope.skops' is not one of the version folder's files \(champion.yaml, model",
    ),
    Case("class-absolute", _python("{out}/evil:ConstantModel"), r"class: .*pattern"),
    Case("class-dotdot", _python("..outside.evil:ConstantModel"), r"class '\.\.outside.+dotted"),
    Case(
        "class-symlink",
        _python("evil:ConstantModel", ("evil.py", "evil.py")),
        r"'evil.py' is a symbolic link",
    ),
    Case("class-missing", _python("nope:ConstantModel"), r"module 'nope', but .+ no nope.py"),
    Case("reference-symlink", _reference_link, r"'reference.csv' is a symbolic link"),
]
