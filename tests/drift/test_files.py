from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from champion.datafiles import count_rows, is_ready, iter_table, read_table
from champion.errors import InvalidInput


def _parquet(path: Path, groups: int, rows: int) -> Path:
    writer = None
    for group in range(groups):
        frame = pd.DataFrame(
            {f"x{j}": np.random.default_rng(group).normal(size=rows) for j in range(10)}
        )
        table = pa.Table.from_pandas(frame, preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()
    return path


def test_parquet_is_read_a_batch_at_a_time_in_flat_memory(tmp_path: Path) -> None:
    path = _parquet(tmp_path / "window.parquet", groups=30, rows=5_000)  # 12 MB decoded
    assert count_rows(path) == 150_000
    held = []
    total = 0
    for chunk in iter_table(path, chunk_rows=5_000):
        total += len(chunk)
        held.append(pa.total_allocated_bytes())
        del chunk
    assert total == 150_000
    # Arrow holds about one batch (400 kB of floats), never the whole file.
    assert max(held) < 3 * 2**20


def test_csv_and_jsonl_chunks_and_clear_errors(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": range(25), "b": [*"xyz" * 8, "x"]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_json(tmp_path / "t.jsonl", orient="records", lines=True)
    for name in ("t.csv", "t.jsonl"):
        chunks = list(iter_table(tmp_path / name, chunk_rows=10))
        assert [len(c) for c in chunks] == [10, 10, 5]
        assert read_table(tmp_path / name).equals(frame)
    with pytest.raises(InvalidInput, match=r"Unsupported data file .*\.xlsx"):
        read_table(tmp_path / "t.xlsx")
    with pytest.raises(InvalidInput, match="does not exist"):
        read_table(tmp_path / "missing.csv")


def test_one_set_of_rules_for_every_data_file(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": ["007", "12"], "n": [1.5, 2.0]})
    frame.to_parquet(tmp_path / "T.PQ", index=False)  # the short suffix, in capitals
    assert read_table(tmp_path / "T.PQ").equals(frame) and count_rows(tmp_path / "T.PQ") == 2
    (tmp_path / "ids.CSV").write_text("id,n\n007,\n12,2\n")
    assert read_table(tmp_path / "ids.CSV")["id"].tolist() == [7, 12]
    # As text, for a schema to judge each cell: nothing converted, an empty cell is "".
    as_text = read_table(tmp_path / "ids.CSV", text=True)
    assert as_text.to_dict("list") == {"id": ["007", "12"], "n": ["", "2"]}
    (tmp_path / "rows.jsonl").write_text('{"id": "007", "n": 1}\n')
    assert read_table(tmp_path / "rows.jsonl", text=True)["id"].tolist() == ["007"]
    (tmp_path / "broken.parquet").write_bytes(b"not a parquet file")
    with pytest.raises(InvalidInput, match=r"Cannot read data file '.*broken\.parquet': "):
        read_table(tmp_path / "broken.parquet")
    for name, ready in [
        ("a.csv", True),
        ("a.Parquet", True),
        (".a.csv", False),  # being written under a hidden name
        ("a.csv.part", False),
        ("a.xlsx", False),
    ]:
        (tmp_path / name).write_text("x\n1\n")
        assert is_ready(tmp_path / name) is ready, name
    (tmp_path / "folder.csv").mkdir()
    assert not is_ready(tmp_path / "folder.csv")
