"""A served churn scorer (with a labelled reference) and a clock that moves only by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from champion.api import create_app
from champion.clock import FixedClock
from champion.services import Services
from champion.settings import Settings
from tests.conftest import ModelFolders, local_client
from tests.drift.traffic import customers, register_labelled_scorer

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def app(settings: Settings, clock: FixedClock, model_folder: ModelFolders) -> Iterator[TestClient]:
    with local_client(create_app(settings, clock)) as client:
        register_labelled_scorer(services_of(client), model_folder, customers(3000, seed=1))
        yield client


def services_of(client: TestClient) -> Services:
    services: Services = client.app.state.champion.services  # type: ignore[attr-defined]
    return services
