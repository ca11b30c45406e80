"""Over HTTP: ``/stats`` (with and without buckets) and the interleaving comparison answer
the same before and after a fold pass for any window, not only those on segment boundaries.

Requests are served on a fixed clock over three hours, with one-hour segments; the windows
start and end inside segments, inside one segment, and on boundaries. Once retention has
deleted the raw rows of a segment a window cuts, ``/stats`` counts it whole in the window
holding its start and names it in ``whole_segments``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from champion import audit
from champion.api import create_app
from champion.clock import FixedClock
from champion.db import read, write
from champion.events.rollups import backlog, fold
from champion.events.tables import feedback, prediction_items, predictions
from champion.services import Services
from champion.settings import Settings
from tests.api.test_interleaving_units import _interleave, _visit
from tests.conftest import ModelFolders, local_client, wait_until_written

ROW = {"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}
START = datetime(2026, 3, 1, tzinfo=UTC)
SEGMENT = timedelta(hours=1)
MINUTES = (5, 20, 50, 65, 80, 100, 130, 170)
"""When requests are served, in minutes after START (a segment is an hour)."""


def _at(minutes: int) -> str:
    return (START + timedelta(minutes=minutes)).isoformat()


WINDOWS = ((30, 110), (10, 55), (60, 120), (15, None), (None, 95))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def client(
    served: Services, settings: Settings, clock: FixedClock, model_folder: ModelFolders
) -> Iterator[TestClient]:
    update = {
        "rollup_segment_seconds": round(SEGMENT.total_seconds()),
        "fold_interval_seconds": 0.0,  # the test folds
        "controller": False,
        "scheduler": False,
    }
    with local_client(create_app(settings.model_copy(update=update), clock)) as client:
        _interleave(served, client, model_folder, "recs")
        yield client


def _serve(client: TestClient, clock: FixedClock) -> list[str]:
    rng = np.random.default_rng(3)
    ids = []
    for minute in MINUTES:
        clock.at = START + timedelta(minutes=minute)
        answer = client.post(
            "/v1/endpoints/churn/predict", json={"unit": f"u{minute % 3}", "instances": [ROW]}
        )
        ids.append(answer.json()["request_id"])
        _visit(client, "recs", [(f"u{minute % 4}", 0.7, 0.4), (f"u{minute % 5}", 0.3, 0.6)], rng)
    wait_until_written(client)
    clock.at = START + timedelta(hours=3)
    return ids


def _stats(client: TestClient, endpoint: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/v1/endpoints/{endpoint}/stats", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _answers(client: TestClient) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for endpoint in ("churn", "recs"):
        for start, end in WINDOWS:
            window = {k: _at(v) for k, v in (("start", start), ("end", end)) if v is not None}
            found[f"{endpoint}{start}-{end}"] = _stats(client, endpoint, **window)["versions"]
        # Buckets of 30 minutes (edges inside segments), and of 80 (edges snapped back).
        for buckets, (start, end) in ((5, (10, 160)), (2, (10, 170))):
            body = _stats(client, endpoint, start=_at(start), end=_at(end), buckets=buckets)
            found[f"{endpoint}/{buckets}"] = body
    for start, end in ((30, 110), (15, 165)):
        params = {"start": _at(start), "end": _at(end)}
        response = client.get("/v1/endpoints/recs/interleaving", params=params)
        assert response.status_code == 200, response.text
        found[f"interleaving{start}-{end}"] = response.json()["comparisons"]
    return found


def _requests(rows: list[dict[str, Any]]) -> int:
    return sum(row["requests"] for row in rows)


def test_stats_and_interleaving_read_the_same_before_and_after_a_fold(
    served: Services, client: TestClient, clock: FixedClock
) -> None:
    ids = _serve(client, clock)
    client.post(
        "/v1/feedback/batch", json={"events": [{"request_id": i, "kind": "click"} for i in ids]}
    ).raise_for_status()
    before = _answers(client)
    # Raw, every window counts its own requests: 50, 65, 80 and 100 in [30, 110).
    assert _requests(before["churn30-110"]) == 4 and _requests(before["churn10-55"]) == 2
    assert _requests(before["recs30-110"]) == 8
    assert [_requests(w["versions"]) for w in before["churn/5"]["buckets"]] == [1, 2, 1, 1, 1]
    edges = [(w["start"], w["end"]) for w in before["churn/2"]["buckets"]]
    assert edges == [(_at(10), _at(60)), (_at(60), _at(170))]  # 90 snapped back to 60
    assert before["interleaving30-110"] and before["churn/2"]["whole_segments"] == []

    with write(served.engine) as conn:
        assert backlog(conn) == 8 * 3
    assert fold(served.engine, clock.now(), segment=SEGMENT) > 0
    with read(served.engine) as conn:
        assert backlog(conn) == 0
    assert _answers(client) == before

    # Feedback on folded requests: read raw until the next pass folds it as a delta.
    late = [{"request_id": i, "kind": "purchase", "value": 2.0} for i in ids[::2]]
    client.post("/v1/feedback/batch", json={"events": late}).raise_for_status()
    with_late = _answers(client)
    assert with_late != before
    assert fold(served.engine, clock.now(), segment=SEGMENT) == len(late)
    assert _answers(client) == with_late


def test_a_cut_segment_retention_deleted_counts_whole_and_is_named(
    served: Services, client: TestClient, clock: FixedClock
) -> None:
    _serve(client, clock)
    fold(served.engine, clock.now(), segment=SEGMENT)
    window = {"start": _at(30), "end": _at(110)}
    assert _requests(_stats(client, "churn", **window)["versions"]) == 4
    cutoff = START + timedelta(minutes=40)
    with write(served.engine) as conn:
        gone = sa.select(predictions.c.request_id).where(predictions.c.at < cutoff)
        conn.execute(feedback.delete().where(feedback.c.request_id.in_(gone)))
        conn.execute(prediction_items.delete().where(prediction_items.c.request_id.in_(gone)))
        conn.execute(predictions.delete().where(predictions.c.at < cutoff))
        audit.record(
            conn,
            at=clock.now(),
            actor="retention",
            action="events.retention",
            target="events",
            details={
                "cutoffs": {"predictions": cutoff.isoformat(), "feedback": cutoff.isoformat()},
                "deleted": {"predictions": 6},
            },
            reason="Deleted folded events past retention",
        )
    body = _stats(client, "churn", **window)
    # The first hour's request at 50 is not read (its segment starts before the window, as
    # reads did before); the second hour's segment is still cut exactly at 110.
    assert _requests(body["versions"]) == 3
    assert body["whole_segments"] == [{"start": _at(0), "end": _at(60)}]
    later = _stats(client, "churn", start=_at(65), end=_at(110))
    assert _requests(later["versions"]) == 3 and later["whole_segments"] == []
