"""The labelled reference: what it accepts and the clear refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from champion.drift.labelled import label_reference, label_text
from champion.errors import InvalidInput


def _answers(p: np.ndarray, classes: tuple[str, ...] = ("0", "1")) -> list[object]:
    return [
        {"label": int(v >= 0.5), "probabilities": dict(zip(classes, (1 - v, v), strict=False))}
        for v in p
    ]


def test_labels_with_blanks_read_as_the_served_classes() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(size=300)
    truth = (rng.uniform(size=300) < p).astype(float)
    truth[:5] = np.nan  # a blank turns the column to floats: 1.0 must still mean "1"
    labelled = label_reference(pd.DataFrame({"y": truth}), _answers(p), "y")
    assert (labelled.positive, labelled.calibration.rows) == ("1", 295)
    assert labelled.calibration.positives == int(np.nansum(truth))
    assert 0.7 < (labelled.metrics["auc"] or 0) < 0.9
    assert [label_text(v) for v in (1.0, np.int64(0), "Yes", None)] == ["1", "0", "Yes", None]


def test_a_multiclass_model_is_refused_clearly() -> None:
    three = [{"label": "a", "probabilities": {"a": 0.5, "b": 0.3, "c": 0.2}}] * 100
    with pytest.raises(InvalidInput, match=r"binary classifier .* classes \['a', 'b', 'c'\]"):
        label_reference(pd.DataFrame({"y": ["a"] * 100}), three, "y")


def test_answers_without_probabilities_are_refused() -> None:
    with pytest.raises(InvalidInput, match="probabilities of its two classes"):
        label_reference(pd.DataFrame({"y": [0, 1] * 50}), [{"score": 0.2}] * 100, "y")
