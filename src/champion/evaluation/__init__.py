"""Evaluation of experiments: online metrics per arm, statistical tests, experiments and
their decisions, offline comparison on a holdout, and the sensitivity of online methods."""

from __future__ import annotations

from champion.evaluation.analysis import Analysis, MetricResult, analyse
from champion.evaluation.arms import ExperimentArms, experiment_arms
from champion.evaluation.comparisons import (
    InterleavingComparison,
    interleaving_comparisons,
    interleaving_verdict,
)
from champion.evaluation.decision import Decision, decide
from champion.evaluation.design import (
    ExperimentDesign,
    Guardrail,
    Ramp,
    check_fits,
    parse_design,
)
from champion.evaluation.experiments import Experiment, ExperimentReport, Experiments
from champion.evaluation.health import HealthCheck
from champion.evaluation.offline import (
    HistoryCheck,
    OfflineComparison,
    check_score_history,
    compare_offline,
)
from champion.evaluation.online import METRICS, ArmMetrics, Metric, arm_metrics
from champion.evaluation.propensity import PropensityEstimate, propensity_estimates
from champion.evaluation.regimes import Regime, StepNumbers, assignment_regimes
from champion.evaluation.sensitivity import SensitivityCurve, UserOutcomes, wrong_winner_curve
from champion.evaluation.shadow import ShadowStats, shadow_stats
from champion.evaluation.stattests import (
    ReferenceCase,
    StatResult,
    StatTest,
    Summary,
    default_stattests,
)
from champion.evaluation.timeline import ExperimentTimeline, experiment_timeline, mean_interval

__all__ = [
    "METRICS",
    "Analysis",
    "ArmMetrics",
    "Decision",
    "Experiment",
    "ExperimentArms",
    "ExperimentDesign",
    "ExperimentReport",
    "ExperimentTimeline",
    "Experiments",
    "Guardrail",
    "HealthCheck",
    "HistoryCheck",
    "InterleavingComparison",
    "Metric",
    "MetricResult",
    "OfflineComparison",
    "PropensityEstimate",
    "Ramp",
    "ReferenceCase",
    "Regime",
    "SensitivityCurve",
    "ShadowStats",
    "StatResult",
    "StatTest",
    "StepNumbers",
    "Summary",
    "UserOutcomes",
    "analyse",
    "arm_metrics",
    "assignment_regimes",
    "check_fits",
    "check_score_history",
    "compare_offline",
    "decide",
    "default_stattests",
    "experiment_arms",
    "experiment_timeline",
    "interleaving_comparisons",
    "interleaving_verdict",
    "mean_interval",
    "parse_design",
    "propensity_estimates",
    "shadow_stats",
    "wrong_winner_curve",
]
