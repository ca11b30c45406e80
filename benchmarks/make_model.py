"""Build the benchmark model once and write it for every server.

One seeded 20-feature LogisticRegression, fitted on a NumPy array (no feature names), written:

- build/champion_model/: model.skops + champion.yaml, for `champion models register`;
- build/mlflow_model/: the same fitted model loaded back from model.skops and saved with
  mlflow.sklearn (runs mlflow_model.py with the peers' venv, benchmarks/.venv);
- build/payload_{champion,bare,mlflow}.json: one row, in each server's request format.

Run with champion's venv: `.venv/bin/python benchmarks/make_model.py [--no-mlflow]`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import skops.io
import yaml
from sklearn.linear_model import LogisticRegression

HERE = Path(__file__).parent
BUILD = HERE / "build"
PEERS_PYTHON = HERE / ".venv" / "bin" / "python"
FEATURES = [f"f{i}" for i in range(20)]


def build_champion() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5000, 20))
    y = (x @ rng.normal(size=20) + rng.normal(size=5000) > 0).astype(int)
    model = LogisticRegression(C=1.0).fit(x, y)
    folder = BUILD / "champion_model"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    skops.io.dump(model, folder / "model.skops")
    manifest = {
        "kind": "classifier",
        "flavor": "sklearn",
        "file": "model.skops",
        "signature": {"inputs": [{"name": f, "type": "number"} for f in FEATURES]},
        "lineage": {
            "trained_by": "benchmark",
            "description": "20-feature logistic regression for the serving benchmark",
            "params": {"C": 1.0},
        },
    }
    (folder / "champion.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    row = dict(zip(FEATURES, rng.normal(size=20).round(4).tolist(), strict=True))
    payloads = {
        "champion": {"unit": "u1", "instances": [row]},
        "bare": {"instances": [row]},
        "mlflow": {"dataframe_split": {"columns": FEATURES, "data": [list(row.values())]}},
    }
    for name, payload in payloads.items():
        (BUILD / f"payload_{name}.json").write_text(json.dumps(payload))
    # What every server should answer for that row, to check the answers before timing them.
    expected = model.predict_proba(np.array([list(row.values())])).tolist()
    (BUILD / "expected.json").write_text(json.dumps(expected))


def build_mlflow() -> None:
    if not PEERS_PYTHON.exists():
        raise SystemExit(
            "The peers' venv is missing. Create it with:\n"
            "  python3 -m venv benchmarks/.venv && "
            "benchmarks/.venv/bin/pip install -r benchmarks/requirements-peers.txt"
        )
    subprocess.run([str(PEERS_PYTHON), str(HERE / "mlflow_model.py")], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-mlflow", action="store_true", help="skip the MLflow model folder")
    args = parser.parse_args()
    build_champion()
    if not args.no_mlflow:
        build_mlflow()


if __name__ == "__main__":
    main()
