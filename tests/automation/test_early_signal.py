"""Estimated performance holds a ramp or promotion of a worse challenger; it never acts."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from champion.api import create_app
from champion.automation import EarlySignal
from champion.clock import FixedClock
from champion.evaluation.decision import Decision
from champion.services import Services
from champion.settings import Settings
from tests.automation.conftest import WIN_RATES, Rig
from tests.conftest import ModelFolders, local_client
from tests.drift.traffic import customers, outcomes

RAMP = {"steps": [0.1, 0.3, 0.5, 1.0], "min_seconds": 60, "min_units": 5}
SAFE = {"guardrails": [{"metric": "error_rate", "tolerance": 0.01}], "guardrail_min_units": 2}
DESIGN = dict(goal="click_rate", automation="auto", min_sample=20, ramp=RAMP,
              sequential_tuning=200, **SAFE)  # fmt: skip


def _labelled_scorer(folder: Path, centre: float) -> Path:
    """The scorer with its risk curve centred at ``centre`` months, and a reference whose
    outcomes follow the true curve (centred at 24): calibration maps its scores to the truth."""
    scorer = folder / "scorer.py"
    scorer.write_text(scorer.read_text().replace("- 24.0", f"- {centre}"))
    reference = customers(2000, seed=1)
    reference.assign(churned=outcomes(reference, seed=1)).to_csv(
        folder / "reference.csv", index=False
    )
    manifest = yaml.safe_load((folder / "champion.yaml").read_text())
    (folder / "champion.yaml").write_text(yaml.safe_dump({**manifest, "target": "churned"}))
    return folder


def _rig(
    settings: Settings, model_folder: ModelFolders, tmp_path: Path, centres: tuple[float, float]
) -> Iterator[Rig]:
    clock = FixedClock(datetime(2026, 2, 1, tzinfo=UTC))
    settings = settings.model_copy(update={"controller": False})
    services = Services.open(settings, clock)
    for alias, centre in zip(("champion", "challenger"), centres, strict=True):
        folder = tmp_path / alias
        shutil.copytree(model_folder("scorer"), folder)
        _labelled_scorer(folder, centre)
        services.registry.register(folder, model="churn", actor="t", aliases_to_set=(alias,))
    with local_client(create_app(settings, clock)) as client:
        rig = Rig(services, client, clock)
        rig.controller.early_signal = EarlySignal(services.engine, clock)
        yield rig
    rig.controller.close()
    services.close()


@pytest.fixture
def worse(settings: Settings, model_folder: ModelFolders, tmp_path: Path) -> Iterator[Rig]:
    # The challenger's curve sits at 2 months: at 3 months of tenure it answers "stays"
    # where the customers mostly leave, so its estimated accuracy is far below.
    yield from _rig(settings, model_folder, tmp_path, (24.0, 2.0))


@pytest.fixture
def better(settings: Settings, model_folder: ModelFolders, tmp_path: Path) -> Iterator[Rig]:
    yield from _rig(settings, model_folder, tmp_path, (2.0, 24.0))


def test_a_winning_challenger_estimated_worse_is_held_not_promoted(worse: Rig) -> None:
    worse.canary(0.5)
    worse.experiment(**DESIGN)
    worse.traffic(200, WIN_RATES)  # it wins on the goal: without the signal, a promotion
    [look] = worse.controller.tick()
    assert (look.outcome, look.decision.action) == ("reported", "hold"), look.decision.reason
    assert "Held by the early signal: churn/2's estimated accuracy" in look.decision.reason
    assert worse.services.registry.resolve("churn@champion").number == 1
    # Without the signal the same evidence promotes: the hold came from the estimate alone.
    worse.controller.early_signal = None
    [look] = worse.controller.tick()
    assert (look.outcome, look.decision.action) == ("acted", "promote"), look.decision.reason


def test_a_better_estimate_is_never_the_evidence_for_a_ramp_or_promotion(better: Rig) -> None:
    better.canary(0.5)
    better.experiment(**DESIGN)
    better.traffic(200, {"champion": 0.3, "challenger": 0.3})  # no difference on the goal
    [look] = better.controller.tick()
    assert look.decision.action not in ("promote", "ramp") and look.outcome == "reported"
    assert "early signal" not in look.decision.reason
    assert better.services.registry.resolve("churn@champion").number == 1
    assert better.client.get("/v1/endpoints/churn").json()["params"]["share"] == 0.5


def test_the_signal_is_consulted_only_for_ramps_and_promotions(worse: Rig) -> None:
    worse.canary(0.5)
    worse.experiment(**DESIGN)
    worse.traffic(100, WIN_RATES)
    signal = worse.controller.early_signal
    assert signal is not None
    experiment = worse.services.experiments.get("churn")
    arms = worse.services.experiments.report(experiment, full=False).arms
    assert arms is not None
    for decision in (
        Decision("rollback", "rollback", "harm", "challenger"),
        Decision("continue", "hold", "wait"),
        Decision("continue", "none", "nothing"),
    ):
        assert signal.objection(experiment, arms, decision) is None
    for decision in (
        Decision("promote", "promote", "won", "challenger"),
        Decision("continue", "ramp", "safe", "challenger", 1.0),
    ):
        assert signal.objection(experiment, arms, decision) is not None
