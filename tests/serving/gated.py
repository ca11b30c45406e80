"""A version whose calls stay in flight until the test opens its gate."""

from __future__ import annotations

from pathlib import Path

from champion.services import Services
from tests.conftest import ModelFolders


def register_gated(
    services: Services, model_folder: ModelFolders, gate: Path, model: str, alias: str
) -> None:
    """Register the gated fixture model as ``model@alias``: each call waits until ``gate``
    exists (touch it to let them finish, at the latest when the test ends)."""
    folder = model_folder("gated")
    (folder / "gate.txt").write_text(str(gate))
    services.registry.register(folder, model=model, actor="t", aliases_to_set=(alias,))
