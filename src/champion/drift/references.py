"""Reference profiles, one per version: computed once, stored, reused by every drift run.

A profile covers the version's inputs (the signature's fields, or every column of the data
when the signature lists none) and its outputs: the model scores up to ``OUTPUT_ROWS`` rows
of the reference data and each scalar of its answers becomes a column named ``output.…``
(``output.label``, ``output.probabilities.1``). Rankers have no output columns.

It is computed when a version is registered with a reference data file in its folder
(``reference.parquet``, ``.csv`` or ``.jsonl``), or later from any data file with
``References.compute`` (``champion drift reference MODEL/VERSION DATA``). Either way the
model is loaded as the server would load it, and the data is read once and never again.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa

from champion import audit
from champion.clock import Clock
from champion.datafiles import missing_as_none, read_table
from champion.db import read, write
from champion.drift.labelled import LabelledReference, label_reference, store_labelled
from champion.drift.profile import ColumnKind, ReferenceProfile
from champion.drift.tables import reference_profiles
from champion.errors import Conflict, InvalidInput, NotFound
from champion.registry import Manifest, Registry, Version, VersionKey
from champion.registry.flavors import Loaded
from champion.registry.manifest import find_reference_file
from champion.registry.service import RegistrationWrite
from champion.types import Json

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "OUTPUT_PREFIX",
    "OUTPUT_ROWS",
    "RANKER_MESSAGE",
    "References",
    "StoredReference",
    "flatten_outputs",
]

OUTPUT_PREFIX = "output"
RANKER_MESSAGE = (
    "Version {key} is a ranker: rankers have no reference profile (drift compares a "
    "classifier's or regressor's table of inputs and outputs with its training data). A "
    "ranker is monitored on what it showed against the window before: GET "
    "/v1/endpoints/ENDPOINT/ranking-monitor, 'champion drift ranking ENDPOINT', or the "
    "endpoint's drift page."
)
OUTPUT_ROWS = 20_000
"""At most this many reference rows are scored to profile the outputs (a seeded sample)."""
_BATCH = 1_000


@dataclass(frozen=True)
class StoredReference:
    """A version's stored profile and where it came from."""

    key: VersionKey
    profile: ReferenceProfile
    output_columns: tuple[str, ...]
    rows: int
    source: str
    created_at: datetime
    created_by: str

    @property
    def input_columns(self) -> list[str]:
        return [n for n in self.profile.names() if n not in self.output_columns]

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.key.model,
            "version": self.key.number,
            "rows": self.rows,
            "source": self.source,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "inputs": self.input_columns,
            "outputs": list(self.output_columns),
            "columns": [
                {"name": c.name, "kind": c.kind, "count": c.count, "missing_share": c.missing_share}
                for c in self.profile.columns
            ],
        }


def flatten_outputs(outputs: list[Json]) -> pd.DataFrame:
    """One row per output, one ``output.…`` column per scalar in it (lists are skipped).

    >>> flatten_outputs([{"label": 1, "probabilities": {"0": 0.2, "1": 0.8}}, 3.5]).columns.tolist()
    ['output.label', 'output.probabilities.0', 'output.probabilities.1', 'output']
    """
    import pandas as pd

    return pd.DataFrame.from_records([_flat(output, OUTPUT_PREFIX) for output in outputs])


def _flat(value: Json, prefix: str) -> dict[str, Any]:
    if isinstance(value, dict):
        found: dict[str, Any] = {}
        for key, inner in value.items():
            found.update(_flat(inner, f"{prefix}.{key}"))
        return found
    if isinstance(value, list | tuple):
        return {}
    return {prefix: value}


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-like rows: missing values are None, numbers are Python numbers."""
    plain = missing_as_none(frame)
    return [
        {str(k): v.item() if isinstance(v, np.generic) else v for k, v in row.items()}
        for row in plain.to_dict(orient="records")
    ]


def profile_data(
    frame: pd.DataFrame, manifest: Manifest, model: Loaded | None, label: str | None = None
) -> tuple[ReferenceProfile, tuple[str, ...], LabelledReference | None]:
    """The profile of ``frame`` as the reference of a version with ``manifest``, and its
    labelled reference when ``label`` names the column of true outcomes."""
    fields = manifest.signature.inputs
    inputs = [f.name for f in fields] or [str(c) for c in frame.columns if c != label]
    absent = [name for name in inputs if name not in frame.columns]
    if absent:
        raise InvalidInput(
            f"The reference data lacks the signature's inputs {absent!r}. "
            f"Columns: {', '.join(map(str, frame.columns))}."
        )
    if frame.empty:
        raise InvalidInput("The reference data has no rows.")
    if label is not None and manifest.kind != "classifier":
        raise InvalidInput(
            f"A labelled reference (label {label!r}) calibrates a classifier's scores; this "
            f"version is a {manifest.kind}."
        )
    kinds: dict[str, ColumnKind] = {
        f.name: "categorical" for f in fields if f.type in ("string", "boolean")
    }
    profile = ReferenceProfile.from_frame(frame, kinds, columns=inputs)
    if model is None or manifest.kind == "ranker":
        return profile, (), None
    sample = frame if len(frame) <= OUTPUT_ROWS else frame.sample(OUTPUT_ROWS, random_state=0)
    rows = records(sample[inputs])
    outputs: list[Json] = []
    try:
        for start in range(0, len(rows), _BATCH):
            outputs.extend(model.predict(rows[start : start + _BATCH]))
    except Exception as exc:
        raise InvalidInput(
            f"The model could not score its reference data ({type(exc).__name__}: {exc}); "
            "the reference must hold rows the model accepts."
        ) from None
    scored = ReferenceProfile.from_frame(flatten_outputs(outputs))
    labelled = None if label is None else label_reference(sample, outputs, label)
    combined = ReferenceProfile(len(frame), profile.columns + scored.columns)
    return combined, tuple(scored.names()), labelled


class References:
    """Stores and reads reference profiles; hooks into registration."""

    def __init__(self, engine: sa.Engine, registry: Registry, clock: Clock) -> None:
        self.engine = engine
        self.registry = registry
        self.clock = clock

    def registration_hook(self, folder: Path, manifest: Manifest) -> RegistrationWrite | None:
        """Profile the version folder's reference data file, if it has one."""
        path = find_reference_file(folder)
        if path is None:
            return None
        model = None
        if manifest.kind != "ranker":
            model = self.registry.flavors.get(manifest.flavor).load(
                folder, manifest, self.registry.options
            )
        frame = read_table(path)
        profile, outputs, labelled = profile_data(frame, manifest, model, manifest.target)
        source = f"{path.name} in the version folder"

        def store(conn: sa.Connection, key: VersionKey, actor: str, at: datetime) -> None:
            self._insert(conn, key, profile, outputs, source, actor, at)
            if labelled is not None:
                store_labelled(conn, key, labelled, at)

        return store

    def compute(
        self,
        ref: str | Version,
        data: Path | str | pd.DataFrame,
        *,
        actor: str,
        replace: bool = False,
        reason: str = "",
        label: str | None = None,
    ) -> StoredReference:
        """Profile ``data`` (a file or a DataFrame) as the reference of version ``ref``;
        with ``label`` (default: the manifest's ``target``), the column of true outcomes,
        also calibrate its scores for performance estimation (``labelled``)."""
        import pandas as pd

        version = self.registry.resolve(ref) if isinstance(ref, str) else ref
        if not replace and self.find(version.key) is not None:
            raise Conflict(
                f"Version {version.key} already has a reference profile; "
                "replace it explicitly (--replace, or replace=True)."
            )
        frame = data if isinstance(data, pd.DataFrame) else read_table(data)
        source = "a DataFrame" if isinstance(data, pd.DataFrame) else Path(data).name
        manifest = Manifest.model_validate(version.manifest)
        with tempfile.TemporaryDirectory(prefix="reference-") as folder:
            model = None
            if version.kind != "ranker":
                path = self.registry.materialise(version, Path(folder) / "version")
                model = self.registry.flavors.get(version.flavor).load(
                    path, manifest, self.registry.options
                )
            label = label or manifest.target
            profile, outputs, labelled = profile_data(frame, manifest, model, label)
        with write(self.engine) as conn:
            key = version.key
            conn.execute(
                reference_profiles.delete().where(
                    (reference_profiles.c.model == key.model)
                    & (reference_profiles.c.version == key.number)
                )
            )
            now = self.clock.now()
            self._insert(conn, key, profile, outputs, source, actor, now, reason)
            if labelled is not None:
                store_labelled(conn, key, labelled, now)
        return self.get(version.key)

    def _insert(
        self,
        conn: sa.Connection,
        key: VersionKey,
        profile: ReferenceProfile,
        outputs: tuple[str, ...],
        source: str,
        actor: str,
        at: datetime,
        reason: str = "",
    ) -> None:
        conn.execute(
            reference_profiles.insert().values(
                model=key.model,
                version=key.number,
                profile=profile.to_dict(),
                output_columns=list(outputs),
                rows=profile.rows,
                source=source,
                created_at=at,
                created_by=actor,
            )
        )
        audit.record(
            conn,
            at=at,
            actor=actor,
            action="reference.set",
            target=str(key),
            details={
                "model": key.model,
                "rows": profile.rows,
                "columns": len(profile.columns),
                "source": source,
            },
            reason=reason,
        )

    def find(self, key: VersionKey) -> StoredReference | None:
        with read(self.engine) as conn:
            row = conn.execute(
                sa.select(reference_profiles).where(
                    (reference_profiles.c.model == key.model)
                    & (reference_profiles.c.version == key.number)
                )
            ).first()
        if row is None:
            return None
        return StoredReference(
            key=key,
            profile=ReferenceProfile.from_dict(row.profile),
            output_columns=tuple(row.output_columns),
            rows=int(row.rows),
            source=row.source,
            created_at=row.created_at,
            created_by=row.created_by,
        )

    def get(self, key: VersionKey) -> StoredReference:
        """The stored profile of ``key``; NotFound says how to make one."""
        found = self.find(key)
        if found is None:
            version = self.registry.get_version(key.model, key.number)  # NotFound if unknown
            if version.kind == "ranker":
                raise NotFound(RANKER_MESSAGE.format(key=key))
            raise NotFound(
                f"Version {key} has no reference profile. Register it with a reference data "
                f"file in its folder, or run: champion drift reference {key} DATA"
            )
        return found
