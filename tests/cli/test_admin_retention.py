"""champion admin retention: a dry run counts, a run deletes (and then no rebuild of the
aggregates may forget what it deleted), bad settings exit 2."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from champion.db import read
from champion.events.rollup_tables import MERGED, rollups
from champion.events.rollups import fold
from champion.events.tables import feedback, predictions
from champion.services import Services
from tests.cli.conftest import CommandLine


def _event_log(services: Services) -> None:
    """Three requests ten days old (two folded) and a folded click on a folded one."""
    old = datetime.now(UTC) - timedelta(days=10)
    rows = [
        {
            "request_id": f"r{n}",
            "endpoint": "churn",
            "config_version": 1,
            "unit": f"u{n}",
            "unit_randomised": True,
            "arm": "champion",
            "model": "churn",
            "version": 1,
            "kind": "predict",
            "inputs": [{}],
            "outputs": [{"score": 0.5}],
            "latency_ms": 1.0,
            "at": old,
            "folded": n < 2,  # as the fold pass leaves them
        }
        for n in range(3)
    ]
    click = {
        "event_id": "click",
        "request_id": "r0",
        "kind": "click",
        "at": old,
        "received_at": old,
        "folded": True,
    }
    with services.engine.begin() as conn:
        conn.execute(predictions.insert(), rows)
        conn.execute(feedback.insert(), [click])


def _kept(services: Services) -> tuple[int, int]:
    with read(services.engine) as conn:
        return tuple(  # type: ignore[return-value]  # two counts
            int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
            for t in (predictions, feedback)
        )


def test_a_dry_run_counts_and_a_run_deletes(
    services: Services, champion: CommandLine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _event_log(services)
    monkeypatch.setenv("CHAMPION_KEEP_PREDICTIONS", "7d")
    monkeypatch.setenv("CHAMPION_KEEP_FEEDBACK", "7d")

    dry = champion("admin", "retention", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "Retention dry run" in dry.text
    assert "│ predictions │ 7d │" in dry.text and "│ feedback │ 7d │" in dry.text
    assert [line.split("│")[4].strip() for line in dry.stdout.splitlines() if "│ 7d" in line] == [
        "2",  # predictions
        "0",  # prediction_items
        "0",  # shadow_predictions
        "1",  # feedback: its request goes in the same pass
    ]
    assert _kept(services) == (3, 1)

    run = champion("admin", "retention")
    assert run.returncode == 0, run.stderr
    assert "Retention: deleted" in run.text
    assert _kept(services) == (1, 0)

    # The rollups now hold the only copy of the deleted rows' history: no rebuild from raw.
    rebuild = champion("admin", "rebuild-aggregates")
    assert rebuild.returncode == 2
    assert "Retention has deleted raw events since" in rebuild.stderr
    assert _kept(services) == (1, 0)
    # The totals kept beside the rollups are recomputed from them, raw rows or not.
    totals = champion("admin", "rebuild-aggregates", "--from-rollups")
    assert totals.returncode == 0, totals.stderr
    assert "Rebuilt the unit totals and moments from" in totals.text


def test_without_a_horizon_retention_is_off(services: Services, champion: CommandLine) -> None:
    _event_log(services)
    result = champion("admin", "retention")
    assert result.returncode == 0 and "Retention is off" in result.text
    assert _kept(services) == (3, 1)


def test_a_bad_horizon_exits_2_naming_the_setting(
    services: Services, champion: CommandLine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAMPION_KEEP_FEEDBACK", "a week")
    result = champion("admin", "retention", "--dry-run")
    assert result.returncode == 2
    assert "CHAMPION_KEEP_FEEDBACK" in result.stderr and "'a week'" in result.stderr
    assert "Traceback" not in result.stderr


def test_unit_rollups_past_their_horizon_are_compacted_by_the_same_command(
    services: Services, champion: CommandLine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _event_log(services)
    with services.engine.begin() as conn:
        conn.execute(sa.update(predictions).values(folded=False))
        conn.execute(sa.update(feedback).values(folded=False))
    fold(services.engine, datetime.now(UTC))
    monkeypatch.setenv("CHAMPION_KEEP_UNIT_ROLLUPS", "7d")

    dry = champion("admin", "retention", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "Retention dry run" not in dry.text  # raw events are kept forever
    assert "Compaction dry run" in dry.text and "│ rollups │ 7d │" in dry.text
    assert "1 segments compacted into per-arm totals" in dry.text
    assert _units(services) == ["u0", "u1", "u2"]

    run = champion("admin", "retention")
    assert run.returncode == 0, run.stderr
    assert "Compaction: done" in run.text
    assert _units(services) == [MERGED]
    assert _kept(services) == (3, 1)  # the raw rows are another horizon's business


def _units(services: Services) -> list[str]:
    with read(services.engine) as conn:
        return sorted(conn.execute(sa.select(rollups.c.unit)).scalars())
