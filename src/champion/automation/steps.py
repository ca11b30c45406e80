"""The steps of a pipeline run: ingest → validate → train → score → gate → register → deploy.

(``register`` and ``deploy`` live in :mod:`champion.automation.release`.)

Each step is a function of the run's context returning the JSON outputs recorded on its row;
a later step reads earlier outputs (and the files in the run's folder), which is what makes a
run resumable. A step ends the run early by raising :class:`Stop` with the run's status.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from champion.automation.context import RunContext, Stop
from champion.automation.release import deploy, register
from champion.automation.scoring import (
    Scores,
    champion_gate,
    compute_metrics,
    split,
    threshold_gate,
)
from champion.automation.spec import ThresholdGate
from champion.automation.training import TrainingJob, load_entry
from champion.datafiles import missing_as_none
from champion.errors import InvalidInput, NotFound
from champion.registry import SignatureChecker
from champion.registry.flavors import Loaded
from champion.registry.manifest import Manifest, find_reference_file, read_manifest
from champion.serving.runtime import Runtime

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["STEP_FUNCTIONS", "RunContext", "Stop", "still_valid"]

_CHUNK = 2000


def ingest(ctx: RunContext) -> dict[str, Any]:
    created = ctx.ingestion.ingest(
        ctx.source,
        actor=ctx.actor,
        progress=ctx.files_progress,
        why=f"pipeline {ctx.spec.name} run {ctx.run.id}",
        context={"pipeline": ctx.spec.name, "run": ctx.run.id},
    )
    return {
        "new_files": [
            {
                "id": f.id,
                "path": f.path,
                "status": f.status,
                "accepted_rows": f.accepted_rows,
                "quarantined_rows": f.quarantined_rows,
                "reason": f.reason,
                "quality": f.quality,
            }
            for f in created
        ],
    }


def validate(ctx: RunContext) -> dict[str, Any]:
    files = [f for f in ctx.ingestion.files(ctx.spec.source_name) if f.accepted_rows > 0]
    rows = sum(f.accepted_rows for f in files)
    if rows < ctx.spec.min_rows:
        raise Stop("skipped", f"{rows} accepted rows, fewer than min_rows {ctx.spec.min_rows}")
    digests = [f.sha256 for f in files]
    fingerprint = hashlib.sha256(
        (ctx.spec.training_digest() + "|" + ",".join(sorted(digests))).encode()
    ).hexdigest()
    outputs = {
        "files": [f.id for f in files],
        "datasets": digests,
        "rows": rows,
        "fingerprint": fingerprint,
    }
    ctx.store.update(ctx.run.id, fingerprint=fingerprint)
    claim = ctx.data_claims.claim(ctx.spec.name, fingerprint, ctx.run.id)
    if claim.run_id != ctx.run.id:
        if claim.outcome is None:
            raise Stop(
                "skipped", f"run {claim.run_id} is already working on the same data", outputs
            )
        found = f", version {ctx.spec.model}/{claim.version}" if claim.version else ""
        raise Stop(
            "skipped",
            f"same data and pipeline as run {claim.run_id} ({claim.outcome}{found}); nothing new",
            outputs,
        )
    return outputs


def train(ctx: RunContext) -> dict[str, Any]:
    files = {f.id: f for f in ctx.ingestion.files(ctx.spec.source_name)}
    data = ctx.ingestion.read([files[i] for i in ctx.outputs["validate"]["files"]])
    training, holdout = split(data, ctx.spec.holdout)
    ctx.workdir.mkdir(parents=True, exist_ok=True)
    holdout.to_parquet(ctx.workdir / "holdout.parquet", index=False)
    folder = ctx.workdir / "model"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    trainer = load_entry(ctx.spec.train.entry)
    job = TrainingJob(
        data=training,
        target=ctx.spec.target,
        features=ctx.spec.features,
        fields=tuple(ctx.spec.fields),
        params=dict(ctx.spec.train.params),
        folder=folder,
        seed=ctx.spec.holdout.seed,
        pipeline=ctx.spec.name,
        run_id=ctx.run.id,
        holdout=ctx.spec.holdout.model_dump(),
    )
    returned = trainer(job)
    if not isinstance(returned, str | Path) or not Path(returned).is_dir():
        raise InvalidInput(
            f"train.entry {ctx.spec.train.entry!r} must return the path of a version folder. "
            f"Got {returned!r} instead."
        )
    manifest = read_manifest(Path(returned))
    reference = _write_reference(Path(returned), manifest, training)
    return {
        "folder": str(returned),
        "train_rows": len(training),
        "holdout_rows": len(holdout),
        "reference": reference,
    }


def _write_reference(folder: Path, manifest: Manifest, training: pd.DataFrame) -> str:
    """The training rows' inputs as the version's reference data, unless the trainer wrote
    one: registration profiles it, so drift and ingestion checks have a reference."""
    found = find_reference_file(folder)
    if found is not None:
        return found.name
    columns = [f.name for f in manifest.signature.inputs if f.name in training.columns]
    if not columns or manifest.kind == "ranker":
        return ""
    training[columns].to_parquet(folder / "reference.parquet", index=False)
    return "reference.parquet"


def _predict(loaded: Loaded, manifest: Manifest, holdout: pd.DataFrame) -> list[Any]:
    columns = [f.name for f in manifest.signature.inputs]
    missing = [c for c in columns if c not in holdout.columns]
    if missing:
        raise InvalidInput(f"The model's signature needs columns {missing!r} the data lacks.")
    rows = missing_as_none(holdout[columns])
    instances = SignatureChecker(manifest.signature.inputs, "holdout")(
        rows.to_dict(orient="records")
    )
    outputs: list[Any] = []
    for start in range(0, len(instances), _CHUNK):
        outputs.extend(loaded.predict(instances[start : start + _CHUNK]))
    return outputs


def score(ctx: RunContext) -> dict[str, Any]:
    import pandas as pd

    holdout = pd.read_parquet(ctx.workdir / "holdout.parquet")
    truth = holdout[ctx.spec.target].tolist()
    folder = Path(ctx.outputs["train"]["folder"])
    manifest = read_manifest(folder)
    loaded = ctx.flavors.get(manifest.flavor).load(folder, manifest, ctx.options)
    scores = {
        "candidate": Scores.from_outputs(
            truth, _predict(loaded, manifest, holdout), manifest.kind, ctx.spec.positive
        )
    }
    versions: dict[str, int] = {}
    runtime = Runtime(ctx.registry, ctx.flavors, ctx.options, ctx.workdir / "runtime")
    try:
        for alias in ctx.aliases():
            try:
                version = ctx.registry.resolve(f"{ctx.spec.model}@{alias}")
            except NotFound:
                continue
            live = runtime.get(version.key)  # checks every file's sha256 on the way
            champion_manifest = Manifest.model_validate(version.manifest)
            outputs = _predict(live.model, champion_manifest, holdout)
            scores[alias] = Scores.from_outputs(truth, outputs, version.kind, ctx.spec.positive)
            versions[alias] = version.number
    finally:
        runtime.close()
    np.savez(
        ctx.workdir / "scores.npz",
        **{
            f"{name}.{part}": getattr(s, part)
            for name, s in scores.items()
            for part in ("y_true", "y_score", "correct")
            if getattr(s, part) is not None
        },
    )
    return {
        "holdout_rows": len(holdout),
        "kind": manifest.kind,
        "metrics": {name: compute_metrics(s, ctx.spec.metrics) for name, s in scores.items()},
        "versions": versions,
    }


def _load_scores(ctx: RunContext) -> dict[str, Scores]:
    stored = np.load(ctx.workdir / "scores.npz")
    names = {key.split(".")[0] for key in stored.files}
    return {
        name: Scores(
            stored[f"{name}.y_true"],
            stored[f"{name}.y_score"],
            stored[f"{name}.correct"] if f"{name}.correct" in stored.files else None,
        )
        for name in names
    }


def gate(ctx: RunContext) -> dict[str, Any]:
    scored = _load_scores(ctx)
    found = ctx.outputs["score"]["metrics"]["candidate"]
    results = []
    for spec in ctx.spec.gates:
        if isinstance(spec, ThresholdGate):
            results.append(threshold_gate(spec, found))
        else:
            results.append(
                champion_gate(spec, scored.get(spec.not_worse_than), scored["candidate"])
            )
    outputs = {"passed": all(r.passed for r in results), "results": [r.to_json() for r in results]}
    summary = "; ".join(r.detail for r in results) or "no gates"
    outputs["summary"] = summary
    if not outputs["passed"]:
        failed = "; ".join(r.detail for r in results if not r.passed)
        raise Stop("rejected", f"the gates refused the candidate: {failed}", outputs)
    if ctx.spec.automation == "manual":
        raise Stop("proposed", f"gates passed ({summary}); automation is manual", outputs)
    if ctx.spec.automation == "approve" and not ctx.run.summary.get("approved_by"):
        raise Stop("awaiting_approval", f"gates passed ({summary}); waiting for approval", outputs)
    return outputs


STEP_FUNCTIONS: dict[str, Callable[[RunContext], dict[str, Any]]] = {
    "ingest": ingest,
    "validate": validate,
    "train": train,
    "score": score,
    "gate": gate,
    "register": register,
    "deploy": deploy,
}


def still_valid(ctx: RunContext, step: str, outputs: dict[str, Any]) -> bool:
    """Whether a step that succeeded before can be skipped on resume (its files still exist)."""
    if step == "train":
        return (
            Path(outputs.get("folder", "")).is_dir() and (ctx.workdir / "holdout.parquet").is_file()
        )
    if step == "score":
        return (ctx.workdir / "scores.npz").is_file()
    return True
