"""Data files (CSV, Parquet, JSON lines): read whole (a reference) or in chunks (a current
window), in flat memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, overload

import pandas as pd

from champion.errors import InvalidInput

__all__ = ["SUFFIXES", "count_rows", "iter_table", "missing_as_none", "read_table"]

SUFFIXES = (".csv", ".parquet", ".jsonl")


def _checked(path: Path | str) -> Path:
    path = Path(path)
    if path.suffix not in SUFFIXES:
        raise InvalidInput(f"Unsupported data file {str(path)!r}: use {', '.join(SUFFIXES)}.")
    if not path.is_file():
        raise InvalidInput(f"Data file {str(path)!r} does not exist.")
    return path


def read_table(path: Path | str) -> pd.DataFrame:
    """Read a whole ``.csv``, ``.parquet`` or ``.jsonl`` (one JSON object a line) file."""
    path = _checked(path)
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        if path.suffix == ".jsonl":
            return pd.read_json(path, lines=True)
        return pd.read_csv(path)
    except (ValueError, OSError) as exc:
        raise InvalidInput(f"Cannot read {str(path)!r}: {exc}") from None


def count_rows(path: Path | str) -> int | None:
    """The number of rows when the file says it without being read (Parquet), else None."""
    path = _checked(path)
    if path.suffix != ".parquet":
        return None
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def iter_table(path: Path | str, chunk_rows: int = 100_000) -> Iterator[pd.DataFrame]:
    """The file's rows in DataFrames of at most ``chunk_rows`` rows (Parquet: by batch)."""
    path = _checked(path)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        # pre_buffer (the default) keeps what it read: memory would grow with the file.
        reader = pq.ParquetFile(path, pre_buffer=False)
        for batch in reader.iter_batches(batch_size=chunk_rows):
            yield batch.to_pandas()
        return
    if path.suffix == ".jsonl":
        yield from pd.read_json(path, lines=True, chunksize=chunk_rows)
        return
    yield from pd.read_csv(path, chunksize=chunk_rows)


@overload
def missing_as_none(data: pd.DataFrame) -> pd.DataFrame: ...
@overload
def missing_as_none(data: pd.Series) -> pd.Series: ...
def missing_as_none(data: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """``data`` as Python objects, every missing value (NaN, NaT, NA) None: as JSON has it.

    >>> missing_as_none(pd.Series([1.5, None])).tolist()
    [1.5, None]
    """
    # pandas accepts None as ``other``; pandas-stubs 2.x leaves it out of the annotation.
    none: Any = None
    if isinstance(data, pd.DataFrame):
        return data.astype(object).where(data.notna(), none)
    return data.astype(object).where(data.notna(), none)
