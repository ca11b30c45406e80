from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import sqlalchemy as sa

from champion import audit
from champion.automation import Source
from champion.automation.tables import ingested_files
from champion.db import read
from champion.registry.manifest import FieldSpec
from champion.services import Services
from tests.automation.trainers import SCHEMA, customers, write_batch

FIELDS = tuple(FieldSpec.model_validate(f) for f in SCHEMA)


def _source(folder: Path) -> Source:
    return Source("customers", str(folder), FIELDS)


def test_corrupt_rows_are_quarantined_with_a_reason_each(
    services: Services, tmp_path: Path
) -> None:
    incoming = tmp_path / "incoming"
    good = customers(30, seed=1)
    write_batch(incoming, "a.csv", good)
    bad = customers(10, seed=2).astype(object)
    bad.loc[1, "tenure"] = "abc"
    bad.loc[4, "plan"] = ""
    bad.loc[4, "charges"] = "inf"
    bad.loc[7, "charges"] = ""  # nullable: accepted as missing
    write_batch(incoming, "b.csv", bad)

    created = services.ingestion.ingest(_source(incoming), actor="tests")

    assert [(f.status, f.rows, f.accepted_rows, f.quarantined_rows) for f in created] == [
        ("accepted", 30, 30, 0),
        ("partial", 10, 8, 2),
    ]
    quarantined = services.ingestion.quarantine(created[1].id)
    assert [(q.row, q.reasons) for q in quarantined] == [
        (1, ["tenure: 'abc' is not an integer"]),
        (4, ["charges: 'inf' is not a finite number",
             "plan: missing, but the schema says it is not nullable"]),
    ]  # fmt: skip
    assert quarantined[0].values["tenure"] == "abc"
    data = services.ingestion.read(created)
    assert len(data) == 38 and data["tenure"].dtype == "int64"
    assert data["charges"].isna().sum() == 1
    stored = pq.read_table(services.settings.home / str(created[1].dataset))
    assert stored.num_rows == 8 and stored.schema.field("plan").type == "string"
    with read(services.engine) as conn:
        actions = [r.action for r in audit.list_audit(conn, target="customers")]
    assert actions == ["data.ingest", "data.ingest"]


def test_the_same_file_dropped_twice_is_ingested_once(services: Services, tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    path = write_batch(incoming, "a.csv", customers(20, seed=3))
    assert len(services.ingestion.ingest(_source(incoming), actor="tests")) == 1
    shutil.copy(path, incoming / "a-again.csv")
    assert services.ingestion.ingest(_source(incoming), actor="tests") == []
    assert services.ingestion.pending(_source(incoming)) == []
    assert len(services.ingestion.files("customers")) == 1


def test_a_file_with_another_schema_is_quarantined_whole(
    services: Services, tmp_path: Path
) -> None:
    incoming = tmp_path / "incoming"
    renamed = customers(12, seed=4).rename(columns={"tenure": "Tenure"})
    write_batch(incoming, "odd.csv", renamed)
    (incoming / "broken.parquet").write_bytes(b"not parquet at all")
    (incoming / ".half-written.csv").write_text("tenure\n1\n")

    created = services.ingestion.ingest(_source(incoming), actor="tests")

    by_name = {Path(f.path).name: f for f in created}
    assert set(by_name) == {"odd.csv", "broken.parquet"}
    odd = by_name["odd.csv"]
    assert (odd.status, odd.rows, odd.accepted_rows, odd.quarantined_rows) == (
        "quarantined", 12, 0, 12)  # fmt: skip
    assert odd.reason == (
        "its columns differ from the schema: missing ['tenure']; unexpected ['Tenure']."
    )
    assert (services.settings.home / str(odd.dataset)).read_bytes() == (
        incoming / "odd.csv"
    ).read_bytes()
    assert by_name["broken.parquet"].status == "quarantined"
    assert by_name["broken.parquet"].reason.startswith("unreadable:")
    with read(services.engine) as conn:
        actions = [r.action for r in audit.list_audit(conn, target="customers")]
    assert actions == ["data.quarantine", "data.quarantine"]


def test_concurrent_ingestion_records_each_file_once(services: Services, tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    for i in range(4):
        write_batch(incoming, f"batch-{i}.csv", customers(15, seed=10 + i))
    results: list[int] = []

    def ingest() -> None:
        results.append(len(services.ingestion.ingest(_source(incoming), actor="tests")))

    threads = [threading.Thread(target=ingest) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 4
    with read(services.engine) as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(ingested_files)).scalar_one()
    assert count == 4


def test_dataframes_and_parquet_files_are_sources_too(services: Services, tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    customers(10, seed=5).to_parquet(incoming / "typed.parquet", index=False)
    frame = customers(8, seed=6)
    first = services.ingestion.ingest_frame(_source(incoming), frame, name="crm", actor="tests")
    assert first is not None and first.path == "dataframe:crm" and first.accepted_rows == 8
    assert (
        services.ingestion.ingest_frame(_source(incoming), frame, name="crm", actor="tests") is None
    )
    parquet = services.ingestion.ingest(_source(incoming), actor="tests")
    assert [(f.status, f.accepted_rows) for f in parquet] == [("accepted", 10)]
    data = services.ingestion.read([first, *parquet])
    pd.testing.assert_frame_equal(data.iloc[:8].reset_index(drop=True), frame)


def test_json_lines_files_are_ingested_as_every_reader_reads_them(
    services: Services, tmp_path: Path
) -> None:
    # One reader for every data file (champion.datafiles): a source takes the files a reference
    # or a drift comparison takes, in any case of suffix, and leaves hidden ones alone.
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    customers(6, seed=7).to_json(incoming / "crm.JSONL", orient="records", lines=True)
    customers(5, seed=8).to_parquet(incoming / "typed.pq", index=False)
    customers(4, seed=9).to_csv(incoming / ".partial.csv", index=False)
    found = services.ingestion.ingest(_source(incoming), actor="tests")
    assert sorted((Path(f.path).name, f.status, f.accepted_rows) for f in found) == [
        ("crm.JSONL", "accepted", 6),
        ("typed.pq", "accepted", 5),
    ]
