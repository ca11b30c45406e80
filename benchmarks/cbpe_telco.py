"""Estimated (CBPE) against realised accuracy and ROC AUC on IBM's Telco churn table.

For each split seed the customers are cut in three (stratified): 40 % train the demo's
attrition classifier (logistic regression, ``champion.demo.attrition``), 20 % are its
labelled reference (champion's ``label_reference``: isotonic calibration on those rows) and
40 % are the pool live windows are drawn from. Each scenario draws ``--windows`` windows of
``--size`` customers (without replacement) from a segment of the pool:

* ``random``: the whole pool (no shift);
* covariate shift, resampled by tenure or contract type: ``new (tenure <= 12)``,
  ``long (tenure > 48)``, ``month-to-month``, ``two-year``, ``fiber optic``;
* concept drift: ``flipped month-to-month``, the whole pool with the outcome of
  month-to-month customers inverted (they now leave when the model says they stay).

Per window: CBPE's expected accuracy and AUC (``champion.drift.cbpe.estimate``, the code
the server runs) and the realised ones from scikit-learn on the window's true labels; the
error is estimated minus realised, ``covered`` says the realised value fell in the estimate's
95 % interval, and ``flagged`` that it did not for accuracy or AUC (what the server reports).

Run from the repository root (about a minute on one core):

    nice -n 10 .venv/bin/python -m benchmarks.cbpe_telco
    nice -n 10 .venv/bin/python -m benchmarks.cbpe_telco --seeds 2 --windows 20
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split

from champion.demo.attrition import ID, INTEGERS, NUMBERS, TARGET, attrition_pipeline, load_telco
from champion.drift.cbpe import estimate
from champion.drift.labelled import label_reference

HERE = Path(__file__).parent
DATA = HERE.parent / "data"

Segment = Callable[[pd.DataFrame], "pd.Series[bool]"]
SCENARIOS: dict[str, tuple[Segment, bool]] = {
    "random": (lambda f: f["tenure"] >= 0, False),
    "new (tenure <= 12)": (lambda f: f["tenure"] <= 12, False),
    "long (tenure > 48)": (lambda f: f["tenure"] > 48, False),
    "month-to-month": (lambda f: f["Contract"] == "Month-to-month", False),
    "two-year": (lambda f: f["Contract"] == "Two year", False),
    "fiber optic": (lambda f: f["InternetService"] == "Fiber optic", False),
    "flipped month-to-month": (lambda f: f["tenure"] >= 0, True),
}


def outputs(probability: np.ndarray) -> list[Any]:
    """The answers the sklearn flavor serves for these positive-class probabilities."""
    return [
        {"label": int(p >= 0.5), "probabilities": {"0": 1 - float(p), "1": float(p)}}
        for p in probability
    ]


def run_seed(seed: int, windows: int, size: int) -> list[dict[str, Any]]:
    table, _ = load_telco(DATA)
    categoricals = [c for c in table.columns if c not in {*INTEGERS, *NUMBERS, TARGET, ID}]
    features = categoricals + INTEGERS + NUMBERS
    target = (table[TARGET] == "Yes").astype(int)
    train, rest = train_test_split(table, test_size=0.6, stratify=target, random_state=seed)
    reference, pool = train_test_split(
        rest, test_size=2 / 3, stratify=target[rest.index], random_state=seed
    )
    model = attrition_pipeline(categoricals, INTEGERS + NUMBERS, "logistic", seed)
    model.fit(train[features], target[train.index])
    labelled = label_reference(
        reference.assign(churned=target[reference.index]),
        outputs(model.predict_proba(reference[features])[:, 1]),
        "churned",
    )
    pool_score = model.predict_proba(pool[features])[:, 1]
    pool_truth = target[pool.index].to_numpy()
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for name, (segment, flip) in SCENARIOS.items():
        members = np.flatnonzero(segment(pool).to_numpy())
        truth_all = pool_truth.copy()
        if flip:
            monthly = (pool["Contract"] == "Month-to-month").to_numpy()
            truth_all[monthly] = 1 - truth_all[monthly]
        for w in range(windows):
            picked = rng.choice(members, size=min(size, len(members)), replace=False)
            score, truth = pool_score[picked], truth_all[picked]
            predicted = score >= 0.5
            result = estimate(labelled.calibration, score, predicted, seed=seed * 1000 + w)
            realised = {
                "accuracy": float(accuracy_score(truth, predicted)),
                "auc": float(roc_auc_score(truth, score)),
            }
            row: dict[str, Any] = {"scenario": name, "seed": seed, "window": w}
            flagged = False
            for metric, value in realised.items():
                expected, low, high = (
                    result.metrics[metric],
                    result.low[metric],
                    result.high[metric],
                )
                assert expected is not None and low is not None and high is not None
                covered = low <= value <= high
                flagged = flagged or not covered
                row |= {
                    f"{metric}_estimated": expected,
                    f"{metric}_realised": value,
                    f"{metric}_covered": covered,
                }
            row["flagged"] = flagged
            rows.append(row)
    return rows


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    out = []
    for name in SCENARIOS:
        part = frame[frame["scenario"] == name]
        line: dict[str, Any] = {"scenario": name, "windows": len(part)}
        for metric in ("accuracy", "auc"):
            error = part[f"{metric}_estimated"] - part[f"{metric}_realised"]
            line |= {
                f"{metric} est.": part[f"{metric}_estimated"].mean(),
                f"{metric} real": part[f"{metric}_realised"].mean(),
                f"{metric} mean err": error.mean(),
                f"{metric} |err| p95": error.abs().quantile(0.95),
                f"{metric} covered": part[f"{metric}_covered"].mean(),
            }
        line["flagged"] = part["flagged"].mean()
        out.append(line)
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--windows", type=int, default=40)
    parser.add_argument("--size", type=int, default=300)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "cbpe_telco.json")
    args = parser.parse_args()
    began = time.perf_counter()
    rows = [row for seed in range(args.seeds) for row in run_seed(seed, args.windows, args.size)]
    summary = summarise(pd.DataFrame(rows))
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(summary.round(3).to_string(index=False))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "seeds": args.seeds,
                "windows": args.windows,
                "size": args.size,
                "seconds": round(time.perf_counter() - began, 1),
                "summary": summary.round(4).to_dict(orient="records"),
            },
            indent=2,
        )
    )
    print(f"{time.perf_counter() - began:.1f} s; written {args.out}")


if __name__ == "__main__":
    main()
