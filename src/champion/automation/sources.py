"""Sources: where a pipeline's data files arrive, and which of them are ready to read."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from champion.automation.spec import QualitySpec
from champion.datafiles import is_ready
from champion.registry.manifest import FieldSpec

__all__ = ["Source"]


@dataclass(frozen=True)
class Source:
    """Where a pipeline's data arrives, the schema (typed signature) it must have, and the
    model whose reference profile its rows are checked against (``quality``)."""

    name: str
    path: str
    fields: tuple[FieldSpec, ...]
    model: str | None = None
    quality: QualitySpec | None = None

    def files(self) -> list[Path]:
        """The complete data files present now (:func:`champion.datafiles.is_ready`), in name
        order."""
        if os.path.isdir(self.path):
            candidates = [Path(self.path) / name for name in os.listdir(self.path)]
        else:
            candidates = [Path(p) for p in glob.glob(self.path)]
        return sorted(p for p in candidates if is_ready(p))
