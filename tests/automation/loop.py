"""The loop under test: a served churn model, its pipeline, alerts, and a clock moved by hand.

The app runs without its background scheduler, controller and alert worker: a test evaluates
alerts and ticks the scheduler itself, so every step happens when the test says.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from champion.alerts import AlertRule
from champion.api import create_app
from champion.automation import Run, Scheduler
from champion.clock import FixedClock
from champion.services import Services
from champion.settings import Settings
from tests.automation.trainers import customers, spec, write_batch
from tests.conftest import local_client, wait_until_written

START = datetime(2026, 4, 6, 9, 0, tzinfo=UTC)
PIPELINE = "churn-retrain"


def newcomers(n: int, seed: int) -> pd.DataFrame:
    """Short-tenure, pricier, monthly customers: drift against the first customers."""
    rng = np.random.default_rng(seed)
    frame = customers(n, seed)
    frame["tenure"] = rng.integers(1, 6, n)
    frame["charges"] = (frame["charges"] + 45).round(2)
    frame["plan"] = "monthly"
    return frame


class Loop:
    def __init__(self, client: TestClient, clock: FixedClock, incoming: Path) -> None:
        self.client = client
        self.clock = clock
        self.incoming = incoming
        self.services: Services = client.app.state.champion.services  # type: ignore[attr-defined]  # set by the lifespan
        self.scheduler = Scheduler(self.services.pipelines)

    def first_version(self, **changes: Any) -> Run:
        """Version 1 trained on 200 customers and served alone on 'churn'."""
        write_batch(self.incoming, "initial.csv", customers(200, seed=1))
        self.services.pipelines.apply(spec(self.incoming, **changes), actor="alice")
        run = self.services.pipelines.run(PIPELINE, reason="first model", actor="alice")
        assert run.status == "succeeded", run.error
        self.client.app.state.champion.serving.refresh(force=True)  # type: ignore[attr-defined]  # set by the lifespan
        return run

    def rule(self, name: str, metric: str, threshold: float, **more: Any) -> None:
        rule = AlertRule.create(name, endpoint="churn", metric=metric, threshold=threshold, **more)
        self.services.alerts.put_rule(rule, actor="alice", reason="watch churn")

    def serve(self, frame: pd.DataFrame, labels: list[int] | None = None, batch: int = 20) -> None:
        """Score the customers ``batch`` a request; send their labels if given."""
        rows = frame.drop(columns=["churned"], errors="ignore").to_dict(orient="records")
        ids = []
        for start in range(0, len(rows), batch):
            instances = [
                {k: _plain(v) for k, v in row.items()} for row in rows[start : start + batch]
            ]
            response = self.client.post(
                "/v1/endpoints/churn/predict", json={"instances": instances}
            )
            assert response.status_code == 200, response.text
            ids.append(response.json()["request_id"])
        wait_until_written(self.client)
        if labels is not None:
            events = [
                {"request_id": r, "kind": "label", "label": labels[i * batch : (i + 1) * batch]}
                for i, r in enumerate(ids)
            ]
            assert self.client.post("/v1/feedback/batch", json={"events": events}).is_success

    def later(self, **delta: float) -> None:
        self.clock.at += timedelta(**delta)

    def runs(self) -> list[Run]:
        return list(reversed(self.services.pipelines.list_runs(PIPELINE)))


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


@pytest.fixture
def loop(settings: Settings, tmp_path: Path) -> Iterator[Loop]:
    clock = FixedClock(START)
    quiet = settings.model_copy(update={"scheduler": False, "controller": False})
    with local_client(create_app(quiet, clock)) as client:
        yield Loop(client, clock, tmp_path / "incoming")
