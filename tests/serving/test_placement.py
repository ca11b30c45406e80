"""Quick calls of pure-compute models run on the event loop; everything else in threads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skops.io
import yaml
from sklearn.linear_model import LogisticRegression

from champion.api import create_app
from champion.registry import VersionKey
from champion.services import Services
from champion.serving.placement import WARMUP_CALLS, CallPlacement
from champion.settings import Settings
from tests.conftest import local_client

from ..conftest import ModelFolders


def test_a_version_runs_inline_only_after_its_warm_up_and_within_budget() -> None:
    placement = CallPlacement(budget_seconds=0.001)
    for _ in range(WARMUP_CALLS - 1):
        placement.observe("v", instances=1, seconds=0.0001)
    assert not placement.inline("v", instances=1)  # still warming up
    placement.observe("v", instances=1, seconds=0.0001)
    assert placement.inline("v", instances=1)
    assert placement.inline("v", instances=9)  # 9 times 0.1 ms fits in 1 ms
    assert not placement.inline("v", instances=10)  # a batch too big for the loop
    assert not placement.inline("other", instances=1)  # never seen


def test_one_slow_call_sends_the_version_back_to_threads_until_calls_are_quick() -> None:
    placement = CallPlacement(budget_seconds=0.001)
    for _ in range(WARMUP_CALLS):
        placement.observe("v", instances=1, seconds=0.0002)
    placement.observe("v", instances=1, seconds=0.2)
    assert not placement.inline("v", instances=1)
    quick_calls = 0
    while not placement.inline("v", instances=1):
        placement.observe("v", instances=1, seconds=0.0002)
        quick_calls += 1
    assert 20 < quick_calls < 60  # forgotten gradually, not after one call


def test_a_slow_model_stays_in_threads_though_its_batches_are_cheap_per_row() -> None:
    # A pipeline with a large fixed cost: 15 ms for one row, 30 ms for fifty.
    placement = CallPlacement(budget_seconds=0.002)
    for _ in range(WARMUP_CALLS):
        placement.observe("v", instances=50, seconds=0.030)
    assert not placement.inline("v", instances=1)


def test_a_budget_of_zero_never_runs_inline() -> None:
    placement = CallPlacement(budget_seconds=0.0)
    for _ in range(WARMUP_CALLS * 2):
        placement.observe("v", instances=1, seconds=0.0)
    assert not placement.inline("v", instances=1)


def _sklearn_folder(folder: Path, trusted_types: list[str] | None = None) -> Path:
    folder.mkdir()
    x = np.random.default_rng(0).normal(size=(200, 2))
    skops.io.dump(LogisticRegression().fit(x, (x[:, 0] > 0).astype(int)), folder / "model.skops")
    manifest: dict[str, Any] = {
        "kind": "classifier",
        "flavor": "sklearn",
        "file": "model.skops",
        "signature": {"inputs": [{"name": "a", "type": "number"}, {"name": "b", "type": "number"}]},
    }
    if trusted_types:
        manifest["trusted_types"] = trusted_types
    (folder / "champion.yaml").write_text(yaml.safe_dump(manifest))
    return folder


def _threads_of_calls(
    settings: Settings, version: str, instance: dict[str, Any], calls: int
) -> list[str]:
    """The thread each of ``calls`` predictions ran its model in, through the HTTP API."""
    seen: list[str] = []
    with local_client(create_app(settings)) as client:
        body = {"policy": "single", "params": {"version": version}}
        assert client.put("/v1/endpoints/e", json=body).status_code == 200
        state = client.app.state.champion  # type: ignore[attr-defined]
        model, number = version.split("/")
        loaded = state.serving.runtime.get(VersionKey(model, int(number)))
        original: Callable[..., Any] = loaded.model.predict

        def recording(instances: Any) -> Any:
            seen.append(threading.current_thread().name)
            return original(instances)

        loaded.model.predict = recording
        for _ in range(calls):
            response = client.post("/v1/endpoints/e/predict", json={"instances": [instance]})
            assert response.status_code == 200, response.text
    return seen


def test_a_scikit_learn_version_moves_to_the_event_loop_after_its_warm_up(
    services: Services, settings: Settings, tmp_path: Path
) -> None:
    services.registry.register(_sklearn_folder(tmp_path / "lr"), model="lr", actor="t")
    # A budget no call of this model misses, even on a loaded test machine.
    settings = settings.model_copy(update={"inline_call_ms": 100.0})
    seen = _threads_of_calls(settings, "lr/1", {"a": 1.0, "b": 0.0}, WARMUP_CALLS + 10)
    assert all(name.startswith("champion-lr/1") for name in seen[:WARMUP_CALLS])
    assert not any(name.startswith("champion-") for name in seen[WARMUP_CALLS:])


@pytest.mark.parametrize("reason", ["python code", "custom trusted types", "inline off"])
def test_calls_champion_cannot_vouch_for_stay_in_the_versions_threads(
    reason: str,
    services: Services,
    settings: Settings,
    model_folder: ModelFolders,
    tmp_path: Path,
) -> None:
    if reason == "python code":
        services.registry.register(model_folder("constant"), model="m", actor="t")
        instance: dict[str, Any] = {"tenure": 3, "charges": 20.5, "contract": "monthly"}
    else:
        trusted = ["numpy.dtype"] if reason == "custom trusted types" else None
        folder = _sklearn_folder(tmp_path / "lr", trusted_types=trusted)
        services.registry.register(folder, model="m", actor="t")
        instance = {"a": 1.0, "b": 0.0}
    if reason == "inline off":
        settings = settings.model_copy(update={"inline_call_ms": 0.0})
    seen = _threads_of_calls(settings, "m/1", instance, WARMUP_CALLS + 10)
    assert all(name.startswith("champion-m/1") for name in seen)
