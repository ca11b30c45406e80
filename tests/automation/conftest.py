"""A served canary with a clock that moves only when a test moves it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from champion.api import create_app
from champion.automation import RolloutController
from champion.clock import FixedClock
from champion.events.tables import predictions
from champion.metrics import Metrics
from champion.services import Services
from champion.settings import Settings
from tests.conftest import ModelFolders, local_client

ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}
WIN_RATES = {"champion": 0.05, "challenger": 0.6}
"""Click probabilities by arm: the challenger wins."""


class Rig:
    """A churn endpoint (churn/1 champion, churn/2 challenger) served through the HTTP API,
    a controller, and simulated users whose click rates depend on the arm."""

    def __init__(self, services: Services, client: TestClient, clock: FixedClock) -> None:
        self.services = services
        self.client = client
        self.clock = clock
        self.metrics = Metrics()
        self.controller = RolloutController(
            services.engine,
            services.experiments,
            services.rollout,
            metrics=self.metrics,
            identity="test-controller",
        )
        self.rng = np.random.default_rng(0)
        self.visits = 0

    def canary(self, share: float) -> None:
        params = {"champion": "churn@champion", "challenger": "churn@challenger", "share": share}
        # A fixed salt: the same users land in the same arms on every run (a random salt
        # would trip the SRM check's 1-in-1000 false alarm now and then).
        self.services.endpoints.set("churn", "canary", params, actor="tests", salt="rig")

    def experiment(self, **design: Any) -> dict[str, Any]:
        response = self.client.put("/v1/endpoints/churn/experiment", json=design)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def traffic(self, units: int, clicks: dict[str, float]) -> None:
        """``units`` new users visit once; each clicks with its arm's probability."""
        # As the server does at its next state poll: route by the newest configuration (the
        # controller ramps through its own services, and a visit must land in the new step).
        self.client.app.state.champion.serving.refresh()  # type: ignore[attr-defined]  # set by the lifespan
        ids = []
        for _ in range(units):
            self.visits += 1
            response = self.client.post(
                "/v1/endpoints/churn/predict",
                json={"unit": f"user-{self.visits}", "instances": [ROW]},
            )
            assert response.status_code == 200, response.text
            ids.append(response.json()["request_id"])
        arms = self._arms(ids)
        events = [
            {"request_id": request, "kind": "click"}
            for request in ids
            if self.rng.random() < clicks.get(arms[request], 0.0)
        ]
        if events:
            assert self.client.post("/v1/feedback/batch", json={"events": events}).is_success

    def _arms(self, ids: list[str]) -> dict[str, str]:
        deadline = time.monotonic() + 10
        while True:
            with self.services.engine.connect() as conn:
                found = dict(
                    conn.execute(
                        sa.select(predictions.c.request_id, predictions.c.arm).where(
                            predictions.c.request_id.in_(ids)
                        )
                    ).all()
                )
            if len(found) == len(ids) or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def wait_for_predictions(self, count: int) -> None:
        """Until ``count`` predictions are in the log (the writer flushes in the background)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with self.services.engine.connect() as conn:
                query = sa.select(sa.func.count()).select_from(predictions)
                if conn.execute(query).scalar_one() >= count:
                    return
            time.sleep(0.02)
        raise AssertionError(f"{count} predictions were not logged in time")

    def advance(self, seconds: float) -> None:
        self.clock.at += timedelta(seconds=seconds)

    def report(self) -> dict[str, Any]:
        body: dict[str, Any] = self.client.get("/v1/endpoints/churn/experiment").json()
        return body


@pytest.fixture
def rig(settings: Settings, model_folder: ModelFolders) -> Iterator[Rig]:
    clock = FixedClock(datetime(2026, 2, 1, tzinfo=UTC))
    settings = settings.model_copy(update={"controller": False})
    services = Services.open(settings, clock)
    champion = model_folder("constant")
    services.registry.register(champion, model="churn", actor="t", aliases_to_set=("champion",))
    services.registry.register(champion, model="churn", actor="t", aliases_to_set=("challenger",))
    with local_client(create_app(settings, clock)) as client:
        rig = Rig(services, client, clock)
        yield rig
    rig.controller.close()
    services.close()
