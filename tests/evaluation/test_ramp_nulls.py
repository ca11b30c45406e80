"""Monte Carlo nulls through the real analyse() and decide(): an A/A canary whose click rate
jumps at the ramp is never promoted and never trips the sample-ratio check, while the same
data with its steps pooled shows a "significant win" (so the trend is strong enough to fool
an analysis that pools). The full-size run is ``benchmarks/ramps.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from benchmarks.ramp_simulation import (
    RampScenario,
    analyse_ramp,
    design_of,
    forget,
    write_ramp,
)

from champion.db.engine import make_engine
from champion.db.migrate import migrate

# Small enough for seconds, with a trend steep enough (0.10 → 0.30) that pooling is fooled.
SCENARIO = RampScenario(units=1500, rates=(0.10, 0.30), looks_per_step=2)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'ramps.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_an_aa_canary_with_a_trend_across_its_ramp_is_not_promoted(
    engine: sa.Engine, seed: int
) -> None:
    design = design_of(SCENARIO)
    starts = write_ramp(engine, "aa", SCENARIO, np.random.default_rng(seed))
    outcome = analyse_ramp(engine, "aa", SCENARIO, starts, design)
    forget(engine, "aa")
    assert outcome.pooled_promoted  # the trend fools an analysis that pools the steps
    assert not outcome.promoted, [d.reason for d in outcome.decisions]
    assert outcome.srm_alerts == 0
    last = outcome.last
    assert last.regime is not None and (last.regime.index, last.regime.last) == (1, True)
    assert [s.regime.share for s in last.steps] == [0.05, 0.5]
    goal = last.goal("challenger")
    assert goal is not None and goal.result is not None and goal.result.ci is not None
    low, high = goal.result.ci
    assert low < 0 < high  # the interval of the last step covers the true effect, 0
