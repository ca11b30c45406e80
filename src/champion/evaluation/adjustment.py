"""The pre-period covariates of an experiment's goal, for CUPED (``design.cuped``)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from champion.evaluation.design import ExperimentDesign
from champion.evaluation.stattests import CovariateSums
from champion.events.arms import ArmWindow
from champion.events.covariates import covariate_sums

__all__ = ["goal_covariates"]


def goal_covariates(
    conn: sa.Connection, design: ExperimentDesign, window: ArmWindow
) -> dict[str, CovariateSums] | None:
    """Per arm, the goal's sums joined with each unit's own value of it over the
    ``cuped_days`` before ``window.start`` (the experiment's start); None without CUPED."""
    if not design.cuped or window.start is None:
        return None
    pre_start = window.start - timedelta(days=design.cuped_days)
    sums = covariate_sums(conn, window, design.goal, pre_start, window.start)
    return {arm: CovariateSums(n, *values) for arm, (n, values) in sums.items()}
