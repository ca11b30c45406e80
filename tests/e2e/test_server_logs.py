"""A real server's log: every line a JSON object, one access line per request with its ids."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest

from champion.errors import Unavailable
from champion.server_process import ServerProcess
from champion.services import Services
from champion.settings import Settings
from tests.conftest import ModelFolders

ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}


# The database plays no part in what this checks: SQLite only, to keep the suite short.
@pytest.mark.parametrize("database_url", [None], ids=["sqlite"])
@pytest.mark.slow(seconds=3)
def test_a_canary_request_is_one_json_access_line_naming_its_challenger(
    served: Services, settings: Settings, model_folder: ModelFolders
) -> None:
    folder = model_folder("constant")
    (folder / "score.txt").write_text("0.75")
    served.registry.register(folder, model="churn", actor="tests")
    canary = {"champion": "churn/1", "challenger": "churn/2", "share": 1.0}
    served.endpoints.set("churn", "canary", canary, actor="tests")
    server = ServerProcess(
        settings.home,
        settings.database_url,
        log_level="warning",  # access lines are written whatever the level
        env={"CHAMPION_LOG_FORMAT": "json", "CHAMPION_ACCESS_LOG": "true"},
    )
    server.start()
    try:
        answer = httpx.post(
            server.url + "/v1/endpoints/churn/predict",
            json={"unit": "u1", "instances": [ROW]},
            headers={"X-Request-ID": "order-1234", "X-Champion-Request": "1"},
        )
        assert answer.headers["x-request-id"] == "order-1234"
    finally:
        server.stop()
    lines = [orjson.loads(line) for line in server.log.read_text().splitlines()]
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    [access] = [
        line
        for line in lines
        if line["logger"] == "champion.access" and line["route"].endswith("/predict")
    ]
    assert access["message"].startswith("POST /v1/endpoints/{endpoint}/predict 200 ")
    assert access["request_id"] == answer.json()["request_id"]
    assert access["client_request_id"] == "order-1234"
    assert (access["endpoint"], access["arm"], access["version"]) == (
        "churn",
        "challenger",
        "churn/2",
    )
    assert access["versions"] == ["churn/2"]
    assert access["status"] == 200
    assert 0 < access["latency_ms"] < 10_000


def test_a_server_that_misses_its_start_deadline_is_stopped_not_left_running(
    tmp_path: Path,
) -> None:
    server = ServerProcess(tmp_path / "home", None)
    with pytest.raises(Unavailable, match="did not start within"):
        server.start(timeout=0.01)
    assert server.process is None  # stopped and reaped: nothing keeps the port or the home
