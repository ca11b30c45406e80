"""The per-arm SQL aggregates agree with the same numbers computed row by row in Python."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import numpy as np
import pytest

from champion.db import read
from champion.events import sketch
from champion.events.arms import (
    RATIOS,
    ArmWindow,
    arm_sums,
    clicked_positions,
    label_rows,
    propensity_sums,
    ranked_requests,
)
from champion.services import Services
from tests.fixtures.events import T0, EventLog


def _random_log(seed: int) -> tuple[EventLog, dict[tuple[str, str], dict[str, float]]]:
    """A ranking endpoint with two arms; returns the log and each unit's totals."""
    rng = np.random.default_rng(seed)
    log = EventLog()
    per_unit: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for n in range(40):
        arm = "champion" if n % 3 else "challenger"
        unit = f"u{n}"
        for visit in range(int(rng.integers(1, 5))):
            shown = [f"i{j}" for j in rng.permutation(8)[:4]]
            failed = bool(rng.random() < 0.1)
            latency = float(rng.gamma(2.0, 3.0))
            request = log.predict(
                arm,
                unit,
                latency_ms=latency,
                failed=failed,
                items=shown,
                at=T0 + timedelta(minutes=visit),
            )
            totals = per_unit[(arm, unit)]
            totals["requests"] += 1
            totals["failed"] += failed
            totals["latency"] += latency
            totals["shown"] += len(shown)
            clicked = [item for item in shown if rng.random() < 0.3]
            for item in clicked:
                log.react(request, "click", item=item, after=timedelta(seconds=5))
            stray = bool(rng.random() < 0.2)
            if stray:  # a click on an item the list did not show: a click, not a clicked item
                log.react(request, "click", item="never-shown", after=timedelta(seconds=5))
            bought = bool(clicked) and bool(rng.random() < 0.5)
            if bought:
                log.react(
                    request, "purchase", item=clicked[0], value=2.5, after=timedelta(seconds=9)
                )
            totals["clicked_items"] += len(clicked)
            totals["clicked"] += bool(clicked) or stray
            totals["purchased"] += bought
            totals["value"] += 2.5 * bought
            totals["with_feedback"] += bool(clicked) or stray
    return log, per_unit


@pytest.mark.parametrize("seed", [0, 1])
def test_arm_sums_match_python(services: Services, seed: int) -> None:
    log, per_unit = _random_log(seed)
    log.write(services.engine)
    with read(services.engine) as conn:
        found = arm_sums(conn, ArmWindow("recs", ["champion", "challenger"]))
    assert set(found) == {"champion", "challenger"}
    for arm, sums in found.items():
        units = {u: t for (a, u), t in per_unit.items() if a == arm}
        assert sums.units == len(units)
        for metric, (x_name, y_name) in RATIOS.items():
            x = np.array([t[x_name] for t in units.values()], dtype=float)
            y = np.array([1.0 if y_name == "one" else t[y_name] for t in units.values()])
            n, sx, sy, sxx, syy, sxy = sums.sums[metric]
            assert n == len(units)
            expected = (x.sum(), y.sum(), (x * x).sum(), (y * y).sum(), (x * y).sum())
            assert (sx, sy, sxx, syy, sxy) == pytest.approx(expected), metric
        assert sums.totals["requests"] == sum(t["requests"] for t in units.values())
        assert sums.feedback_delay_seconds["p50"] == pytest.approx(5.0, rel=sketch.ACCURACY)


def test_latency_percentiles_and_delay_are_nearest_rank_within_the_sketch_accuracy(
    services: Services,
) -> None:
    log = EventLog(endpoint="churn")
    for n, latency in enumerate([5.0, 1.0, 3.0, 2.0, 4.0]):
        request = log.predict("champion", f"u{n}", latency_ms=latency)
        log.react(request, "label", label=1, after=timedelta(seconds=10 * (n + 1)))
    log.predict("champion", "u9", latency_ms=100.0)
    log.write(services.engine)
    with read(services.engine) as conn:
        sums = arm_sums(conn, ArmWindow("churn", ["champion"]))["champion"]
    accuracy = sketch.ACCURACY
    assert sums.latency_ms == pytest.approx({"p50": 3.0, "p95": 100.0, "p99": 100.0}, rel=accuracy)
    assert sums.feedback_delay_seconds["mean"] == pytest.approx(30.0, abs=0.01)
    assert sums.feedback_delay_seconds["p50"] == pytest.approx(30.0, rel=accuracy)
    assert sums.totals["with_feedback"] == 5 and sums.totals["requests"] == 6


def test_windows_filter_by_time_configuration_and_arm(services: Services) -> None:
    log = EventLog()
    log.predict("champion", "a", at=T0)
    log.predict("champion", "b", at=T0 + timedelta(hours=2), config_version=2)
    log.predict("challenger", "c", at=T0 + timedelta(hours=2), config_version=2)
    log.predict("other", "d", at=T0 + timedelta(hours=2), config_version=2)
    log.write(services.engine)
    with read(services.engine) as conn:
        since = arm_sums(conn, ArmWindow("recs", ["champion", "challenger"], since_config=2))
        late = arm_sums(conn, ArmWindow("recs", ["champion"], start=T0 + timedelta(hours=1)))
        early = arm_sums(conn, ArmWindow("recs", ["champion"], end=T0 + timedelta(hours=1)))
    assert {arm: s.units for arm, s in since.items()} == {"champion": 1, "challenger": 1}
    assert late["champion"].units == early["champion"].units == 1


def test_label_rows_ranked_requests_and_clicked_positions(services: Services) -> None:
    log = EventLog()
    scored = log.predict("champion", "u1", outputs=[{"score": 0.8}])
    log.react(scored, "label", label=1)
    log.predict("champion", "u1", outputs=[{"score": 0.1}])  # no label yet
    ranked = log.predict("challenger", "u2", items=["a", "b", "c"])
    log.react(ranked, "click", item="c")
    log.react(ranked, "click", item="a")
    log.predict("challenger", "u2", items=["a", "b", "c"])
    log.write(services.engine)
    window = ArmWindow("recs", ["champion", "challenger"])
    with read(services.engine) as conn:
        labels = label_rows(conn, window)
        counts = ranked_requests(conn, window)
        clicks = clicked_positions(conn, window)
    assert [(r["unit"], r["outputs"], r["label"]) for r in labels] == [("u1", [{"score": 0.8}], 1)]
    assert counts == {("challenger", "u2"): 2}
    assert [(arm, unit, position) for arm, unit, _, position in clicks] == [
        ("challenger", "u2", 1),
        ("challenger", "u2", 3),
    ]


def test_propensity_sums(services: Services) -> None:
    log = EventLog(endpoint="churn")
    rewarded = log.predict("a", "u1", probability=0.25)
    log.react(rewarded, "click")
    log.predict("a", "u2", probability=0.5)
    log.predict("b", "u3", probability=0.5)
    log.predict("b", "u4")  # no probability: left out
    log.write(services.engine)
    with read(services.engine) as conn:
        total, sums = propensity_sums(conn, ArmWindow("churn", ["a", "b"]), "click")
    assert total == 3
    assert sums["a"] == pytest.approx((4.0, 16.0, 6.0, 20.0))
    assert sums["b"] == pytest.approx((0.0, 0.0, 2.0, 4.0))
