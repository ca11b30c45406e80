"""GET /v1/endpoints/{e}/ranking-monitor: a ranker that drifts to popular items is flagged,
an unchanged one is not, and every number matches one computed here with pandas."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from scipy import stats

from champion.clock import FixedClock
from champion.db import write
from champion.events.retention import Retention
from champion.events.tables import predictions
from champion.services import Services
from tests.drift.rankings import HOUR, scripted
from tests.fixtures.events import T0, EventLog

WINDOW = {"start": (T0 + HOUR).isoformat(), "end": (T0 + 2 * HOUR).isoformat()}


def _monitor(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/v1/endpoints/recs/ranking-monitor", params={**WINDOW, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _frames(log: EventLog) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Impressions (window, unit, item, position, clicked) as the tables hold them."""
    # A shown item carries its request's time too: take the request's.
    shown = (
        pd.DataFrame(log.items)
        .drop(columns="at", errors="ignore")
        .merge(pd.DataFrame(log.predictions)[["request_id", "unit", "at"]], on="request_id")
    )
    shown["window"] = np.where(shown["at"] < T0 + HOUR, "reference", "current")
    clicks = pd.DataFrame(log.feedback)[["request_id", "item"]].drop_duplicates()
    clicks["clicked"] = 1
    shown = shown.merge(clicks, on=["request_id", "item"], how="left").fillna({"clicked": 0})
    return shown[shown["window"] == "reference"], shown[shown["window"] == "current"]


@pytest.fixture
def shifted(served: Services) -> tuple[EventLog, pd.DataFrame, pd.DataFrame]:
    log = scripted(seed=7, shift=0.6)
    frames = _frames(log)
    log.write(served.engine)
    return log, *frames


def test_a_ranker_drifting_to_popular_items_is_flagged(
    shifted: tuple[EventLog, pd.DataFrame, pd.DataFrame], client: TestClient
) -> None:
    body = _monitor(client)
    assert body["reference_basis"] == "previous"
    assert body["reference_start"] == T0.isoformat()
    (version,) = body["versions"]
    assert version["version"] == "recs/1"
    assert version["item_drift"]["drifted"] and version["item_drift"]["p_value"] < 1e-3
    assert version["item_drift"]["method"] == "chi2_rao_scott"
    reference = body["reference"]
    assert version["distinct_items"] < reference["distinct_items"]
    assert version["coverage"] < version["reference_coverage_at_same_impressions"]
    assert version["gini"] > reference["gini"]
    # More popular items: a lower (better) mean popularity rank.
    assert version["mean_popularity_rank"] < reference["mean_popularity_rank"] - 5


def test_an_unchanged_ranker_is_not_flagged(served: Services, client: TestClient) -> None:
    scripted(seed=8).write(served.engine)
    (version,) = _monitor(client)["versions"]
    reference = _monitor(client)["reference"]
    assert not version["item_drift"]["drifted"]
    assert version["item_drift"]["js_distance"] < 0.1
    rarefied = version["reference_coverage_at_same_impressions"]
    assert abs(version["coverage"] - rarefied) < 0.1
    assert abs(version["mean_popularity_rank"] - reference["mean_popularity_rank"]) < 5


def _gini(values: np.ndarray) -> float:
    # Mean absolute difference over twice the mean: another formula than the server's.
    diffs = np.abs(values[:, None] - values[None, :]).sum()
    return float(diffs / (2 * len(values) ** 2 * values.mean()))


def test_numbers_agree_with_pandas(
    shifted: tuple[EventLog, pd.DataFrame, pd.DataFrame], client: TestClient
) -> None:
    _, ref, cur = shifted
    body = _monitor(client, buckets=4)
    (version,) = body["versions"]
    catalogue = sorted(set(ref["item"]) | set(cur["item"]))
    assert body["catalogue"]["size"] == len(catalogue)
    assert version["impressions"] == len(cur) and body["reference"]["impressions"] == len(ref)
    assert version["units"] == cur["unit"].nunique()
    assert version["requests"] == cur["request_id"].nunique()
    assert version["coverage"] == pytest.approx(cur["item"].nunique() / len(catalogue))
    exposure = cur["item"].value_counts().reindex(catalogue, fill_value=0).to_numpy(float)
    assert version["gini"] == pytest.approx(_gini(exposure))
    top = cur["item"].value_counts()
    assert version["top_items"][0]["impressions"] == top.iloc[0]
    # Popularity: the reference window's clicked impressions, ranked (ties averaged).
    assert body["popularity_basis"] == "clicks"
    clicks = ref.groupby("item")["clicked"].sum().reindex(catalogue, fill_value=0)
    rank = clicks.rank(ascending=False, method="average")
    assert version["mean_popularity_rank"] == pytest.approx(cur["item"].map(rank).mean())
    # Click-through overall and at the top slot, with the delta-method interval over units.
    ctr = version["click_through"]
    assert ctr["ctr"] == pytest.approx(cur["clicked"].mean())
    per_unit = cur.groupby("unit")[["clicked"]].agg(["sum", "count"])
    x, y = per_unit[("clicked", "sum")], per_unit[("clicked", "count")]
    r = x.sum() / y.sum()
    variance = ((x - r * y) ** 2).sum() / (len(x) - 1) / y.mean() ** 2 / len(x)
    assert ctr["ci"][1] - ctr["ctr"] == pytest.approx(1.959964 * np.sqrt(variance), rel=1e-6)
    top_slot = next(p for p in ctr["by_position"] if p["positions"] == "1")
    assert top_slot["ctr"] == pytest.approx(cur.loc[cur["position"] == 1, "clicked"].mean())
    assert sum(b["impressions"] for b in version["buckets"]) == len(cur)
    # The uncorrected statistic is Pearson's chi-square on the bucketed counts.
    drift = version["item_drift"]
    named = [b["item"] for b in drift["buckets"] if b["item"] != "(other)"]
    counts = [[int((frame["item"] == item).sum()) for item in named] for frame in (ref, cur)]
    table = [[*row, len(f) - sum(row)] for row, f in zip(counts, (ref, cur), strict=True)]
    chi2 = stats.chi2_contingency(np.array(table), correction=False).statistic
    assert drift["statistic"] * drift["design_effect"] == pytest.approx(chi2)


def test_bad_windows_and_other_kinds_are_clear(served: Services, client: TestClient) -> None:
    response = client.get("/v1/endpoints/recs/ranking-monitor", params={"window": "soon"})
    assert response.status_code == 422 and "'window'" in response.json()["error"]["message"]
    response = client.get(
        "/v1/endpoints/recs/ranking-monitor",
        params={"reference_start": T0.isoformat(), **WINDOW},
    )
    assert response.status_code == 422 and "'reference_end'" in response.text
    response = client.get("/v1/endpoints/recs/ranking-monitor", params={"buckets": 0})
    assert response.status_code == 422 and "buckets" in response.text
    response = client.get("/v1/endpoints/churn/ranking-monitor")
    assert response.status_code == 422 and "serves a classifier" in response.text
    assert client.get("/v1/endpoints/nope/ranking-monitor").status_code == 404
    empty = _monitor(client)
    assert empty["versions"] == [] and "showed no ranked item" in empty["message"]


def test_a_window_retention_cut_into_is_refused(served: Services, client: TestClient) -> None:
    scripted(seed=9, units=20).write(served.engine)
    with write(served.engine) as conn:
        conn.execute(predictions.update().values(folded=True))
    # Everything before T0 + 30 min goes: the reference hour is cut into.
    clock = FixedClock(T0 + 2 * HOUR)
    Retention(served.engine, clock, {"predictions": timedelta(minutes=90)}).run()
    response = client.get("/v1/endpoints/recs/ranking-monitor", params=WINDOW)
    assert response.status_code == 409
    assert "Retention deleted predictions older than" in response.json()["error"]["message"]
    later = {**WINDOW, "start": (T0 + 1.5 * HOUR).isoformat()}
    body = _monitor(client, **later)
    assert body["reference_start"] == (T0 + HOUR).isoformat()


def test_context_inputs_drift_against_the_rankers_reference(
    served: Services, client: TestClient
) -> None:
    rng = np.random.default_rng(4)

    def contexts(n: int, mobile: float) -> pd.DataFrame:
        device = np.where(rng.uniform(size=n) < mobile, "mobile", "desktop")
        return pd.DataFrame({"device": device, "hour": rng.integers(0, 24, size=n)})

    served.references.compute("recs/1", contexts(2000, 0.3), actor="tests")
    log = scripted(seed=12, units=60)
    current = contexts(len(log.predictions), 0.8)  # the current hour's users moved to mobile
    for prediction, context in zip(log.predictions, current.to_dict("records"), strict=True):
        plain = {"device": str(context["device"]), "hour": int(context["hour"])}
        prediction["inputs"] = {"context": plain, "k": 10}
    rows = sum(1 for p in log.predictions if p["at"] >= T0 + HOUR)
    log.write(served.engine)
    (version,) = _monitor(client)["versions"]
    context = version["context"]
    assert context["available"] and context["message"] == ""
    assert context["drift"]["drifted_columns"] == ["device"]
    assert context["drift"]["rows"] == rows
