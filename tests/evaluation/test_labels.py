"""Label metrics and NDCG@k per arm, against scikit-learn on the same rows."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pytest
from sklearn import metrics

from champion.db import read
from champion.evaluation.labels import label_of, label_summaries, ndcg_summaries, score_of
from champion.events.arms import ArmWindow
from champion.services import Services
from tests.fixtures.events import EventLog


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ({"label": 1, "probabilities": {"0": 0.3, "1": 0.7}}, 0.7),
        ({"probabilities": {"No": 0.2, "Yes": 0.8}}, 0.8),
        ({"probabilities": {"stay": 0.4, "churn": 0.6}}, None),
        ({"score": 0.25}, 0.25),
        ({"prediction": 3}, 3.0),
        (2.5, 2.5),
        (True, 1.0),
        ("high", None),
    ],
)
def test_score_of_reads_the_usual_output_shapes(output: Any, expected: float | None) -> None:
    assert score_of(output) == expected


@pytest.mark.parametrize(
    ("label", "expected"),
    [(1, 1.0), (False, 0.0), ("yes", 1.0), ("No", 0.0), ("2.5", 2.5), ("n/a", None), (None, None)],
)
def test_label_of(label: Any, expected: float | None) -> None:
    assert label_of(label) == expected


def _rows(seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    rows = []
    for n in range(300):
        label = int(rng.random() < 0.3)
        score = float(np.clip(0.3 + 0.4 * label + rng.normal(0, 0.25), 0, 1))
        arm = "champion" if n % 2 else "challenger"
        rows.append(
            {
                "arm": arm,
                "unit": f"u{n % 70}",
                "outputs": [{"probabilities": {"0": 1 - score, "1": score}}],
                "label": label,
            }
        )
    rows.append({"arm": "champion", "unit": "x", "outputs": [{"text": "?"}], "label": 1})
    return rows


def test_reported_metrics_are_sklearns_and_unit_sums_decompose_them() -> None:
    rows = _rows(1)
    found = label_summaries(rows)
    for arm in ("champion", "challenger"):
        usable = [r for r in rows if r["arm"] == arm and "probabilities" in r["outputs"][0]]
        y = np.array([r["label"] for r in usable], dtype=float)
        s = np.array([r["outputs"][0]["probabilities"]["1"] for r in usable])
        report = found[arm].report
        assert report["labels"] == len(usable)
        assert report["auc"] == pytest.approx(metrics.roc_auc_score(y, s))
        assert report["f1"] == pytest.approx(metrics.f1_score(y, s >= 0.5))
        assert report["log_loss"] == pytest.approx(metrics.log_loss(y, s))
        assert report["rmse"] == pytest.approx(np.sqrt(metrics.mean_squared_error(y, s)))
        summaries = found[arm].summaries
        # Per-unit sums over labelled requests give back the per-request means.
        assert summaries["log_loss"].mean == pytest.approx(metrics.log_loss(y, s))
        assert summaries["accuracy"].mean == pytest.approx(metrics.accuracy_score(y, s >= 0.5))
        assert summaries["squared_error"].mean == pytest.approx(metrics.mean_squared_error(y, s))
        assert summaries["log_loss"].n == len({r["unit"] for r in usable})


def test_regression_labels_get_rmse_only() -> None:
    rows = [
        {"arm": "a", "unit": f"u{i}", "outputs": [{"prediction": float(i)}], "label": i + 0.5}
        for i in range(5)
    ]
    found = label_summaries(rows)["a"]
    assert found.report["rmse"] == pytest.approx(0.5)
    assert found.report["auc"] is None and "log_loss" not in found.summaries


def test_ndcg_per_unit_matches_sklearn_over_all_rankings(services: Services) -> None:
    rng = np.random.default_rng(2)
    log = EventLog()
    relevance: dict[str, list[list[float]]] = defaultdict(list)
    for n in range(60):
        arm = "a" if n % 2 else "b"
        items = [f"i{j}" for j in range(6)]
        request = log.predict(arm, f"u{n % 9}", items=items)
        row = [0.0] * 6
        for position, item in enumerate(items, start=1):
            if rng.random() < 0.25:
                log.react(request, "click", item=item)
                row[position - 1] = 1.0
        relevance[arm].append(row)
    log.write(services.engine)
    with read(services.engine) as conn:
        found = ndcg_summaries(conn, ArmWindow("recs", ["a", "b"]), k=4)
    scores = np.tile(np.arange(6, 0, -1, dtype=float), (30, 1))
    for arm in ("a", "b"):
        expected = metrics.ndcg_score(np.array(relevance[arm]), scores, k=4)
        assert found[arm].mean == pytest.approx(expected)
        assert found[arm].n == len({f"u{n % 9}" for n in range(60) if (n % 2 == 1) == (arm == "a")})
