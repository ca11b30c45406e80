"""Every path a manifest names stays inside its version folder, at registration and at load."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from champion.db import write
from champion.errors import InvalidInput
from champion.registry.tables import versions
from champion.services import Services
from champion.serving.runtime import Runtime
from champion.settings import Settings
from tests.conftest import FIXTURES
from tests.fixtures.environment import cannot
from tests.registry.cases import CASES, Case, outside
from tests.registry.folders import ROW, sklearn_folder

ONE_DATABASE = (
    "Confinement is decided on the paths before anything is stored; storing a version is tested "
    "on both databases in test_service.py."
)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_manifest_path_outside_the_version_folder_is_refused(
    case: Case, services: Services, tmp_path: Path
) -> None:
    folder = case.build(tmp_path, outside(tmp_path))
    with pytest.raises(InvalidInput, match=case.message):
        services.registry.register(folder, model="churn", actor="t")
    assert services.registry.list_models() == []


@pytest.mark.parametrize("escape", ["{out}/model.skops", "../outside/model.skops"])
def test_the_refusal_does_not_tell_whether_an_outside_file_exists(
    escape: str, services: Services, tmp_path: Path
) -> None:
    messages = []
    for name in ("model.skops", "absent.skops"):
        out = outside(tmp_path / name)
        value = escape.replace("{out}", str(out)).replace("model.skops", name)
        folder = sklearn_folder(tmp_path / name / "version", file=value)
        with pytest.raises(InvalidInput) as caught:
            services.registry.register(folder, model="churn", actor="t")
        messages.append(str(caught.value).replace(value, "<path>"))
    assert messages[0] == messages[1]


def test_a_relative_path_inside_the_folder_is_served(
    services: Services, settings: Settings, tmp_path: Path
) -> None:
    folder = sklearn_folder(tmp_path / "v")
    (folder / "models").mkdir()
    (folder / "model.skops").rename(folder / "models" / "model.skops")
    manifest = yaml.safe_load((folder / "champion.yaml").read_text())
    (folder / "champion.yaml").write_text(
        yaml.safe_dump({**manifest, "file": "./models//model.skops"})
    )
    version = services.registry.register(folder, model="churn", actor="t")
    assert "models/model.skops" in version.files
    runtime = Runtime(services.registry, services.flavors, settings, settings.runtime_dir)
    try:
        assert runtime.get(version.key).model.predict([ROW])[0]["label"] == 1
    finally:
        runtime.close()


@pytest.mark.parametrize("escape", ["../outside/model.skops", "/srv/model.skops"])
def test_a_stored_manifest_that_escapes_is_refused_at_load(
    escape: str, services: Services, settings: Settings, tmp_path: Path
) -> None:
    # A row registered before paths were confined, or edited in the database.
    version = services.registry.register(sklearn_folder(tmp_path / "v"), model="m", actor="t")
    with write(services.engine) as conn:
        conn.execute(
            sa.update(versions)
            .where(versions.c.model == "m")
            .values(manifest={**version.manifest, "file": escape})
        )
    runtime = Runtime(services.registry, services.flavors, settings, settings.runtime_dir)
    try:
        with pytest.raises(InvalidInput, match=r"file '.+' must be a relative path"):
            runtime.get(version.key)
    finally:
        runtime.close()


def _module_version(tmp_path: Path, module: str) -> Path:
    folder = tmp_path / "v"
    shutil.copytree(FIXTURES / "constant", folder)
    (folder / "constant.py").rename(folder / f"{module}.py")
    manifest = yaml.safe_load((folder / "champion.yaml").read_text())
    manifest["class"] = f"{module}:ConstantModel"
    (folder / "champion.yaml").write_text(yaml.safe_dump(manifest))
    return folder


@pytest.mark.parametrize("module", ["xxsubtype", "os"])  # built in, frozen
def test_a_module_python_finds_before_the_folder_is_refused(
    module: str, services: Services, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput, match=f"module '{module}', which Python finds built into"):
        services.registry.register(_module_version(tmp_path, module), model="m", actor="t")


def test_a_module_an_import_hook_supplies_from_elsewhere_is_refused_at_load(
    services: Services, settings: Settings, tmp_path: Path
) -> None:
    # setuptools puts a finder for 'distutils' ahead of sys.path: the folder's distutils.py
    # is hashed, but another file would run.
    if not any(type(f).__name__ == "DistutilsMetaFinder" for f in sys.meta_path):
        cannot("no import hook ahead of sys.path here (setuptools installs one for distutils)")
    version = services.registry.register(
        _module_version(tmp_path, "distutils"), model="m", actor="t"
    )
    runtime = Runtime(services.registry, services.flavors, settings, settings.runtime_dir)
    try:
        with pytest.raises(InvalidInput, match="'distutils' is not loaded from the version"):
            runtime.get(version.key)
    finally:
        runtime.close()
