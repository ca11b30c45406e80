"""Holdout split, offline metrics, and the gates a candidate must pass before registration."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from champion.automation.spec import LOWER_IS_BETTER, ChampionGate, HoldoutSpec, ThresholdGate
from champion.errors import InvalidInput
from champion.evaluation.stattests import McNemarTest, PairedBootstrapTest

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["GateResult", "Scores", "champion_gate", "compute_metrics", "split", "threshold_gate"]

Floats = npt.NDArray[np.float64]


def split(frame: pd.DataFrame, holdout: HoldoutSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, holdout): the holdout is the last ``share`` of rows in time, or a seeded sample.

    ``time`` orders by ``holdout.column`` when given, else keeps the ingestion order (files in
    the order they were ingested, rows in file order), so the holdout is the newest data.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"x": range(10)})
    >>> train, test = split(frame, HoldoutSpec(strategy="time", share=0.3))
    >>> test["x"].tolist()
    [7, 8, 9]
    >>> train, test = split(frame, HoldoutSpec(strategy="random", share=0.3, seed=1))
    >>> sorted(test["x"].tolist()), len(train)
    ([3, 4, 7], 7)
    """
    size = max(1, round(len(frame) * holdout.share))
    if size >= len(frame):
        raise InvalidInput(
            f"holdout.share {holdout.share} leaves no training rows out of {len(frame)}."
        )
    if holdout.strategy == "time":
        ordered = frame
        if holdout.column is not None:
            ordered = frame.sort_values(holdout.column, kind="stable")
        return ordered.iloc[:-size].reset_index(drop=True), ordered.iloc[-size:].reset_index(
            drop=True
        )
    rng = np.random.default_rng(holdout.seed)
    chosen = np.zeros(len(frame), dtype=bool)
    chosen[rng.choice(len(frame), size=size, replace=False)] = True
    return frame[~chosen].reset_index(drop=True), frame[chosen].reset_index(drop=True)


@dataclass(frozen=True)
class Scores:
    """One version's answers on the holdout, in the shape the metrics and tests need."""

    y_true: Floats
    y_score: Floats
    """Classifiers: the probability of the positive class; regressors: the prediction."""
    correct: Floats | None = None
    """Classifiers: 1 where the predicted label is right (for McNemar)."""

    @classmethod
    def from_outputs(
        cls, y_true: Sequence[Any], outputs: Sequence[Any], kind: str, positive: Any
    ) -> Scores:
        truth = np.asarray([float(v == positive) if kind == "classifier" else v for v in y_true])
        if kind != "classifier":
            return cls(truth.astype(np.float64), np.asarray(outputs, dtype=np.float64))
        key = str(positive)
        try:
            score = np.asarray([o["probabilities"][key] for o in outputs], dtype=np.float64)
            labels = [o["label"] for o in outputs]
        except (KeyError, TypeError):
            raise InvalidInput(
                f"The classifier's outputs have no probability for class {key!r} (the "
                f"pipeline's 'positive'); first output: {outputs[0]!r}."
            ) from None
        correct = np.asarray(
            [float((lab == positive) == bool(t)) for lab, t in zip(labels, truth, strict=True)]
        )
        return cls(truth.astype(np.float64), score, correct)


def compute_metrics(scores: Scores, names: Sequence[str]) -> dict[str, float]:
    """The named metrics (scikit-learn) of one version on the holdout."""
    from sklearn import metrics as skm  # late: the server starts about a second faster

    y, s = scores.y_true, scores.y_score
    found: dict[str, float] = {}
    for name in names:
        if name == "auc":
            value = skm.roc_auc_score(y, s) if np.unique(y).size == 2 else float("nan")
        elif name == "log_loss":
            value = skm.log_loss(y, np.clip(s, 1e-15, 1 - 1e-15), labels=[0.0, 1.0])
        elif name == "f1":
            value = skm.f1_score(y, s >= 0.5, zero_division=0.0)
        elif name == "accuracy":
            value = skm.accuracy_score(y, s >= 0.5)
        elif name == "rmse":
            value = float(np.sqrt(skm.mean_squared_error(y, s)))
        elif name == "mae":
            value = skm.mean_absolute_error(y, s)
        else:
            value = skm.r2_score(y, s)
        found[name] = round(float(value), 6)
    return found


@dataclass(frozen=True)
class GateResult:
    gate: str
    passed: bool
    detail: str
    numbers: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"gate": self.gate, "passed": self.passed, "detail": self.detail, **self.numbers}


def threshold_gate(gate: ThresholdGate, found: dict[str, float]) -> GateResult:
    value = found[gate.metric]
    low_ok = gate.at_least is None or value >= gate.at_least
    high_ok = gate.at_most is None or value <= gate.at_most
    bounds = [
        f">= {gate.at_least:g}" if gate.at_least is not None else "",
        f"<= {gate.at_most:g}" if gate.at_most is not None else "",
    ]
    wanted = " and ".join(b for b in bounds if b)
    return GateResult(
        f"{gate.metric} {wanted}",
        bool(low_ok and high_ok and np.isfinite(value)),
        f"{gate.metric} = {value:.4f} (needs {wanted})",
        {"metric": gate.metric, "value": value},
    )


def champion_gate(gate: ChampionGate, champion: Scores | None, candidate: Scores) -> GateResult:
    """Not worse than the champion: fails only if the paired test shows it is worse.

    With ``paired_bootstrap`` the candidate fails when the upper end of the ``1 - alpha``
    interval of its difference on the metric is below ``-margin`` (for ``rmse``, lower is
    better, so when the lower end is above ``margin``). With ``mcnemar`` it fails when it is
    significantly less accurate by more than ``margin``.
    """
    name = f"not worse than @{gate.not_worse_than} ({gate.test}, {gate.metric})"
    if champion is None:
        return GateResult(name, True, f"no @{gate.not_worse_than} yet: nothing to compare", {})
    if gate.test == "mcnemar":
        if champion.correct is None or candidate.correct is None:
            raise InvalidInput("The mcnemar gate needs classifiers (labels right or wrong).")
        result = McNemarTest().run(champion.correct, candidate.correct, alpha=gate.alpha)
        worse = result.significant is True and result.effect < -gate.margin
    else:
        test = PairedBootstrapTest(gate.metric, gate.n_resamples, gate.seed)
        result = test.run(
            (champion.y_true, champion.y_score),
            (candidate.y_true, candidate.y_score),
            alpha=gate.alpha,
        )
        assert result.ci is not None  # the bootstrap always has an interval
        low, high = result.ci
        worse = low > gate.margin if gate.metric in LOWER_IS_BETTER else high < -gate.margin
    low, high = result.ci or (float("nan"), float("nan"))
    detail = (
        f"{result.method}: difference {result.effect:+.4f} "
        f"({1 - gate.alpha:.0%} CI {low:+.4f} to {high:+.4f}), p = {result.p_value:.3g}"
    )
    return GateResult(
        name,
        not worse,
        detail
        + (f": worse than @{gate.not_worse_than}" if worse else ": not worse")
        + (f" (margin {gate.margin:g})" if gate.margin else ""),
        {
            "test": result.method,
            "effect": result.effect,
            "ci": [low, high],
            "p_value": result.p_value,
            "alpha": gate.alpha,
            "margin": gate.margin,
        },
    )
