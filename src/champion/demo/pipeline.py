"""The attrition retraining story: new customer files land, a pipeline retrains and canaries.

The Telco table is split as the first attrition model saw it: the rows it was trained on are
``initial.csv``; the 1,409 customers it then scored, whose outcomes came back, arrive as three
new files in ``incoming/``. One has corrupt rows (quarantined with a reason per row), one is
shifted towards short-tenure month-to-month contracts. The pipeline ingests them, retrains on
everything but the newest 10 % of rows, compares the candidate with the champion on those
newest rows by a paired bootstrap of the AUC, registers it with its lineage and deploys it as
a 10 % canary under an experiment the server's controller drives (``champion.demo.canary``).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import skops.io
import yaml
from sklearn.model_selection import train_test_split

from champion.automation import PipelineSpec, TrainingJob
from champion.demo.attrition import ID, TARGET, attrition_pipeline, load_telco
from champion.demo.canary import CANARY_EXPERIMENT

__all__ = [
    "AttritionFiles",
    "pipeline_spec",
    "show_retraining",
    "split_telco",
    "train_attrition",
]

PIPELINE = "attrition-retrain"
_CORRUPTIONS = (
    ("tenure", "unknown"),
    ("MonthlyCharges", ""),
    ("Contract", " "),
    ("SeniorCitizen", "2.5"),
)


@dataclass(frozen=True)
class AttritionFiles:
    initial: Path
    incoming: Path
    batches: tuple[Path, ...]
    corrupted: int


def split_telco(data_dir: Path, folder: Path, seed: int = 0) -> AttritionFiles:
    """Write ``initial.csv`` and three batches under ``folder/incoming`` (recreated)."""
    table, _ = load_telco(data_dir)
    table = table.assign(**{TARGET: (table[TARGET] == "Yes").astype(int)})
    # The same split as the first model's: it learnt from `train` and scored `scored`.
    train, scored = train_test_split(
        table, test_size=0.2, stratify=table[TARGET], random_state=seed
    )
    rng = np.random.default_rng(seed)
    short_monthly = (scored["Contract"] == "Month-to-month") & (scored["tenure"] < 24)
    weights = np.where(short_monthly, 6.0, 1.0)
    shifted_index = rng.choice(
        len(scored), size=len(scored) // 3, replace=False, p=weights / weights.sum()
    )
    shifted = scored.iloc[np.sort(shifted_index)]
    rest = scored.drop(index=shifted.index).sample(frac=1.0, random_state=seed)
    clean, corrupt = rest.iloc[: len(rest) // 2], rest.iloc[len(rest) // 2 :].astype(object)
    rows = rng.choice(len(corrupt), size=12, replace=False)
    for i, row in enumerate(rows):
        column, value = _CORRUPTIONS[i % len(_CORRUPTIONS)]
        corrupt.iloc[row, corrupt.columns.get_loc(column)] = value
    shutil.rmtree(folder, ignore_errors=True)
    incoming = folder / "incoming"
    incoming.mkdir(parents=True)
    initial = incoming / "0-initial.csv"
    train.to_csv(initial, index=False)
    batches = []
    for name, frame in (
        ("1-new-customers.csv", clean),
        ("2-crm-export.csv", corrupt),
        ("3-spring-campaign.csv", shifted),
    ):
        frame.to_csv(incoming / name, index=False)
        batches.append(incoming / name)
    return AttritionFiles(initial, incoming, tuple(batches), len(rows))


def pipeline_spec(incoming: Path, *, compile: bool = False) -> PipelineSpec:
    """The pipeline as its YAML file states it (see ``attrition-retrain.yaml`` in the home);
    ``compile``: the candidate is compiled to ONNX where it verifies on the holdout."""
    table_columns = list(pd.read_csv(next(incoming.glob("*.csv")), nrows=1).columns)
    schema: list[dict[str, Any]] = []
    for column in table_columns:
        kind = {
            "SeniorCitizen": "integer",
            "tenure": "integer",
            TARGET: "integer",
            "MonthlyCharges": "number",
            "TotalCharges": "number",
        }.get(column, "string")
        schema.append({"name": column, "type": kind, "nullable": column == "TotalCharges"})
    return PipelineSpec.model_validate(
        {
            "name": PIPELINE,
            "model": "attrition",
            "description": "Retrain attrition risk on every customer file that lands",
            "source": {"name": "telco", "path": str(incoming)},
            "schema": schema,
            "target": TARGET,
            "positive": 1,
            "train": {
                "entry": "champion.demo.pipeline:train_attrition",
                "params": {"estimator": "logistic", "ignore": [ID]},
            },
            "holdout": {"strategy": "time", "share": 0.1},
            "metrics": ["auc", "log_loss", "f1"],
            "gates": [
                {"metric": "auc", "at_least": 0.75},
                {
                    "not_worse_than": "champion",
                    "test": "paired_bootstrap",
                    "metric": "auc",
                    "alpha": 0.05,
                    # Not worse by more than 0.005 AUC: a retrained model may lose a hair of
                    # AUC offline; the canary and the controller then decide on live labels.
                    "margin": 0.005,
                    "n_resamples": 200,
                },
            ],
            "compile": compile,
            "deploy": {
                "endpoint": "attrition",
                "policy": "canary",
                "share": 0.1,
                "experiment": CANARY_EXPERIMENT,
            },
            "automation": "auto",
            "on_new_data": True,
        }
    )


def train_attrition(job: TrainingJob) -> Path:
    """The pipeline's training entry point: the first model's recipe on the new data."""
    ignore = set(job.params.get("ignore", []))
    inputs = [f for f in job.fields if f.name != job.target and f.name not in ignore]
    categoricals = [f.name for f in inputs if f.type == "string"]
    numbers = [f.name for f in inputs if f.type in {"integer", "number"}]
    estimator = str(job.params.get("estimator", "logistic"))
    model = attrition_pipeline(categoricals, numbers, estimator, job.seed)
    columns = categoricals + numbers
    model.fit(job.data[columns], job.data[job.target])
    skops.io.dump(model, job.folder / "model.skops")
    manifest = {
        "kind": "classifier",
        "flavor": "sklearn",
        "file": "model.skops",
        "signature": {
            "inputs": [
                f.model_dump(exclude_defaults=True)
                for f in sorted(inputs, key=lambda f: columns.index(f.name))
            ]
        },
        "lineage": {
            "trained_by": "champion-demo",
            "description": f"Attrition risk ({estimator}), retrained on {len(job.data)} customers",
            "tags": {"dataset": "telco-churn", "team": "retention"},
        },
    }
    (job.folder / "champion.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return job.folder


def show_retraining(
    console: Any, client: Any, files: AttritionFiles, timeout: float = 120
) -> dict[str, Any]:
    """Wait for the server to notice the files and run the pipeline; print what it did."""
    from rich.progress import Progress
    from rich.table import Table

    from champion.automation.runs import FINISHED, STEPS

    run: dict[str, Any] = {}
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("Waiting for the server to notice the new files", total=len(STEPS))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = client.get(f"/v1/pipelines/{PIPELINE}/runs").json()["runs"]
            if runs:
                run = runs[0]
                done = [s for s in run["steps"] if s["status"] != "running"]
                step = run["steps"][-1]["step"] if run["steps"] else "queued"
                progress.update(task, completed=len(done), description=f"Pipeline run: {step}")
                if run["status"] in FINISHED:
                    break
            time.sleep(0.2)
    if not run or run["status"] not in FINISHED:
        raise RuntimeError(f"The pipeline did not finish within {timeout:g} s: {run!r}")
    console.print(
        f"The server saw {len(files.batches) + 1} new files in {files.incoming.name}/ and "
        f"started run {run['id']} by itself ({run['reason']})."
    )
    ingested = client.get("/v1/sources/telco/files").json()["files"]
    table = Table("file", "status", "rows", "accepted", "quarantined", title="Ingestion")
    for f in ingested:
        table.add_row(
            Path(f["path"]).name,
            f["status"],
            str(f["rows"]),
            str(f["accepted_rows"]),
            str(f["quarantined_rows"]),
        )
    console.print(table)
    for f in ingested:
        if f["quarantined_rows"]:
            rows = client.get(f"/v1/sources/telco/files/{f['id']}/quarantine").json()["rows"]
            shown = "; ".join(f"row {r['row']}: {', '.join(r['reasons'])}" for r in rows[:4])
            console.print(f"Quarantined in {Path(f['path']).name} (kept, not used): {shown} …")
    steps = Table("step", "seconds", "status", title=f"Pipeline {PIPELINE}, run {run['id']}")
    for s in run["steps"]:
        steps.add_row(s["step"], f"{s['seconds'] or 0:.2f}", s["status"])
    console.print(steps)
    gate = next((s for s in run["steps"] if s["step"] == "gate"), None)
    if gate is not None:
        console.print(
            f"Gate against the champion on the newest customers: {gate['outputs']['summary']}"
        )
    register = next((s for s in run["steps"] if s["step"] == "register"), None)
    compiled = (register or {}).get("outputs", {}).get("compiled")
    if compiled:
        source = f"attrition/{compiled['from']}"
        console.print(
            f"Compiled {source}: serves attrition/{register['outputs']['version']} "  # type: ignore[index]
            f"(ONNX, max difference {compiled['max_difference']:.2g})."
            if compiled["compiled"]
            else f"Not compiled, {source} is served by scikit-learn: {compiled['reason']}"
        )
    console.print(f"Run {run['id']} {run['status']}: {run['outcome'] or run['error']}.")
    endpoint = client.get("/v1/endpoints/attrition").json()
    if run["status"] == "succeeded":
        console.print(
            f"Endpoint attrition now uses {endpoint['policy']} {endpoint['params']}: the new "
            "version is a canary, and the running server switched without a restart."
        )
    else:
        console.print(
            f"Endpoint attrition is unchanged: {endpoint['policy']} {endpoint['params']}."
        )
    return run
