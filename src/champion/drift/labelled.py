"""The labelled reference of a classifier: its scores calibrated on the reference's labels.

A version's reference data may carry the true outcome in a column: the one named by
``target`` in champion.yaml (read at registration), or the ``label`` given with
``champion drift reference MODEL/VERSION DATA --label COLUMN``. The rows the reference
profile scores (a seeded sample of at most ``OUTPUT_ROWS``) are then paired with their
labels; an isotonic calibration of the positive class's score is fitted on them and stored,
with the metrics the version reached there. Only that is kept, never the rows.

Performance estimation (``cbpe``) reads it. Binary classifiers only: the positive class is
the last of the sorted probability keys (``"1"`` for 0/1 labels), as for the realised AUC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa

from champion.datafiles import missing_as_none
from champion.db import read
from champion.drift.cbpe import Calibration, FloatArray
from champion.drift.tables import reference_labels
from champion.errors import InvalidInput, NotFound
from champion.registry import VersionKey
from champion.types import Json

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "LabelledReference",
    "find_labelled",
    "get_labelled",
    "label_reference",
    "label_text",
    "served_scores",
    "store_labelled",
]


@dataclass(frozen=True)
class LabelledReference:
    """A version's calibration and the metrics it reached on its labelled reference rows."""

    key: VersionKey | None
    label: str
    positive: str
    calibration: Calibration
    metrics: dict[str, float | None]
    created_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "positive": self.positive,
            "rows": self.calibration.rows,
            "positives": self.calibration.positives,
            "metrics": self.metrics,
        }


def served_scores(outputs: Sequence[Json]) -> tuple[list[str], FloatArray, FloatArray]:
    """``(classes, score, predicted)`` of a binary classifier's outputs: its two classes
    (sorted, the positive one last), the positive class's probability per output and whether
    the served label was it."""
    keys: set[str] = set()
    for output in outputs:
        if isinstance(output, dict) and isinstance(output.get("probabilities"), dict):
            keys.update(output["probabilities"])
    if len(keys) != 2:
        raise InvalidInput(
            "Performance estimation needs a binary classifier that answers a label and the "
            f"probabilities of its two classes; its answers hold the classes {sorted(keys)!r}."
        )
    positive = sorted(keys)[-1]
    score = np.full(len(outputs), np.nan)
    predicted = np.zeros(len(outputs))
    for i, output in enumerate(outputs):
        if isinstance(output, dict):
            value = (output.get("probabilities") or {}).get(positive)
            if isinstance(value, int | float):
                score[i] = float(value)
            predicted[i] = float(str(output.get("label")) == positive)
    return sorted(keys), score, predicted


def label_reference(frame: pd.DataFrame, outputs: Sequence[Json], label: str) -> LabelledReference:
    """Fit the calibration on ``frame[label]`` and the model's ``outputs`` on those rows."""
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    if label not in frame.columns:
        raise InvalidInput(
            f"The reference data has no label column {label!r} (the 'target' of champion.yaml "
            f"or --label). Columns: {', '.join(map(str, frame.columns))}."
        )
    classes, score, predicted = served_scores(outputs)
    positive = classes[-1]
    truth_text = [label_text(v) for v in missing_as_none(frame[label])]
    unknown = sorted({v for v in truth_text if v is not None} - set(classes))
    if unknown:
        raise InvalidInput(
            f"The label column {label!r} holds {unknown[:5]!r}, which the model never answers; "
            f"its classes are {classes!r}."
        )
    known = np.array([v is not None for v in truth_text]) & np.isfinite(score)
    truth = np.array([v == positive for v in truth_text])[known]
    calibration = Calibration.fit(score[known], truth)
    metrics = {
        "accuracy": float(accuracy_score(truth, predicted[known] == 1)),
        "auc": float(roc_auc_score(truth, score[known])),
        "f1": float(f1_score(truth, predicted[known] == 1)),
    }
    return LabelledReference(None, label, positive, calibration, dict(metrics))


def label_text(value: Any) -> str | None:
    # Labels compare as text, as served labels do; a column with blanks holds 1.0 for 1.
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value.item() if isinstance(value, np.generic) else value)


def store_labelled(
    conn: sa.Connection, key: VersionKey, labelled: LabelledReference, at: datetime
) -> None:
    where = (reference_labels.c.model == key.model) & (reference_labels.c.version == key.number)
    conn.execute(reference_labels.delete().where(where))
    conn.execute(
        reference_labels.insert().values(
            model=key.model,
            version=key.number,
            label=labelled.label,
            positive=labelled.positive,
            calibration=labelled.calibration.to_dict(),
            metrics=labelled.metrics,
            created_at=at,
        )
    )


def find_labelled(engine: sa.Engine, key: VersionKey) -> LabelledReference | None:
    with read(engine) as conn:
        row = conn.execute(
            sa.select(reference_labels).where(
                (reference_labels.c.model == key.model) & (reference_labels.c.version == key.number)
            )
        ).first()
    if row is None:
        return None
    return LabelledReference(
        key, row.label, row.positive, Calibration.from_dict(row.calibration),
        dict(row.metrics), row.created_at,
    )  # fmt: skip


def get_labelled(engine: sa.Engine, key: VersionKey) -> LabelledReference:
    """The labelled reference of ``key``; NotFound says how to give one."""
    found = find_labelled(engine, key)
    if found is None:
        raise NotFound(
            f"Version {key} has no labelled reference, so its performance cannot be "
            "estimated. Name the label column of its reference data with 'target' in "
            f"champion.yaml, or run: champion drift reference {key} DATA --label COLUMN --replace"
        )
    return found
