"""``champion server --workers N``: workers share the port and the database; each background
duty runs in one of them; on SQLite nothing acknowledged or served goes missing."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from champion.events.tables import feedback, predictions
from champion.server_process import ServerProcess
from champion.services import Services
from champion.settings import Settings
from tests.conftest import ModelFolders

# Every duty a default server has; retention and compaction take a lock only when enabled.
DUTIES = {"alerts", "drift-days", "rollout-controller", "rollups", "scheduler"}
REQUESTS = 15
CLIENTS = 6
QUICK_LOOPS = {
    "CHAMPION_CONTROLLER_INTERVAL_SECONDS": "0.2",
    "CHAMPION_ALERT_INTERVAL_SECONDS": "0.2",
    "CHAMPION_SCHEDULER_SECONDS": "0.2",
    "CHAMPION_FOLD_INTERVAL_SECONDS": "0.2",
    "CHAMPION_DRIFT_DAYS_INTERVAL_SECONDS": "0.2",
}


@pytest.mark.slow(seconds=25)
def test_two_workers_share_the_port_split_the_duties_and_store_everything_on_sqlite(
    tmp_path: Path, model_folder: ModelFolders
) -> None:
    settings = Settings(home=tmp_path / "home")
    services = Services.open(settings)
    services.registry.register(
        model_folder("constant"), model="churn", actor="t", aliases_to_set=("champion",)
    )
    services.endpoints.set("churn", "single", {"version": "churn@champion"}, actor="t")
    services.close()
    env = {**QUICK_LOOPS, "CHAMPION_EVENT_FLUSH_SECONDS": "0.05"}
    server = ServerProcess(settings.home, workers=2, env=env)
    server.start()
    try:
        leads = _duties_by_worker(server.url)
        served, acknowledged = _predict_and_acknowledge(server.url)
    finally:
        server.stop()  # SIGTERM: each worker writes what it queued
    assert len(leads) == 2, f"one worker answered every request: {leads}"
    first, second = leads.values()
    assert DUTIES <= first | second, leads
    assert not first & second, f"a duty ran in both workers: {leads}"

    assert len(served) == len(acknowledged) == CLIENTS * REQUESTS
    engine = sa.create_engine(settings.resolved_database_url())
    with engine.connect() as conn:
        stored = set(conn.execute(sa.select(predictions.c.request_id)).scalars())
        kept = set(conn.execute(sa.select(feedback.c.event_id)).scalars())
    engine.dispose()
    assert served <= stored, f"{len(served - stored)} served predictions have no event"
    assert acknowledged <= kept, f"{len(acknowledged - kept)} acknowledged feedback lost"


def _duties_by_worker(url: str) -> dict[int, set[str]]:
    """Each worker's pid and the duties it leads, once both answered and every duty runs."""
    leads: dict[int, set[str]] = {}
    deadline = time.monotonic() + 180  # the second worker may start a minute later on a busy host
    with _new_connection_each_time() as http:
        while time.monotonic() < deadline:
            worker = http.get(f"{url}/v1/health").json()["worker"]
            leads[worker["pid"]] = set(worker["leads"])
            if len(leads) == 2 and DUTIES <= set().union(*leads.values()):
                break
            time.sleep(0.05)
    return leads


def _new_connection_each_time() -> httpx.Client:
    """A client that opens a connection per request (the kernel hands each to either worker),
    built once: building one costs ~25 ms of CPU, more than the request."""
    return httpx.Client(
        timeout=30,
        limits=httpx.Limits(max_keepalive_connections=0),
        headers={"X-Champion-Request": "1"},
    )


def _predict_and_acknowledge(url: str) -> tuple[set[str], set[str]]:
    """Concurrent clients predict and send a click each; the request and event ids answered."""
    served: set[str] = set()
    acknowledged: set[str] = set()
    lock = threading.Lock()
    row = {"tenure": 3, "charges": 1.5, "contract": "Month-to-month"}

    def load(client_number: int) -> None:
        # One connection per request, so both workers take a share of the writes.
        with _new_connection_each_time() as http:
            for n in range(REQUESTS):
                send(http, client_number, n)

    def send(http: httpx.Client, client_number: int, n: int) -> None:
        answer = http.post(
            f"{url}/v1/endpoints/churn/predict",
            json={"unit": f"c{client_number}-{n}", "instances": [row]},
        )
        assert answer.status_code == 200, answer.text
        request_id = answer.json()["request_id"]
        with lock:
            served.add(request_id)
        event_id = f"f-{request_id}"
        ack = http.post(
            f"{url}/v1/feedback",
            json={"event_id": event_id, "request_id": request_id, "kind": "click"},
        )
        assert ack.status_code == 201, ack.text
        with lock:
            acknowledged.add(event_id)

    clients = [threading.Thread(target=load, args=(c,)) for c in range(CLIENTS)]
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    return served, acknowledged
