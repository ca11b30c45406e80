"""Alert rules can watch a ranker's catalogue coverage and item drift."""

from __future__ import annotations

import pytest

from champion.alerts import AlertRule
from champion.alerts.signals import METRICS, SignalCache, signal_kind
from champion.services import Services
from tests.drift.rankings import HOUR, scripted
from tests.fixtures.events import T0


@pytest.mark.parametrize(("shift", "drifted"), [(0.0, False), (0.6, True)])
def test_coverage_falls_and_items_move_when_the_ranker_drifts(
    served: Services, shift: float, drifted: bool
) -> None:
    scripted(seed=11, shift=shift).write(served.engine)
    signals = SignalCache(served.drift)
    coverage = signals.value("catalogue_coverage", "recs", T0 + HOUR, T0 + 2 * HOUR)
    distance = signals.value("item_js_distance", "recs", T0 + HOUR, T0 + 2 * HOUR)
    assert coverage is not None and distance is not None
    below = AlertRule.create("recs-coverage", endpoint="recs", metric="catalogue_coverage",
                             threshold=0.9, operator="below", metrics=METRICS)  # fmt: skip
    above = AlertRule.create("recs-items", endpoint="recs", metric="item_js_distance",
                             threshold=0.15, metrics=METRICS)  # fmt: skip
    assert below.breached(coverage) is drifted and above.breached(distance) is drifted
    assert signal_kind("catalogue_coverage") == signal_kind("item_js_distance") == "drift"
    # A classifier endpoint has no ranker signal: the rule waits.
    assert signals.value("catalogue_coverage", "churn", T0, T0 + HOUR) is None
