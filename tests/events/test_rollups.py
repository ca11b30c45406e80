"""Folding is invisible: every report reads the same from rollups as from the raw rows.

A Hypothesis property draws event streams (predictions over three days and two
configurations, units that come back, rankings and interleaved lists, feedback in any order
and before or after its prediction is folded, duplicate event ids, labels, purchases with
values, clicks on items never shown), runs fold passes at random points, and compares every
report an experiment uses with main's SQL over the raw rows (``tests/fixtures/raw_reports``);
then folds everything, deletes the folded raw rows and compares again; then compacts the
segments before the experiment started and checks that every per-arm answer is unchanged, that
every unit-level answer over a compacted window raises ``Compacted`` and every one after it
is unchanged, that the compacted segments hold one row per key, and that the kept totals
left are what a rebuild from the compacted rollups finds. Derandomized (the same examples
every run); CHAMPION_ROLLUP_EXAMPLES sets how many (12; a few hundred for a deeper search).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from champion.clock import FixedClock
from champion.db import read, write
from champion.db.dialects import insert_ignoring_duplicates
from champion.drift.concept import labelled_errors
from champion.errors import Compacted
from champion.evaluation.tables import experiments
from champion.events import sketch
from champion.events.arms import (
    ArmWindow,
    arm_counts,
    arm_rewards,
    arm_sums,
    clicked_positions,
    label_rows,
    propensity_sums,
    ranked_requests,
    read_ahead,
)
from champion.events.compacted import compacted_windows
from champion.events.compaction import Compaction
from champion.events.covariates import covariate_sums
from champion.events.interleaving import interleaved_units
from champion.events.partitions import make_days
from champion.events.rollup_tables import (
    MERGED,
    compacted_segments,
    interleaving_rollups,
    labelled_predictions,
    ranked_clicks,
    reward_rollups,
    rollup_sketches,
    rollups,
    slot_rollups,
    slot_sketches,
)
from champion.events.rollups import backlog, fold
from champion.events.tables import feedback, prediction_items, predictions
from champion.events.total_tables import KEPT
from champion.events.totals_rebuild import rebuild_totals
from champion.events.version_stats import version_stats
from champion.services import Services
from tests.fixtures import raw_reports as raw
from tests.fixtures.events import T0

E = "recs"
ARMS = ("champion", "challenger", "interleave")
DAY = timedelta(days=1)
STARTED = T0 + timedelta(hours=30, minutes=17)  # an experiment: two boundaries off midnight
FINISHED = T0 + timedelta(hours=60, seconds=3)
ITEMS = ("a", "b", "c", "d", "e")
KINDS = ("click", "purchase", "label", "add_to_cart")
WINDOWS = (
    ArmWindow(E, ARMS),
    ArmWindow(E, ARMS, 1, STARTED, FINISHED),
    ArmWindow(E, ("champion", "challenger"), since_config=2),
    ArmWindow(E, ARMS, None, T0 + DAY, T0 + 2 * DAY, until_config=1),
    ArmWindow(E, ("interleave", "challenger"), None, STARTED),
    # One configuration within the experiment, and after it: each arm's units in one cell,
    # read from the kept moments (``total_tables``).
    ArmWindow(E, ARMS, 1, STARTED, FINISHED, until_config=1),
    ArmWindow(E, ARMS, 2, FINISHED, until_config=2),
)
SPANS = ((None, None), (STARTED, FINISHED), (T0 + DAY, T0 + 2 * DAY), (T0, STARTED))


def _decimal(low: float, high: float) -> st.SearchStrategy[float]:
    # Three decimals: no subnormal value, whose square underflows in main's SQL.
    return st.floats(low, high).map(lambda x: round(x, 3))


def _request(draw: st.DrawFn, n: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    arm = draw(st.sampled_from(ARMS))
    at = T0 + timedelta(seconds=draw(st.integers(0, 3 * 86400 - 1)), microseconds=n)
    ranked = draw(st.booleans())
    version = 2 if arm == "challenger" else 1
    score = draw(_decimal(0.01, 0.99))
    request = {
        "request_id": f"r{n}",
        "endpoint": E,
        "config_version": draw(st.integers(1, 2)),
        "unit": draw(st.sampled_from(("u0", "u1", "u2", "u3", "u4"))),
        "unit_randomised": False,
        "arm": arm,
        "bucket": 0,
        "model": "m",
        "version": version,
        "kind": "rank" if ranked else "predict",
        "inputs": {},
        "outputs": []
        if ranked
        else [{"label": str(round(score)), "probabilities": {"0": 1 - score, "1": score}}],
        "latency_ms": draw(_decimal(0.0, 500.0)),
        "at": at,
        "fallback_from": draw(st.sampled_from((None, "m/2"))),
        "probability": draw(st.one_of(st.none(), _decimal(0.05, 1.0))),
    }
    shown = draw(st.lists(st.sampled_from(ITEMS), unique=True, max_size=4)) if ranked else []
    items = [
        {
            "request_id": request["request_id"],
            "position": position,
            "item": item,
            "model": "m",
            "version": draw(st.sampled_from((1, 2))) if arm == "interleave" else version,
            "at": at,
        }
        for position, item in enumerate(shown, start=1)
    ]
    return request, items


@st.composite
def streams(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """Operations in order: ("predict", (row, items)), ("feedback", row), ("fold", now)."""
    requests = [_request(draw, n) for n in range(draw(st.integers(1, 14)))]
    events: list[dict[str, Any]] = []
    for n in range(draw(st.integers(0, 24))):
        request, _ = requests[draw(st.integers(0, len(requests) - 1))]
        at = request["at"] + timedelta(seconds=draw(st.integers(-5, 2 * 86400)))
        duplicate = bool(events) and draw(st.booleans())
        events.append(
            {
                "event_id": events[-1]["event_id"] if duplicate else f"e{n:03d}",
                "request_id": request["request_id"],
                "item": draw(st.one_of(st.none(), st.sampled_from((*ITEMS, "never-shown")))),
                "kind": draw(st.sampled_from(KINDS)),
                "value": draw(st.one_of(st.none(), _decimal(0.0, 10.0))),
                "label": draw(st.sampled_from((0, 1))),
                "at": at,
                "received_at": at,
            }
        )
    operations: list[tuple[str, Any]] = [("predict", r) for r in requests]
    operations += [("feedback", e) for e in events]
    operations = draw(st.permutations(operations))
    for _ in range(draw(st.integers(0, 4))):
        now = T0 + timedelta(seconds=draw(st.integers(0, 4 * 86400)))
        operations.insert(draw(st.integers(0, len(operations))), ("fold", now))
    return operations


STREAMS = settings(
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
"""How the stream properties run: the same examples every run, with the services fixture."""


def _apply(services: Services, operations: list[tuple[str, Any]]) -> None:
    engine = services.engine
    for kind, payload in operations:
        if kind == "fold":
            fold(engine, payload)
            continue
        with write(engine) as conn:
            if kind == "predict":
                request, items = payload
                conn.execute(predictions.insert(), [request])
                if items:
                    conn.execute(prediction_items.insert(), items)
            else:
                insert_ignoring_duplicates(conn, feedback, [payload], "event_id")


def _quantile(found: float | None, exact: float | None, path: str) -> None:
    """Within the sketch's accuracy, plus a millisecond: main's SQLite delays go through
    julianday(), which is off by up to ~0.1 ms (a value on a bucket's edge is off by the
    whole accuracy, so the two errors add up)."""
    if exact is None:
        assert found is None, path
        return
    assert found is not None, path
    assert abs(found - exact) <= sketch.ACCURACY * abs(exact) + 1e-3, (path, found, exact)


def _ends(window: ArmWindow) -> list[datetime | None]:
    """Boundaries inside ``window``, then its end: a timeline's points."""
    inside = [
        t
        for t in sorted((T0 + DAY, STARTED, T0 + 2 * DAY, FINISHED, T0 + 3 * DAY))
        if window.start is not None and window.start < t and (window.end is None or t < window.end)
    ]
    return [*inside, window.end]


def _reports(conn: sa.Connection) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for n, window in enumerate(WINDOWS):
        found[f"arm_sums{n}"] = _sums_of(arm_sums(conn, window))
        if window.start is not None:
            # A timeline's sums: one pass for every end, then read as each window's.
            read_ahead(conn, window, _ends(window))
            for k, end in enumerate(_ends(window)):
                found[f"arm_sums{n}_at{k}"] = _sums_of(arm_sums(conn, replace(window, end=end)))
        found[f"arm_counts{n}"] = arm_counts(conn, window)
        found[f"label_rows{n}"] = label_rows(conn, window)
        found[f"ranked_requests{n}"] = ranked_requests(conn, window)
        found[f"clicked_positions{n}"] = clicked_positions(conn, window)
        found[f"propensity{n}"] = propensity_sums(conn, window, "click")
        if window.start is not None:
            for metric in ("ctr", "value_per_unit", "click_rate"):
                found[f"cuped{n}{metric}"] = covariate_sums(conn, window, metric, T0, window.start)
    for n, (start, end) in enumerate(SPANS):
        found[f"version_stats{n}"] = [s.__dict__ for s in version_stats(conn, E, start, end)]
        found[f"interleaving{n}"] = interleaved_units(conn, E, start, end)
    for config in (1, 2):
        for kind in KINDS:
            found[f"rewards{config}{kind}"] = arm_rewards(conn, E, config, kind)
    return found


def _oracle(conn: sa.Connection) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for n, window in enumerate(WINDOWS):
        found[f"arm_sums{n}"] = raw.arm_sums(conn, window)
        if window.start is not None:
            for k, end in enumerate(_ends(window)):
                found[f"arm_sums{n}_at{k}"] = raw.arm_sums(conn, replace(window, end=end))
        found[f"arm_counts{n}"] = raw.arm_counts(conn, window)
        found[f"label_rows{n}"] = raw.label_rows(conn, window)
        found[f"ranked_requests{n}"] = raw.ranked_requests(conn, window)
        found[f"clicked_positions{n}"] = raw.clicked_positions(conn, window)
        found[f"propensity{n}"] = raw.propensity_sums(conn, window, "click")
        if window.start is not None:
            for metric in ("ctr", "value_per_unit", "click_rate"):
                found[f"cuped{n}{metric}"] = raw.covariate_sums(
                    conn, window, metric, T0, window.start
                )
    for n, (start, end) in enumerate(SPANS):
        found[f"version_stats{n}"] = raw.version_stats(conn, E, start, end)
        found[f"interleaving{n}"] = raw.interleaved_units(conn, E, start, end)
    for config in (1, 2):
        for kind in KINDS:
            found[f"rewards{config}{kind}"] = raw.arm_rewards(conn, E, config, kind)
    return found


def _same(found: dict[str, Any], expected: dict[str, Any]) -> None:
    assert set(found) == set(expected)
    for name, value in expected.items():
        mine = found[name]
        if name.startswith("arm_sums"):
            assert set(mine) == set(value), name
            for arm, sums in value.items():
                for q, exact in sums["latency_ms"].items():
                    _quantile(mine[arm]["latency_ms"][q], exact, f"{name}.{arm}.latency.{q}")
                delay, exact_delay = (
                    mine[arm]["feedback_delay_seconds"],
                    sums["feedback_delay_seconds"],
                )
                _quantile(delay["p50"], exact_delay["p50"], f"{name}.{arm}.delay.p50")
                if exact_delay["mean"] is None:
                    assert delay["mean"] is None
                else:
                    assert delay["mean"] == pytest.approx(exact_delay["mean"], abs=1e-3)
                rest = {
                    k: v
                    for k, v in sums.items()
                    if k not in ("latency_ms", "feedback_delay_seconds")
                }
                raw.close({k: mine[arm][k] for k in rest}, rest, f"{name}.{arm}")
        elif name.startswith("version_stats"):
            assert len(mine) == len(value), name
            for a, b in zip(mine, value, strict=True):
                for q in ("latency_p50_ms", "latency_p99_ms"):
                    _quantile(a[q], b[q], f"{name}.{q}")
                percentiles = ("latency_p50_ms", "latency_p99_ms")
                raw.close(
                    {k: v for k, v in a.items() if k not in percentiles},
                    {k: v for k, v in b.items() if k not in percentiles},
                    name,
                )
        else:
            raw.close(mine, value, name)


def _reset(services: Services) -> None:
    tables = (
        prediction_items, predictions, feedback, experiments, rollups, reward_rollups,
        rollup_sketches, interleaving_rollups, labelled_predictions, ranked_clicks,
        compacted_segments, slot_rollups, slot_sketches, *KEPT,
    )  # fmt: skip
    if services.engine.dialect.name == "postgresql":
        # Requests span four days from T0: the first three in day partitions, the rest in the
        # default one.
        make_days(services.engine, T0.date(), ahead=2)
    with write(services.engine) as conn:
        for table in tables:
            conn.execute(table.delete())
        conn.execute(
            experiments.insert(),
            [
                {
                    "endpoint": E,
                    "design": {},
                    "status": "promoted",
                    "since_config": 1,
                    "started_at": STARTED,
                    "step_started_at": STARTED,
                    "finished_at": FINISHED,
                    "revision": 1,
                    "created_by": "test",
                    "updated_at": FINISHED,
                    "updated_by": "test",
                }
            ],
        )


_READERS: dict[str, Callable[[sa.Connection, ArmWindow], Any]] = {
    "arm_sums": lambda conn, window: _sums_of(arm_sums(conn, window)),
    "arm_counts": arm_counts,
    "label_rows": label_rows,
    "ranked_requests": ranked_requests,
    "clicked_positions": clicked_positions,
}
"""The reports that need each unit's own numbers (or the label and click rows)."""
PER_UNIT = tuple(_READERS)


def _compacted(conn: sa.Connection) -> tuple[list[bool], list[bool]]:
    """Per window and span, whether it reads a compacted segment (so a unit-level answer
    over it must refuse)."""
    windows = [bool(compacted_windows(conn, E, w.start, w.end)) for w in WINDOWS]
    return windows, [bool(compacted_windows(conn, E, a, b)) for a, b in SPANS]


def _compacted_reports(conn: sa.Connection, expected: dict[str, Any]) -> dict[str, Any]:
    """The reports after compaction: per-unit ones only where no window is compacted (and
    raising ``Compacted`` where one is); ``/stats`` units at least the exact ones."""
    windows_hit, spans_hit = _compacted(conn)
    found: dict[str, Any] = {}
    for n, window in enumerate(WINDOWS):
        for metric in ("ctr", "value_per_unit", "click_rate") if window.start else ():
            assert window.start is not None
            if spans_hit[3]:  # the pre-period [T0, start) reads compacted segments
                with pytest.raises(Compacted, match="CHAMPION_KEEP_UNIT_ROLLUPS"):
                    covariate_sums(conn, window, metric, T0, window.start)
            else:
                found[f"cuped{n}{metric}"] = covariate_sums(conn, window, metric, T0, window.start)
        for name, reader in _READERS.items():
            if windows_hit[n]:
                with pytest.raises(Compacted, match=f"endpoint {E!r} has per-arm totals only"):
                    reader(conn, window)
            else:
                found[f"{name}{n}"] = reader(conn, window)
        found[f"propensity{n}"] = propensity_sums(conn, window, "click")
    for n, (start, end) in enumerate(SPANS):
        stats = [s.__dict__ for s in version_stats(conn, E, start, end)]
        if spans_hit[n]:
            exact = expected[f"version_stats{n}"]
            assert all(s["units"] >= e["units"] for s, e in zip(stats, exact, strict=True))
            stats = [s | {"units": e["units"]} for s, e in zip(stats, exact, strict=True)]
            with pytest.raises(Compacted):
                interleaved_units(conn, E, start, end)
        else:
            found[f"interleaving{n}"] = interleaved_units(conn, E, start, end)
        found[f"version_stats{n}"] = stats
    for config in (1, 2):
        for kind in KINDS:
            found[f"rewards{config}{kind}"] = arm_rewards(conn, E, config, kind)
    return found


def _sums_of(sums: dict[str, Any]) -> dict[str, Any]:
    return {
        arm: {
            "units": s.units,
            "totals": s.totals,
            "sums": s.sums,
            "latency_ms": s.latency_ms,
            "feedback_delay_seconds": s.feedback_delay_seconds,
        }
        for arm, s in sums.items()
    }


def _totals(conn: sa.Connection) -> dict[str, Any]:
    """Every row of the kept totals, by table and primary key, zero rows left out (a rebuild
    creates no row for a segment whose sums cancel out)."""
    found: dict[str, Any] = {}
    for table in KEPT:
        keys = [c.name for c in table.primary_key.columns]
        rows = {}
        for row in conn.execute(sa.select(table)).mappings():
            values = {k: v for k, v in row.items() if k not in keys}
            if any(v for k, v in values.items() if k != "last_segment") or not values:
                rows[tuple(str(row[k]) for k in keys)] = values
        found[table.name] = rows
    return found


def _labels(services: Services) -> list[tuple[datetime, str]]:
    return [(x.at, x.request_id) for x in labelled_errors(services.engine, E, T0, T0 + 4 * DAY)]


@settings(STREAMS, max_examples=int(os.environ.get("CHAMPION_ROLLUP_EXAMPLES", "12")))
@given(operations=streams())
@pytest.mark.slow(seconds=7)
def test_reports_from_rollups_equal_reports_from_raw_rows(
    services: Services, operations: list[tuple[str, Any]]
) -> None:
    _reset(services)
    _apply(services, operations)
    with read(services.engine) as conn:
        expected = _oracle(conn)
        expected_labels = [
            (at, request)
            for at, request, outputs, label in raw.labelled_errors(conn, E, T0, T0 + 4 * DAY)
            for _ in range(len(outputs) if label is not None else 0)
        ]
        _same(_reports(conn), expected)
    assert _labels(services) == expected_labels

    fold(services.engine, T0 + 10 * DAY)
    with write(services.engine) as conn:
        assert backlog(conn) == 0
        # What the fold passes kept, batch by batch, is what a rebuild from the rollups finds.
        kept = _totals(conn)
        rebuild_totals(conn)
        raw.close(_totals(conn), kept, "totals")
        folded = sa.select(predictions.c.request_id).where(predictions.c.folded)
        conn.execute(prediction_items.delete().where(prediction_items.c.request_id.in_(folded)))
        conn.execute(feedback.delete().where(feedback.c.folded))
        conn.execute(predictions.delete().where(predictions.c.folded))
    with read(services.engine) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(predictions)).scalar_one() == 0
        _same(_reports(conn), expected)
    assert _labels(services) == expected_labels

    # Compact every segment before the experiment started (it finished: nothing holds them).
    Compaction(services.engine, FixedClock(STARTED + DAY), DAY, batch_size=3).run()
    with read(services.engine) as conn:
        windows, spans = _compacted(conn)
        kept = {
            name: value
            for name, value in expected.items()
            if "_at" not in name  # the timeline's cuts are checked before compaction
            and not (any(name.startswith(p) for p in PER_UNIT) and windows[int(name[-1])])
            and not (name.startswith("cuped") and spans[3])
            and not (name.startswith("interleaving") and spans[int(name[-1])])
        }
        _same(_compacted_reports(conn, expected), kept)
        r = rollups
        before = (r.c.endpoint == E) & (r.c.segment_start < STARTED)
        units = set(conn.execute(sa.select(r.c.unit).where(before)).scalars())
        assert units <= {MERGED}
        assert bool(units) == spans[3]  # every segment before the start was compacted
        keys = sa.select(r.c.config_version, r.c.arm, r.c.model, r.c.version, r.c.segment_start)
        assert len(conn.execute(keys.where(before)).all()) == len(
            conn.execute(keys.where(before).distinct()).all()
        )
    if spans[0]:
        with pytest.raises(Compacted, match="Performance from labels"):
            _labels(services)
    else:
        assert _labels(services) == expected_labels
    # Compaction dropped the kept totals of the compacted cells and the units merged away:
    # what is left is what a rebuild from the compacted rollups finds.
    with write(services.engine) as conn:
        kept = _totals(conn)
        rebuild_totals(conn)
        raw.close(_totals(conn), kept, "totals after compaction")
