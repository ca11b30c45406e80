"""The sklearn flavor: a scikit-learn estimator stored with skops.

skops files are loaded with an explicit list of trusted types: every type from scikit-learn,
NumPy and SciPy, plus the exact names a version lists under ``trusted_types``. Anything else
is refused at registration. Plain pickle (``.pkl``, ``.pickle``, ``.joblib``) runs arbitrary
code when loaded, so it is refused unless the server runs with ``CHAMPION_TRUST_PICKLE=true``.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from champion.errors import InvalidInput
from champion.registry.confinement import confined_file
from champion.registry.flavors.base import Loaded, LoadOptions, RankedItem
from champion.registry.manifest import Manifest
from champion.types import Instance, Json

__all__ = ["TRUSTED_MODULES", "SklearnFlavor"]

TRUSTED_MODULES = ("sklearn.", "numpy.", "scipy.")
_PICKLE_SUFFIXES = {".pkl", ".pickle", ".joblib"}


class SklearnFlavor:
    name = "sklearn"

    def check(self, folder: Path, manifest: Manifest, options: LoadOptions) -> None:
        path = _model_file(folder, manifest)
        if path.suffix in _PICKLE_SUFFIXES:
            if not options.trust_pickle:
                raise InvalidInput(
                    f"champion.yaml: file {manifest.file!r} is a plain pickle, which runs "
                    "arbitrary code when loaded. Save the model with skops "
                    "(skops.io.dump) or set CHAMPION_TRUST_PICKLE=true if you trust it."
                )
            return
        untrusted = self._untrusted(path, manifest)
        if untrusted:
            raise InvalidInput(
                f"{manifest.file!r} contains types that are not trusted: {', '.join(untrusted)}. "
                "List them under trusted_types in champion.yaml if you trust them."
            )

    def carries_code(self, manifest: Manifest) -> bool:
        # A plain pickle runs code as it loads; a type outside scikit-learn, NumPy and SciPy
        # named under trusted_types is code skops will construct.
        return bool(manifest.trusted_types) or (
            manifest.file is not None and Path(manifest.file).suffix in _PICKLE_SUFFIXES
        )

    def load(self, folder: Path, manifest: Manifest, options: LoadOptions) -> Loaded:
        self.check(folder, manifest, options)
        path = _model_file(folder, manifest)
        if path.suffix in _PICKLE_SUFFIXES:
            with open(path, "rb") as handle:
                estimator = pickle.load(handle)  # behind the explicit trust flag
            return _SklearnLoaded(estimator, manifest, pure_compute=False)
        import skops.io

        trusted = skops.io.get_untrusted_types(file=path)
        estimator = skops.io.load(path, trusted=trusted)
        # Only scikit-learn, NumPy and SciPy inside: calls compute and nothing else.
        return _SklearnLoaded(estimator, manifest, pure_compute=not manifest.trusted_types)

    def _untrusted(self, path: Path, manifest: Manifest) -> list[str]:
        import skops.io

        try:
            found = skops.io.get_untrusted_types(file=path)
        except Exception as exc:
            raise InvalidInput(f"{manifest.file!r} is not a readable skops file: {exc}") from None
        allowed = set(manifest.trusted_types)
        return sorted(t for t in found if not t.startswith(TRUSTED_MODULES) and t not in allowed)


def _model_file(folder: Path, manifest: Manifest) -> Path:
    if not manifest.file:
        raise InvalidInput("champion.yaml: the sklearn flavor needs 'file: model.skops'.")
    return confined_file(folder, "file", manifest.file)


class _SklearnLoaded:
    def __init__(self, estimator: Any, manifest: Manifest, *, pure_compute: bool) -> None:
        self.estimator = estimator
        self.pure_compute = pure_compute
        self.manifest = manifest
        self.columns = [spec.name for spec in manifest.signature.inputs]
        # An estimator fitted on a DataFrame wants one (with the same column names); one fitted
        # on an array wants an array, and building a DataFrame for it would only cost time.
        self.wants_frame = hasattr(estimator, "feature_names_in_")
        self.classes = [_plain(c) for c in getattr(estimator, "classes_", [])]
        self.has_proba = manifest.kind == "classifier" and hasattr(estimator, "predict_proba")

    def _matrix(self, instances: Sequence[Instance]) -> Any:
        if self.wants_frame:
            import pandas as pd

            return pd.DataFrame.from_records(list(instances), columns=self.columns)
        import numpy as np

        return np.array([[row[c] for c in self.columns] for row in instances], dtype=np.float64)

    def predict(self, instances: Sequence[Instance]) -> list[Json]:
        matrix = self._matrix(instances)
        if self.has_proba:
            probabilities = self.estimator.predict_proba(matrix)
            outputs = []
            for row in probabilities.tolist():
                best = max(range(len(row)), key=row.__getitem__)
                outputs.append(
                    {
                        "label": self.classes[best],
                        "probabilities": dict(zip(map(str, self.classes), row, strict=True)),
                    }
                )
            return outputs
        return [_plain(value) for value in self.estimator.predict(matrix).tolist()]

    def rank(self, unit: str | None, context: dict[str, Any], k: int) -> list[RankedItem]:
        raise InvalidInput("sklearn versions are classifiers or regressors; they cannot rank.")


def _plain(value: Any) -> Json:
    return value.item() if hasattr(value, "item") else value
