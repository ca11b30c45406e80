"""Rate of change: each column's drift statistic, its Theil-Sen slope per day over windows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from scipy.stats import theilslopes

from champion.clock import FixedClock
from champion.settings import Settings
from tests.conftest import ModelFolders
from tests.drift import traffic
from tests.drift.traffic import customers, register_scorer, serve

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def clocked_client(
    settings: Settings, model_folder: ModelFolders
) -> Iterator[tuple[TestClient, FixedClock]]:
    with traffic.clocked(
        settings, NOW, lambda s: register_scorer(s, model_folder, customers(3000, seed=1))
    ) as pair:
        yield pair


def test_the_timeline_gives_each_column_its_slope_per_day(
    clocked_client: tuple[TestClient, FixedClock],
) -> None:
    client, clock = clocked_client
    for hour in range(5):  # a window an hour, customers newer each hour
        clock.at = NOW - timedelta(hours=5 - hour) + timedelta(minutes=30)
        serve(client, customers(300, seed=30 + hour, shift=0.25 * hour))
    clock.at = NOW
    body = client.get(
        "/v1/endpoints/churn/drift/timeline",
        params={"window": "1h", "buckets": 6, "test": ["tenure=psi", "charges=psi"]},
    ).json()
    columns = {c["column"]: c for c in body["columns"]}
    tenure = columns["tenure"]
    statistics = [cell["statistic"] for cell in tenure["cells"] if cell is not None]
    days = [hour / 24 for hour, cell in enumerate(tenure["cells"]) if cell is not None]
    expected = theilslopes(statistics, days, alpha=0.95)
    trend = tenure["trend"]
    assert (trend["method"], trend["windows"]) == ("psi", 5)
    assert trend["slope_per_day"] == pytest.approx(expected.slope)
    assert (trend["low"], trend["high"]) == pytest.approx((expected.low_slope, expected.high_slope))
    assert trend["rising"] and trend["slope_per_day"] > 1.0
    # A column without a chosen test keeps its default detector, and its slope is of that.
    assert columns["contract"]["trend"]["method"] == "chi2"


def test_too_few_windows_give_no_trend(clocked_client: tuple[TestClient, FixedClock]) -> None:
    client, clock = clocked_client
    clock.at = NOW - timedelta(minutes=30)
    serve(client, customers(300, seed=40))
    clock.at = NOW
    body = client.get(
        "/v1/endpoints/churn/drift/timeline", params={"window": "1h", "buckets": 3}
    ).json()
    assert all(c["trend"] is None for c in body["columns"])
