"""Ingested rows against the champion's reference: impossible values quarantined, drift counted."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from champion import audit
from champion.db import read
from champion.services import Services
from tests.automation.trainers import customers, spec, write_batch


def _batch() -> pd.DataFrame:
    frame = customers(40, seed=5).astype(object)
    frame.loc[0, "charges"] = 7000.0  # a lost decimal point: far beyond the reference
    frame.loc[1, "tenure"] = 80  # a little past the longest reference tenure (71)
    frame.loc[2, "plan"] = "weekly"  # a plan the model never saw
    frame.loc[3, "tenure"] = "soon"  # not an integer: the schema screening refuses it
    return frame


def _served_first(services: Services, incoming: Path, **changes: object) -> None:
    write_batch(incoming, "initial.csv", customers(200, seed=1))
    services.pipelines.apply(spec(incoming, **changes), actor="alice")
    run = services.pipelines.run("churn-retrain", reason="", actor="alice")
    assert run.status == "succeeded", run.error
    initial = services.ingestion.files("customers")[0]
    assert initial.quality is not None and initial.quality["reference"] is None
    assert "churn@champion does not exist yet" in initial.quality["skipped"]


def test_impossible_values_are_quarantined_and_drift_is_counted_and_used(
    services: Services, tmp_path: Path
) -> None:
    incoming = tmp_path / "incoming"
    _served_first(services, incoming)
    write_batch(incoming, "week-2.csv", _batch())

    [record] = services.ingestion.ingest(services.pipelines.source("customers"), actor="bob")

    assert (record.status, record.accepted_rows, record.quarantined_rows) == ("partial", 38, 2)
    quarantined = {q.row: q.reasons for q in services.ingestion.quarantine(record.id)}
    assert quarantined[3] == ["tenure: 'soon' is not an integer"]
    [far] = quarantined[0]
    assert far.startswith("charges: 7000.0 is above the reference maximum ")
    assert far.endswith(", more than 1 times the reference range beyond it")
    assert record.quality is not None and record.quality["reference"] == "churn/1"
    assert record.quality["quarantined"] == {"range": {"charges": 1}}
    tenure = services.references.get(services.registry.resolve("churn/1").key).profile.column(
        "tenure"
    )
    assert tenure.minimum is not None and tenure.maximum is not None
    numbers = [t for t in _batch()["tenure"] if isinstance(t, int)]
    outside = sum(not tenure.minimum <= t <= tenure.maximum for t in numbers)
    assert outside >= 1  # row 1 at least
    assert record.quality["counted"] == {"range": {"tenure": outside}, "category": {"plan": 1}}
    assert record.reason == (
        f"2 of 40 rows failed the checks; counted and used: {outside} value"
        f"{'s' if outside > 1 else ''} outside the reference range (tenure), "
        "1 unseen category (plan)"
    )
    used = services.ingestion.read([record])
    assert {80, 71} & set(used["tenure"]) and "weekly" in set(used["plan"])
    assert 7000.0 not in set(used["charges"])
    with read(services.engine) as conn:
        logged = audit.list_audit(conn, action="data.ingest", limit=1)[0]
    assert logged.details["model"] == "churn" and logged.details["quality"] == record.quality
    assert logged.reason == record.reason


def test_a_pipeline_chooses_which_checks_quarantine(services: Services, tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    strict = {"quarantine": ["type", "range", "category"], "range_margin": 0.0}
    _served_first(services, incoming, quality=strict)
    write_batch(incoming, "week-2.csv", _batch())

    [record] = services.ingestion.ingest(services.pipelines.source("customers"), actor="bob")

    quarantined = {q.row: q.reasons for q in services.ingestion.quarantine(record.id)}
    assert {0, 1, 2, 3} <= set(quarantined)  # with any other tenure beyond the reference
    assert record.accepted_rows == 40 - len(quarantined)
    assert quarantined[2] == [
        "plan: 'weekly' was never seen in the reference (known: 'monthly', 'two_year', 'yearly')"
    ]
    assert record.quality is not None and record.quality["counted"] == {}
