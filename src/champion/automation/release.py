"""The last steps of a pipeline run: register the candidate with its lineage, deploy it.

Deploying as a canary or interleave with a ``deploy.experiment`` also opens that experiment,
in the transaction that changes the endpoint, so the rollout controller ramps the new version
and promotes or rolls it back. One rollout at a time: while an experiment on the endpoint
compares other versions, the step fails (the endpoint untouched) and the run can be resumed
once that experiment ended. Re-running the step after it committed changes nothing: the same
configuration is kept, the same experiment found.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from champion.automation.context import RunContext, Stop, why
from champion.automation.spec import DeploySpec
from champion.automation.training import code_version
from champion.db import read, write
from champion.errors import Conflict, InvalidInput, NotFound
from champion.evaluation.experiments import Experiment
from champion.registry.entities import VersionRef
from champion.registry.manifest import MANIFEST
from champion.registry.packages import installed_versions
from champion.serving.endpoints import EndpointConfig, Endpoints
from champion.serving.runtime import Runtime
from champion.serving.stages import STAGES, parse_stages, with_stage_policy

__all__ = ["check_stage", "deploy", "register"]


def register(ctx: RunContext) -> dict[str, Any]:
    # A resumed run whose registration committed before the run could record it: reuse it
    # (the newest: a compiled version follows the one it was compiled from).
    import pandas as pd

    try:
        for version in reversed(ctx.registry.list_versions(ctx.spec.model)):
            if version.lineage.get("pipeline_run") == ctx.run.id and (
                version.lineage.get("pipeline") == ctx.spec.name
            ):
                return {"version": version.number, "reused": True}
    except NotFound:
        pass
    # The run that answers for this data may have changed while this one waited or was down.
    fingerprint = ctx.outputs["validate"]["fingerprint"]
    claim = ctx.data_claims.claim(ctx.spec.name, fingerprint, ctx.run.id)
    if claim.run_id != ctx.run.id:
        raise Stop("skipped", f"run {claim.run_id} took over the same data")
    folder = Path(ctx.outputs["train"]["folder"])
    raw = yaml.safe_load((folder / MANIFEST).read_text(encoding="utf-8"))
    lineage = dict(raw.get("lineage") or {})
    validated = ctx.outputs["validate"]
    lineage.update(
        trained_by=lineage.get("trained_by") or f"pipeline {ctx.spec.name}",
        data={
            "location": ctx.spec.source.path,
            "fingerprint": "sha256:" + validated["fingerprint"],
            "rows": ctx.outputs["train"]["train_rows"],
        },
        datasets=validated["datasets"],
        code_version=lineage.get("code_version") or code_version(ctx.spec.train.entry),
        params={
            **lineage.get("params", {}),
            **ctx.spec.train.params,
            "holdout": ctx.spec.holdout.model_dump(),
        },
        metrics=ctx.outputs["score"]["metrics"]["candidate"],
        packages=lineage.get("packages") or installed_versions(),
        pipeline=ctx.spec.name,
        pipeline_run=ctx.run.id,
    )
    raw["lineage"] = lineage
    (folder / MANIFEST).write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    version = ctx.registry.register(
        folder, model=ctx.spec.model, actor=ctx.actor, reason=why(ctx, "gates passed")
    )
    if not ctx.spec.compile:
        return {"version": version.number, "reused": False}
    # Verified on the holdout: rows the candidate never learnt from.
    compiled = ctx.registry.compile(
        str(version.key),
        actor=ctx.actor,
        sample=pd.read_parquet(ctx.workdir / "holdout.parquet"),
        reason=why(ctx, f"compiled from {version.key}"),
    )
    return {
        "version": compiled.version.number if compiled.version else version.number,
        "reused": False,
        "compiled": {
            "from": version.number,
            "compiled": compiled.compiled,
            "reason": compiled.reason,
            "max_difference": compiled.max_difference,
        },
    }


def deploy(ctx: RunContext) -> dict[str, Any]:
    target = ctx.spec.deploy
    number = ctx.outputs["register"]["version"]
    if target is None:
        return {"skipped": "the pipeline has no deploy section"}
    model, new = ctx.spec.model, f"{ctx.spec.model}/{number}"
    champion = f"{model}@champion"
    try:
        ctx.registry.resolve(champion)
        first = False
    except NotFound:
        first = True
    params: dict[str, Any]
    if first or target.policy == "single":
        policy, params = "single", {"version": champion if first else new}
    elif target.policy == "canary":
        policy, params = "canary", {"champion": champion, "challenger": new, "share": target.share}
    elif target.policy == "interleave":
        policy = "interleave"
        params = {"champion": champion, "challenger": new, "method": target.method}
    else:
        policy, params = "shadow", {"champion": champion, "challenger": new}
    # Verify before changing anything: the version loads and every file matches its sha256.
    runtime = Runtime(ctx.registry, ctx.flavors, ctx.options, ctx.workdir / "runtime")
    try:
        runtime.get(ctx.registry.resolve(new).key)
    finally:
        runtime.close()
    design = target.experiment if policy in ("canary", "interleave") else None
    running = _running_experiment(ctx, target.endpoint, new) if design is not None else None
    with read(ctx.endpoints.engine) as conn:  # refused before the alias below moves
        check_stage(ctx.endpoints, conn, target, model, required=True)
    if first:
        ctx.registry.set_alias(model, "champion", number, actor=ctx.actor, reason=why(ctx, "first"))
    elif target.stage is None:
        ctx.endpoints.validate(policy, params)
    reason = why(ctx, f"deploy as {policy}")
    with write(ctx.endpoints.engine) as conn:
        # The configuration and its experiment commit together; a re-run of this step after
        # either committed finds them and changes nothing.
        current = check_stage(ctx.endpoints, conn, target, model)
        stored_policy, stored = policy, params
        if current is not None and current.policy == STAGES:
            assert target.stage is not None  # check_stage refused a pipeline endpoint without one
            stored_policy = STAGES
            stored = with_stage_policy(current.params, target.stage, policy, params)
        if current is not None and (current.policy, current.params) == (stored_policy, stored):
            config = current
        else:
            # On a pipeline endpoint this checks the new version against the stage's inputs.
            config = ctx.endpoints.set(
                target.endpoint, stored_policy, stored, actor=ctx.actor, reason=reason, conn=conn
            )
        outputs: dict[str, Any] = {
            "endpoint": config.name,
            **({"stage": target.stage} if target.stage is not None else {}),
            "policy": policy,
            "params": params,
            "config_version": config.config_version,
        }
        if design is not None:
            assert ctx.experiments is not None  # checked by _running_experiment
            experiment = running or ctx.experiments.set(
                target.endpoint,
                design.model_dump(mode="json"),
                actor=ctx.actor,
                reason=why(ctx, f"experiment on the {policy}"),
                conn=conn,
            )
            outputs["experiment"] = {
                "id": experiment.id,
                "goal": experiment.design.goal,
                "method": experiment.design.method,
                "automation": experiment.design.automation,
            }
    return outputs


def check_stage(
    endpoints: Endpoints,
    conn: sa.Connection,
    target: DeploySpec,
    model: str,
    *,
    required: bool = False,
) -> EndpointConfig | None:
    """The endpoint ``target`` deploys to (None if it does not exist yet), refused when the
    deployment does not fit it: a pipeline endpoint needs ``deploy.stage``, which must name a
    stage serving ``model``; an endpoint without stages takes none. ``required``: the
    endpoint must exist (a stage is deployed into, never created)."""
    try:
        current = endpoints.get(target.endpoint, conn=conn)
    except NotFound:
        if target.stage is not None and required:
            raise NotFound(
                f"deploy.stage: endpoint {target.endpoint!r} does not exist; a deploy step "
                f"changes one stage of a pipeline endpoint, so create {target.endpoint!r} "
                f"with its stages first, or leave 'stage' out."
            ) from None
        return None
    stages = parse_stages(current.params) if current.policy == STAGES else ()
    if target.stage is None:
        if stages:
            # Which stage a new version belongs to is the pipeline's to say: replacing every
            # stage with one version would silently drop the others.
            raise Conflict(
                f"Endpoint {target.endpoint!r} is a pipeline endpoint (stages "
                f"{', '.join(s.name for s in stages)}): name the stage to deploy into with "
                "deploy.stage."
            )
        return current
    if not stages:
        raise InvalidInput(
            f"deploy.stage: endpoint {target.endpoint!r} has no stages (it runs the "
            f"{current.policy} policy); leave 'stage' out. Got stage={target.stage!r}."
        )
    stage = next((s for s in stages if s.name == target.stage), None)
    if stage is None:
        raise NotFound(
            f"deploy.stage: endpoint {target.endpoint!r} has no stage {target.stage!r}. "
            f"Stages: {', '.join(s.name for s in stages)}."
        )
    refs = endpoints.policies.get(stage.policy).references(stage.params)
    served = sorted({VersionRef.parse(ref).model for ref in refs})
    if served != [model]:
        raise InvalidInput(
            f"deploy.stage: stage {stage.name!r} of endpoint {target.endpoint!r} serves "
            f"model {' and '.join(map(repr, served))} ({', '.join(refs)}), not {model!r}: "
            "a pipeline deploys its own model into the stage that serves it."
        )
    return current


def _running_experiment(ctx: RunContext, endpoint: str, new: str) -> Experiment | None:
    """The endpoint's running experiment if it already compares ``new`` (this step ran
    before); Conflict if it compares something else: one rollout at a time."""
    if ctx.experiments is None:
        raise InvalidInput("deploy.experiment needs the experiments service; none was given.")
    try:
        current = ctx.experiments.get(endpoint)
    except NotFound:
        return None
    if not current.running:
        return None
    versions = {str(v) for v in ctx.experiments.arms(current).versions.values()}
    if new in versions:
        return current
    raise Conflict(
        f"Endpoint {endpoint!r} has a running experiment (id {current.id}, "
        f"{' vs '.join(sorted(versions))}, since {current.started_at:%Y-%m-%d %H:%M} UTC); "
        f"{new} goes out once it is promoted or rolled back: resume this run then."
    )
