"""Version folders built in a test: a real scikit-learn model stored with skops, no code."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import skops.io
import yaml
from sklearn.linear_model import LogisticRegression

INPUTS = [{"name": "tenure", "type": "number"}, {"name": "charges", "type": "number"}]
ROW = {"tenure": 2.0, "charges": 0.0}


def sklearn_folder(folder: Path, *, extra: dict[str, bytes] | None = None, **fields: Any) -> Path:
    """A classifier in ``folder/model.skops``; ``fields`` override champion.yaml's."""
    folder.mkdir(parents=True)
    x = np.random.default_rng(0).normal(size=(100, 2))
    skops.io.dump(LogisticRegression().fit(x, (x[:, 0] > 0).astype(int)), folder / "model.skops")
    for name, data in (extra or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    manifest = {
        "kind": "classifier",
        "flavor": "sklearn",
        "file": "model.skops",
        "signature": {"inputs": INPUTS},
        **fields,
    }
    (folder / "champion.yaml").write_text(yaml.safe_dump(manifest))
    return folder


def pack(folder: Path) -> bytes:
    """``folder`` as the .tar.gz an upload carries, links kept as links."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(folder, arcname="model")
    return buffer.getvalue()
