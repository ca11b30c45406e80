"""A pipeline's definition: a small YAML file, or the same thing built in Python.

Besides what a run does (source, schema, training, holdout, metrics, gates, deployment) it says
when runs start (``schedule``, ``on_new_data``, ``on_alert``), how ingested rows are checked
against the champion's reference profile (``quality``), and, in ``deploy.experiment``, the
experiment that the rollout controller drives the new version's canary by.

Examples
--------
>>> spec = PipelineSpec.model_validate({
...     "name": "attrition-retrain",
...     "model": "attrition",
...     "source": {"path": "incoming/"},
...     "schema": [{"name": "tenure", "type": "integer"}, {"name": "Churn", "type": "integer"}],
...     "target": "Churn",
...     "train": {"entry": "mypackage.training:train"},
...     "deploy": {"endpoint": "attrition", "policy": "canary", "share": 0.1},
... })
>>> spec.source_name, spec.automation, spec.holdout.strategy
('attrition-retrain', 'approve', 'random')
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Literal

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from champion.automation.cron import CronSchedule
from champion.errors import InvalidInput
from champion.evaluation.design import ExperimentDesign, check_fits
from champion.periods import parse_window
from champion.registry.entities import check_name
from champion.registry.manifest import FieldSpec
from champion.serving.stages import STAGE_NAME
from champion.validation import describe_validation_error

__all__ = [
    "CLASSIFIER_METRICS",
    "REGRESSOR_METRICS",
    "AlertTriggerSpec",
    "ChampionGate",
    "DeploySpec",
    "HoldoutSpec",
    "PipelineSpec",
    "QualitySpec",
    "ScheduleSpec",
    "SourceSpec",
    "ThresholdGate",
    "TrainSpec",
    "load_pipeline",
]

CLASSIFIER_METRICS = ("accuracy", "auc", "f1", "log_loss")
REGRESSOR_METRICS = ("mae", "r2", "rmse")
LOWER_IS_BETTER = frozenset({"log_loss", "mae", "rmse"})


def _duration(text: str, field: str) -> None:
    """One grammar for every duration (the CLI's --window, the API's window, these)."""
    try:
        parse_window(text, field)
    except InvalidInput as exc:
        raise ValueError(exc.message) from None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class SourceSpec(_Strict):
    name: str | None = Field(default=None, description="Default: the pipeline's name.")
    path: str = Field(min_length=1, description="A folder of .csv/.parquet files, or a glob.")


class TrainSpec(_Strict):
    entry: str = Field(
        pattern=r"^[\w.]+:[\w]+$", description="module:function; gets a TrainingJob."
    )
    params: dict[str, Any] = Field(default_factory=dict)


class HoldoutSpec(_Strict):
    strategy: Literal["random", "time"] = "random"
    share: float = Field(default=0.2, gt=0, lt=1)
    seed: int = Field(default=0, ge=0)
    column: str | None = Field(
        default=None, description="time: the column to order by; default: ingestion order."
    )


class ThresholdGate(_Strict):
    metric: str
    at_least: float | None = None
    at_most: float | None = None

    @model_validator(mode="after")
    def _bound(self) -> ThresholdGate:
        if self.at_least is None and self.at_most is None:
            raise ValueError(f"gate on {self.metric!r} needs at_least or at_most")
        return self


class ChampionGate(_Strict):
    """Not worse than the version at ``not_worse_than`` by a paired test on the same holdout."""

    not_worse_than: str = Field(description="The alias to compare with, usually champion.")
    test: Literal["paired_bootstrap", "mcnemar"] = "paired_bootstrap"
    metric: Literal["auc", "rmse"] = "auc"
    alpha: float = Field(default=0.05, gt=0, lt=1)
    margin: float = Field(default=0.0, ge=0)
    n_resamples: int = Field(default=1000, ge=100)
    seed: int = Field(default=0, ge=0)


class DeploySpec(_Strict):
    endpoint: str
    stage: str | None = Field(
        default=None,
        pattern=STAGE_NAME,
        description="A pipeline endpoint's stage to deploy into; its other stages stay. The "
        "stage must serve this pipeline's model.",
    )
    policy: Literal["canary", "shadow", "interleave", "single"] = "canary"
    share: float = Field(default=0.1, gt=0, le=1, description="canary: the challenger's share.")
    method: Literal["team_draft", "balanced", "probabilistic"] = "team_draft"
    experiment: ExperimentDesign | None = Field(
        default=None,
        description="canary or interleave: the experiment opened with the deployment, which "
        "the rollout controller ramps, promotes or rolls back (goal, guardrails, min_sample, "
        "method, automation, ramp). Without it the version is deployed and left alone.",
    )

    @model_validator(mode="after")
    def _experiment_fits(self) -> DeploySpec:
        if self.experiment is None:
            return self
        if self.policy in ("single", "shadow"):
            raise ValueError(
                f"experiment: a {self.policy} deployment answers with one version only, so there "
                "is nothing to ramp or promote; use policy canary or interleave"
            )
        try:
            check_fits(self.experiment, self.policy)
        except InvalidInput as exc:
            raise ValueError(exc.message) from None
        return self


class ScheduleSpec(_Strict):
    every: str | None = Field(default=None, examples=["6h", "1w"])
    """A duration as every window is written (``periods.parse_window``): 90s, 15m, 6h, 1d, 1w."""
    cron: str | None = Field(default=None, examples=["0 3 * * *"])

    @field_validator("every")
    @classmethod
    def _every(cls, value: str | None) -> str | None:
        if value is not None:
            _duration(value, "schedule.every")
        return value

    @model_validator(mode="after")
    def _one(self) -> ScheduleSpec:
        if (self.every is None) == (self.cron is None):
            raise ValueError("a schedule has exactly one of 'every' (e.g. 6h) or 'cron'")
        # Refused now, not at every scheduler tick.
        if self.cron is not None:
            try:
                CronSchedule.parse(self.cron)
            except InvalidInput as exc:
                raise ValueError(exc.message) from None
        return self


class AlertTriggerSpec(_Strict):
    """Alert rules whose alerts start a run: drift and performance decay, for instance.

    An open alert starts one run, never one per evaluation; ``cooldown`` is the least time
    between two alert-triggered runs (an alert opening sooner waits for it, if still open).
    """

    rules: list[str] = Field(min_length=1, max_length=50, description="Alert rule names.")
    cooldown: str = Field(default="1h", examples=["6h"])

    @field_validator("cooldown")
    @classmethod
    def _cooldown(cls, value: str) -> str:
        _duration(value, "on_alert.cooldown")
        return value

    @property
    def cooldown_seconds(self) -> float:
        return parse_window(self.cooldown, "on_alert.cooldown").total_seconds()


class QualitySpec(_Strict):
    """Checks of ingested rows against the reference profile of the model's ``against`` alias.

    A row failing one of the ``quarantine`` checks is quarantined with its reasons; the other
    findings are counted on the file's record and the rows are used (unseen categories and
    values a little outside the reference range are the drift a retrained model must learn).
    ``range`` quarantines only values beyond ``range_margin`` times the reference range on
    either side; values between the reference range and that margin are counted.
    """

    against: str | None = Field(
        default="champion", description="The alias whose reference applies; null: no checks."
    )
    quarantine: tuple[Literal["missing", "type", "range", "category"], ...] = ("type", "range")
    range_margin: float = Field(default=1.0, ge=0, allow_inf_nan=False)


class PipelineSpec(_Strict):
    """ingest → validate → train → score → gate → register → deploy, for one model."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False
    )

    name: str
    model: str
    description: str = ""
    source: SourceSpec
    fields: list[FieldSpec] = Field(alias="schema", min_length=1)
    target: str
    positive: str | int | bool = Field(
        default=1, description="classifiers: the class whose probability is scored."
    )
    train: TrainSpec
    holdout: HoldoutSpec = Field(default_factory=HoldoutSpec)
    metrics: list[str] = Field(default_factory=lambda: ["auc"], min_length=1)
    gates: list[ThresholdGate | ChampionGate] = Field(default_factory=list)
    compile: bool = Field(
        default=False,
        description="Compile a scikit-learn candidate to ONNX once registered, verified on the "
        "holdout rows (needs the onnx extra); the compiled version is deployed if it agrees, "
        "the scikit-learn one otherwise.",
    )
    deploy: DeploySpec | None = None
    automation: Literal["manual", "approve", "auto"] = "approve"
    schedule: ScheduleSpec | None = None
    on_new_data: bool = False
    on_alert: AlertTriggerSpec | None = None
    quality: QualitySpec = Field(default_factory=QualitySpec)
    min_rows: int = Field(default=50, ge=2, description="Fewer accepted rows: nothing to train.")

    @model_validator(mode="after")
    def _consistent(self) -> PipelineSpec:
        check_name("pipeline", self.name)
        check_name("model", self.model)
        check_name("source", self.source_name)
        if self.deploy is not None:
            check_name("endpoint", self.deploy.endpoint)
        for rule in self.on_alert.rules if self.on_alert else []:
            check_name("alert rule", rule)
        if self.quality.against is not None:
            check_name("alias", self.quality.against)
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"schema has duplicate column names {sorted(names)!r}")
        if self.target not in names:
            raise ValueError(f"target {self.target!r} is not a column of the schema {names!r}")
        if self.holdout.column is not None and self.holdout.column not in names:
            raise ValueError(f"holdout.column {self.holdout.column!r} is not in the schema")
        known = (*CLASSIFIER_METRICS, *REGRESSOR_METRICS)
        for metric in [*self.metrics, *(g.metric for g in self.gates)]:
            if metric not in known:
                raise ValueError(f"unknown metric {metric!r}; known: {', '.join(known)}")
        for gate in self.gates:
            if isinstance(gate, ThresholdGate) and gate.metric not in self.metrics:
                raise ValueError(f"gate metric {gate.metric!r} is not in metrics {self.metrics!r}")
        return self

    @property
    def source_name(self) -> str:
        return self.source.name or self.name

    @property
    def features(self) -> list[str]:
        return [f.name for f in self.fields if f.name != self.target]

    def resolved(self, base: Path | None = None) -> PipelineSpec:
        """The same spec with the source path made absolute (relative to ``base``)."""
        path = Path(self.source.path).expanduser()
        if not path.is_absolute():
            path = (base or Path.cwd()) / path
        absolute = os.path.abspath(path) + (os.sep if self.source.path.endswith("/") else "")
        return self.model_copy(update={"source": self.source.model_copy(update={"path": absolute})})

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def training_digest(self) -> str:
        """What decides the trained model and its verdict (not when or how it is deployed)."""
        keep = self.to_json()
        for key in (
            "description",
            "deploy",
            "automation",
            "schedule",
            "on_new_data",
            "on_alert",
            "quality",
        ):
            keep.pop(key, None)
        return hashlib.sha256(orjson.dumps(keep, option=orjson.OPT_SORT_KEYS)).hexdigest()

    @classmethod
    def parse(cls, raw: Any, where: str = "pipeline") -> PipelineSpec:
        if not isinstance(raw, dict):
            raise InvalidInput(f"{where} must be a mapping, got {type(raw).__name__}.")
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise InvalidInput(f"{where}: {describe_validation_error(exc)}") from None


def load_pipeline(path: Path) -> PipelineSpec:
    """Read a pipeline YAML file; a relative source path is relative to the file's folder."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"Pipeline file {str(path)!r} does not exist.")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path.name} is not valid YAML: {exc}") from None
    return PipelineSpec.parse(raw, path.name).resolved(path.parent.resolve())
