from __future__ import annotations

from importlib import metadata

import yaml

from champion.services import Services
from tests.conftest import ModelFolders


def test_registration_records_package_versions_unless_stated(
    services: Services, model_folder: ModelFolders
) -> None:
    folder = model_folder("constant")
    recorded = services.registry.register(folder, model="churn", actor="tests").lineage
    assert recorded["packages"]["numpy"] == metadata.version("numpy")
    assert "python" in recorded["packages"]
    manifest = yaml.safe_load((folder / "champion.yaml").read_text())
    manifest.setdefault("lineage", {})["packages"] = {"numpy": "1.0.0"}
    (folder / "champion.yaml").write_text(yaml.safe_dump(manifest))
    stated = services.registry.register(folder, model="churn", actor="tests").lineage
    assert stated["packages"] == {"numpy": "1.0.0"}
