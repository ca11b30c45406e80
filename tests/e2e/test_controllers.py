"""Two real server processes on one database: one controller acts; when it stops, the other."""

from __future__ import annotations

import re
import socket
import threading
import time

import httpx
import pytest

from champion import audit
from champion.automation import RolloutController
from champion.db import read
from champion.server_process import ServerProcess
from champion.services import Services
from champion.settings import Settings
from tests.conftest import ModelFolders, churn_canary

FAST = {"CHAMPION_CONTROLLER_INTERVAL_SECONDS": "0.2", "CHAMPION_STATE_POLL_SECONDS": "0.2"}


def _ramps(services: Services) -> list[tuple[float, str]]:
    with read(services.engine) as conn:
        records = audit.list_audit(conn, target="churn", limit=500)
    found = []
    for record in reversed(records):
        if record.action == "experiment.ramp":
            signer = re.search(r"\[controller ([^\]]+)\]", record.reason)
            found.append((record.details["to"], signer.group(1) if signer else "?"))
    return found


def _wait_for_share(services: Services, share: float, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while services.endpoints.get("churn").params["share"] < share:
        assert time.monotonic() < deadline, f"the canary never reached {share}"
        time.sleep(0.1)


@pytest.mark.slow(seconds=5)
def test_one_controller_acts_among_several_processes(
    services: Services, settings: Settings, model_folder: ModelFolders
) -> None:
    """A server process and this test process both run a controller on one database."""
    churn_canary(services, model_folder, 0.1)
    ramp = {"steps": [0.1, 0.2, 0.3, 0.5, 1.0], "min_seconds": 0, "min_units": 0}
    # No traffic, so no guardrail: a guardrail would hold each ramp for evidence it holds.
    design = {
        "goal": "click_rate",
        "automation": "auto",
        "min_sample": 10**6,
        "ramp": ramp,
        "guardrails": [],
    }
    services.experiments.set("churn", design, actor="t")
    server = ServerProcess(settings.home, settings.database_url, env=FAST)
    server.start()
    assert server.process is not None
    server_identity = f"{socket.gethostname()}:{server.process.pid}"
    other = Services.open(settings)  # its own engine: its own sessions
    local = RolloutController(
        other.engine, other.experiments, other.rollout, identity="test-process"
    )
    stop = threading.Event()

    def look() -> None:
        while not stop.wait(0.2):
            local.tick()

    looking = threading.Thread(target=look)
    looking.start()
    try:
        _wait_for_share(services, 0.5)
        time.sleep(1.0)  # more looks by both controllers: nothing more may happen
        ramps = _ramps(services)
        assert [share for share, _ in ramps] == [0.2, 0.3, 0.5]
        [leader] = {who for _, who in ramps}
        assert leader in {server_identity, "test-process"}
        assert local.leader == (leader == "test-process")
        # The leader stops; the other one takes over the next step.
        if leader == "test-process":
            stop.set()
            looking.join()
            local.close()
        else:
            metrics = httpx.get(server.url + "/metrics").text
            assert (
                'champion_controller_actions_total{action="ramp",endpoint="churn"} 3.0' in metrics
            )
            server.stop()
        ramp["steps"] = [0.1, 0.2, 0.3, 0.5, 0.7, 1.0]
        services.experiments.set("churn", design, actor="t", reason="one more step")
        _wait_for_share(services, 0.7)
        (_, successor), *_ = _ramps(services)[3:]
        assert successor == ({server_identity, "test-process"} - {leader}).pop()
    finally:
        stop.set()
        looking.join()
        local.close()
        other.close()
        server.stop()
