"""Experiments through the client, against a live server: read, design, act."""

from __future__ import annotations

import pytest

from champion import Client
from champion.errors import Conflict, InvalidInput, NotFound
from champion.evaluation import Decision
from champion.services import Services
from tests.conftest import LiveServer, ModelFolders

ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}


@pytest.fixture
def canary(served: Services, model_folder: ModelFolders) -> Services:
    served.registry.register(
        model_folder("constant"), model="churn", actor="tests", aliases_to_set=("challenger",)
    )
    params = {"champion": "churn@champion", "challenger": "churn@challenger", "share": 0.1}
    served.endpoints.set("churn", "canary", params, actor="tests", salt="fixed")
    return served


def test_design_read_approve_promote_and_roll_back(
    canary: Services, live_server: LiveServer
) -> None:
    with Client(live_server.url, token="") as client:
        assert client.list_experiments() == []
        with pytest.raises(InvalidInput, match=r"^alpha: Input should be greater than 0, got 0$"):
            client.set_experiment("churn", "click_rate", alpha=0)
        started = client.set_experiment(
            "churn", "click_rate", guardrails=[], automation="approve", reason="try v2"
        )
        assert (started.status, started.share) == ("running", 0.1)
        for unit in range(10):
            client.predict("churn", [ROW], unit=f"u{unit}")
        [listed] = client.list_experiments()
        assert listed.id == started.id and listed.design["automation"] == "approve"
        assert client.get_experiment("churn").decision.decision == "continue"
        timeline = client.experiment_timeline("churn", points=3)
        assert len(timeline.points) == 3 and timeline.goal == "click_rate"

        with pytest.raises(Conflict, match="has nothing waiting for approval"):
            client.approve("churn")
        # What the rollout controller does under automation 'approve': propose a ramp.
        experiment = canary.experiments.get("churn")
        ramp = Decision("continue", "ramp", "step 10% is healthy", "challenger", 0.25)
        assert canary.rollout.propose(experiment, ramp, actor="controller")
        approved = client.approve("churn", reason="looks fine")
        assert (approved.share, approved.pending) == (0.25, None)
        assert client.get_endpoint("churn").params["share"] == 0.25

        promoted = client.promote("churn", reason="good enough")
        assert promoted.status == "promoted"
        assert client.get_endpoint("churn").policy == "blue_green"
        undone = client.rollback("churn", reason="changed my mind")
        assert undone.status == "rolled_back"
        assert client.get_endpoint("churn").params["live"] == "blue"
        records = client.audit(endpoint="churn", action="experiment.", limit=4).records
        assert [r.action for r in records] == [
            "experiment.rollback", "experiment.promote", "experiment.ramp", "experiment.propose",
        ]  # fmt: skip
        with pytest.raises(Conflict, match="already ended"):
            client.promote("churn")
        with pytest.raises(NotFound, match="Unknown endpoint 'nope'"):
            client.get_experiment("nope")
