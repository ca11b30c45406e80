"""Automation: ingest new data, retrain, gate against the champion, register and deploy; the
rollout controller and the actions it (or a person) takes on experiments."""

from __future__ import annotations

from champion.automation.controller import ControllerLook, RolloutController
from champion.automation.cron import CronSchedule
from champion.automation.early import EarlySignal
from champion.automation.executor import Progress, RunExecutor
from champion.automation.ingestion import (
    IngestedFile,
    Ingestion,
    QualityCheck,
    QuarantinedRow,
)
from champion.automation.pipelines import TRIGGERS, PipelineRecord, Pipelines
from champion.automation.rollout import Rollout
from champion.automation.runs import FINISHED, STEPS, Run, Step
from champion.automation.scheduler import Scheduler, next_run
from champion.automation.sources import Source
from champion.automation.spec import (
    AlertTriggerSpec,
    ChampionGate,
    DeploySpec,
    HoldoutSpec,
    PipelineSpec,
    QualitySpec,
    ScheduleSpec,
    SourceSpec,
    ThresholdGate,
    TrainSpec,
    load_pipeline,
)
from champion.automation.training import TrainingJob

__all__ = [
    "FINISHED",
    "STEPS",
    "TRIGGERS",
    "AlertTriggerSpec",
    "ChampionGate",
    "ControllerLook",
    "CronSchedule",
    "DeploySpec",
    "EarlySignal",
    "HoldoutSpec",
    "IngestedFile",
    "Ingestion",
    "PipelineRecord",
    "PipelineSpec",
    "Pipelines",
    "Progress",
    "QualityCheck",
    "QualitySpec",
    "QuarantinedRow",
    "Rollout",
    "RolloutController",
    "Run",
    "RunExecutor",
    "ScheduleSpec",
    "Scheduler",
    "Source",
    "SourceSpec",
    "Step",
    "ThresholdGate",
    "TrainSpec",
    "TrainingJob",
    "load_pipeline",
    "next_run",
]
