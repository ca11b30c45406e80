"""Rules on signals that come before labels: estimated performance and the rate of drift."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient

from champion.alerts import AlertRule
from champion.alerts.signals import SignalCache
from champion.clock import FixedClock
from tests.alerts.conftest import START, services_of
from tests.drift.traffic import customers, serve


def borderline(n: int, seed: int) -> pd.DataFrame:
    """Customers near 24 months, where the scorer hesitates (its risk is near one half)."""
    frame = customers(n, seed=seed)
    rng = np.random.default_rng(seed)
    return frame.assign(tenure=rng.integers(20, 29, size=n))


def test_estimated_accuracy_below_a_threshold_opens_an_alert_before_any_label(
    app: TestClient, clock: FixedClock
) -> None:
    alerts = services_of(app).alerts
    alerts.put_rule(
        AlertRule.create(
            "churn-estimate", endpoint="churn", metric="estimated_accuracy", threshold=0.7,
            operator="below", window="1h",
        ),
        actor="tests",
    )  # fmt: skip
    serve(app, customers(300, seed=2))  # customers like the reference: confident answers
    clock.at = START + timedelta(minutes=5)
    assert alerts.evaluate() == []
    clock.at = START + timedelta(hours=2)
    serve(app, borderline(300, seed=3))
    clock.at += timedelta(minutes=5)
    opened = alerts.evaluate()
    assert [a.metric for a in opened] == ["estimated_accuracy"]
    assert opened[0].value < 0.7 and "estimated accuracy" in opened[0].message


def test_psi_rising_faster_than_a_rate_opens_an_alert(app: TestClient, clock: FixedClock) -> None:
    services = services_of(app)
    services.alerts.put_rule(
        AlertRule.create(
            "churn-psi-rate", endpoint="churn", metric="psi_slope", threshold=1.0,
            window="6h",
        ),
        actor="tests",
    )  # fmt: skip
    # One window an hour, customers a little newer each hour: tenure's PSI climbs.
    for hour in range(6):
        clock.at = START + timedelta(hours=hour, minutes=30)
        serve(app, customers(300, seed=10 + hour, shift=0.2 * hour))
    clock.at = START + timedelta(hours=6)
    opened = services.alerts.evaluate()
    assert [a.metric for a in opened] == ["psi_slope"]
    assert "PSI rising" in opened[0].message and opened[0].value > 1.0


def test_steady_traffic_has_a_flat_psi_and_no_estimate_without_predictions(
    app: TestClient, clock: FixedClock
) -> None:
    for hour in range(6):
        clock.at = START + timedelta(hours=hour, minutes=30)
        serve(app, customers(300, seed=20 + hour))
    clock.at = START + timedelta(hours=6)
    signals = SignalCache(services_of(app).drift)
    slope = signals.value("psi_slope", "churn", START, clock.at)
    assert slope is not None and abs(slope) < 0.2
    later = clock.at + timedelta(hours=1)
    assert signals.value("estimated_auc", "churn", clock.at, later) is None
