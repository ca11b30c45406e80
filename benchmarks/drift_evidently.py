"""The Evidently side of benchmarks/drift.py; runs in benchmarks/.venv-evidently.

``--child speed REFERENCE CURRENT``: DataDriftPreset on two Parquet files, timed.
``--child accuracy REPEATS``: which columns its defaults flag on the benchmark's table at 100k
rows, shifted and over REPEATS unshifted windows.
Prints one JSON line, as the champion children do.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.drift import peak_rss_mb, rss_mb  # noqa: E402


def drifted_columns(reference: Any, current: Any) -> list[str]:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    categorical = [c for c in reference.columns if c.startswith("category")]
    numerical = [c for c in reference.columns if c not in categorical]
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    flagged = []
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if not config["type"].endswith("ValueDrift"):
            continue
        value, threshold = float(metric["value"]), float(config["threshold"])
        p_value = "p_value" in config["method"]
        if (value < threshold) if p_value else (value >= threshold):
            flagged.append(config["column"])
    return sorted(flagged)


def speed(reference: str, current: str) -> dict[str, Any]:
    import pandas as pd

    before = rss_mb()
    started = time.perf_counter()
    flagged = drifted_columns(pd.read_parquet(reference), pd.read_parquet(current))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rss_growth_mb": peak_rss_mb() - before, "drifted": flagged}


def accuracy(repeats: str) -> dict[str, Any]:
    from tests.drift.tables import synthetic_table

    reference = synthetic_table(100_000, seed=1)
    found: dict[str, Any] = {
        "shifted_100000": drifted_columns(reference, synthetic_table(100_000, seed=2, shifted=True))
    }
    false = [
        drifted_columns(reference, synthetic_table(100_000, seed=100 + i))
        for i in range(int(repeats))
    ]
    found["unshifted_false_columns"] = sum(len(f) for f in false)
    found["unshifted_flagged"] = sorted({c for f in false for c in f})
    return found


def main() -> None:
    kind, *args = sys.argv[2:]
    result = speed(*args) if kind == "speed" else accuracy(*args)
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
