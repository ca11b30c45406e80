"""Reference data and served traffic for the ``scorer`` fixture model (a churn classifier)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from fastapi.testclient import TestClient

from champion.api import create_app
from champion.clock import FixedClock
from champion.services import Services
from champion.settings import Settings
from tests.conftest import ModelFolders, local_client, wait_until_written

CONTRACTS = ["month", "one_year", "two_year"]


def customers(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """Customers; ``shift`` > 0 makes them newer (shorter tenure) and pricier."""
    rng = np.random.default_rng(seed)
    tenure = np.clip(rng.normal(30 - 20 * shift, 12, n).round(), 0, 72).astype(int)
    share = np.array([0.5 + 0.3 * shift, 0.3 - 0.15 * shift, 0.2 - 0.15 * shift])
    return pd.DataFrame(
        {
            "tenure": tenure,
            "charges": rng.normal(70 + 15 * shift, 20, n),
            "contract": rng.choice(CONTRACTS, n, p=share / share.sum()),
        }
    )


def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    columns = zip(
        frame["tenure"].tolist(), frame["charges"].tolist(), frame["contract"].tolist(), strict=True
    )
    return [
        {"tenure": int(tenure), "charges": float(charges), "contract": str(contract)}
        for tenure, charges, contract in columns
    ]


def register_scorer(
    services: Services,
    model_folder: ModelFolders,
    reference: pd.DataFrame,
    folder: Path | None = None,
) -> Path:
    """Register the scorer with ``reference`` in its folder and serve it on 'churn'."""
    folder = folder or model_folder("scorer")
    reference.to_csv(folder / "reference.csv", index=False)
    services.registry.register(folder, model="churn", actor="tests", aliases_to_set=("champion",))
    services.endpoints.set("churn", "single", {"version": "churn@champion"}, actor="tests")
    return folder


def risk(frame: pd.DataFrame) -> np.ndarray:
    """The scorer's own probability of churn: calibrated when outcomes are drawn from it."""
    return 1 / (1 + np.exp((frame["tenure"].to_numpy() - 24.0) / 8.0))


def outcomes(frame: pd.DataFrame, seed: int) -> np.ndarray:
    """True outcomes (0/1) drawn from the scorer's probabilities."""
    return (np.random.default_rng(seed).uniform(size=len(frame)) < risk(frame)).astype(int)


def register_labelled_scorer(
    services: Services, model_folder: ModelFolders, reference: pd.DataFrame, seed: int = 1
) -> Path:
    """As ``register_scorer``, with outcomes in the reference's ``churned`` column, named by
    ``target`` in champion.yaml: a labelled reference, so performance can be estimated."""
    folder = model_folder("scorer")
    manifest = yaml.safe_load((folder / "champion.yaml").read_text())
    (folder / "champion.yaml").write_text(yaml.safe_dump({**manifest, "target": "churned"}))
    return register_scorer(
        services, model_folder, reference.assign(churned=outcomes(reference, seed)), folder
    )


def serve(client: TestClient, frame: pd.DataFrame, batch: int = 50) -> list[str]:
    """Score ``frame`` through the endpoint; wait until the events are written."""
    request_ids = []
    instances = rows(frame)
    for start in range(0, len(instances), batch):
        response = client.post(
            "/v1/endpoints/churn/predict", json={"instances": instances[start : start + batch]}
        )
        assert response.status_code == 200, response.text
        request_ids.append(response.json()["request_id"])
    wait_until_written(client)
    return request_ids


@contextmanager
def clocked(
    settings: Settings, now: datetime, register: Callable[[Services], object]
) -> Iterator[tuple[TestClient, FixedClock]]:
    """A client of a server whose clock stands at ``now`` until moved, after ``register``."""
    clock = FixedClock(now)
    services = Services.open(settings, clock)
    register(services)
    with local_client(create_app(settings, clock)) as client:
        yield client, clock
    services.close()
