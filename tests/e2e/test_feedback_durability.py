"""Acknowledged feedback survives SIGKILL of the server, and retries never store twice."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
import sqlalchemy as sa

from champion.events.tables import feedback
from champion.server_process import ServerProcess
from champion.services import Services
from champion.settings import Settings
from tests.conftest import ModelFolders


@pytest.mark.slow(seconds=10)
def test_every_acknowledged_event_survives_sigkill_and_none_is_stored_twice(
    settings: Settings, services: Services, model_folder: ModelFolders
) -> None:
    services.registry.register(
        model_folder("echo_ranker"), model="recs", actor="t", aliases_to_set=("champion",)
    )
    services.endpoints.set("recs", "single", {"version": "recs@champion"}, actor="t")
    server = ServerProcess(settings.home, settings.database_url)
    server.start()
    acknowledged: set[str] = set()
    sent: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def load(worker: int) -> None:
        with httpx.Client(base_url=server.url, timeout=5) as client:
            n = 0
            while not stop.is_set():
                ids = [f"w{worker}-{n}-{i}" for i in range(5)]
                n += 1
                with lock:
                    sent.extend(ids)
                events = [
                    {"event_id": e, "request_id": f"r-{e}", "kind": "click", "item": "a"}
                    for e in ids
                ]
                try:
                    response = client.post("/v1/feedback/batch", json={"events": events})
                except httpx.HTTPError:
                    return  # the server died mid-request: not acknowledged
                if response.status_code == 201:
                    with lock:
                        acknowledged.update(ids)

    workers = [threading.Thread(target=load, args=(w,)) for w in range(8)]
    for worker in workers:
        worker.start()
    time.sleep(1.5)
    server.kill()  # SIGKILL: no shutdown hook runs
    stop.set()
    for worker in workers:
        worker.join()
    assert len(acknowledged) > 100

    with services.engine.connect() as conn:
        stored = set(conn.execute(sa.select(feedback.c.event_id)).scalars())
    assert acknowledged <= stored

    # Clients retry everything they sent; the restarted server stores nothing twice.
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for start in range(0, len(sent), 1000):
                chunk = sent[start : start + 1000]
                events = [
                    {"event_id": e, "request_id": f"r-{e}", "kind": "click", "item": "a"}
                    for e in chunk
                ]
                assert client.post("/v1/feedback/batch", json={"events": events}).status_code == 201
    finally:
        server.stop()
    with services.engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(feedback)).scalar_one()
    assert total == len(set(sent))
