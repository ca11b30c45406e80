"""Rules on signals that come before labels: estimated performance and the rate of drift."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from champion.alerts import AlertRule
from champion.alerts.signals import SignalCache
from champion.api import create_app
from champion.clock import FixedClock
from champion.services import Services
from champion.settings import Settings
from tests.conftest import ModelFolders, local_client
from tests.drift.traffic import customers, register_labelled_scorer, serve

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def app(settings: Settings, clock: FixedClock, model_folder: ModelFolders) -> Iterator[TestClient]:
    with local_client(create_app(settings, clock)) as client:
        services: Services = client.app.state.champion.services  # type: ignore[attr-defined]
        register_labelled_scorer(services, model_folder, customers(3000, seed=1))
        yield client


def _services(client: TestClient) -> Services:
    services: Services = client.app.state.champion.services  # type: ignore[attr-defined]
    return services


def borderline(n: int, seed: int) -> pd.DataFrame:
    """Customers near 24 months, where the scorer hesitates (its risk is near one half)."""
    frame = customers(n, seed=seed)
    rng = np.random.default_rng(seed)
    return frame.assign(tenure=rng.integers(20, 29, size=n))


def test_estimated_accuracy_below_a_threshold_opens_an_alert_before_any_label(
    app: TestClient, clock: FixedClock
) -> None:
    alerts = _services(app).alerts
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
    services = _services(app)
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
    signals = SignalCache(_services(app).drift)
    slope = signals.value("psi_slope", "churn", START, clock.at)
    assert slope is not None and abs(slope) < 0.2
    later = clock.at + timedelta(hours=1)
    assert signals.value("estimated_auc", "churn", clock.at, later) is None
