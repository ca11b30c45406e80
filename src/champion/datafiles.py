"""Data files (CSV, Parquet, JSON lines): the one reader, with one set of rules.

Every data file champion reads (a reference, a window to compare, a sample to compile on, a
file a pipeline ingests) goes through here:

* **formats**: ``FORMATS`` maps the suffix, in any case, to the format it is read as;
* **path checks**: a data file is a regular file with one of those suffixes; a folder
  (a pipeline's source) lists only the files :func:`is_ready` says are complete, never a
  hidden one (being written under a temporary dot-name);
* **reading**: whole (:func:`read_table`), with the values' types inferred, or every CSV cell
  as its text (``text=True``, for a screening that reports each cell against a schema), or
  in chunks in flat memory (:func:`iter_table`). A file that cannot be read raises
  :class:`~champion.errors.InvalidInput` naming it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from champion.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FORMATS",
    "SUFFIXES",
    "count_rows",
    "data_format",
    "is_ready",
    "iter_table",
    "missing_as_none",
    "read_table",
]

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
"""The data file suffixes (matched in any case) and the format each is read as."""
SUFFIXES = tuple(FORMATS)


def data_format(path: Path | str) -> str:
    """The format of the data file at ``path``: ``csv``, ``jsonl`` or ``parquet``.

    >>> data_format("churn.txt")
    Traceback (most recent call last):
    ...
    champion.errors.InvalidInput: Unsupported data file 'churn.txt': use .csv, .jsonl, \
.parquet, .pq.
    """
    path = Path(path)
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise InvalidInput(f"Unsupported data file {str(path)!r}: use {', '.join(SUFFIXES)}.")
    if not path.is_file():
        raise InvalidInput(f"Data file {str(path)!r} does not exist.")
    return found


def is_ready(path: Path) -> bool:
    """Whether a file found in a folder is a complete data file to read.

    Write a data file under a temporary name (a leading dot, or any other suffix such as
    ``.part``) and rename it when it is complete: until then it is not ready.
    """
    return path.suffix.lower() in FORMATS and not path.name.startswith(".") and path.is_file()


def read_table(path: Path | str, *, text: bool = False) -> pd.DataFrame:
    """Read a whole data file.

    With ``text`` a CSV file's cells are kept as the text they are (``"007"`` stays
    ``"007"``, an empty cell is ``""``) and a JSON-lines file's values as JSON has them, so a
    schema can judge each one; Parquet columns always have their stored types.
    """
    import pandas as pd
    import pyarrow as pa  # what pandas reads Parquet with; not all its errors are ValueError

    form = data_format(path)
    try:
        if form == "parquet":
            return pd.read_parquet(path)
        if form == "jsonl":
            if text:
                return pd.read_json(path, lines=True, dtype=False, convert_dates=False)
            return pd.read_json(path, lines=True)
        if text:
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
        return pd.read_csv(path)
    except (ValueError, OSError, pa.ArrowException) as exc:
        raise InvalidInput(f"Cannot read data file {str(path)!r}: {exc}") from None


def count_rows(path: Path | str) -> int | None:
    """The number of rows when the file says it without being read (Parquet), else None."""
    if data_format(path) != "parquet":
        return None
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def iter_table(path: Path | str, chunk_rows: int = 100_000) -> Iterator[pd.DataFrame]:
    """The file's rows in DataFrames of at most ``chunk_rows`` rows (Parquet: by batch)."""
    import pandas as pd

    form = data_format(path)
    if form == "parquet":
        import pyarrow.parquet as pq

        # pre_buffer (the default) keeps what it read: memory would grow with the file.
        reader = pq.ParquetFile(path, pre_buffer=False)
        for batch in reader.iter_batches(batch_size=chunk_rows):
            yield batch.to_pandas()
        return
    if form == "jsonl":
        yield from pd.read_json(path, lines=True, chunksize=chunk_rows)
        return
    yield from pd.read_csv(path, chunksize=chunk_rows)


@overload
def missing_as_none(data: pd.DataFrame) -> pd.DataFrame: ...
@overload
def missing_as_none(data: pd.Series) -> pd.Series: ...
def missing_as_none(data: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """``data`` as Python objects, every missing value (NaN, NaT, NA) None: as JSON has it.

    >>> import pandas as pd
    >>> missing_as_none(pd.Series([1.5, None])).tolist()
    [1.5, None]
    """
    import pandas as pd

    # pandas accepts None as ``other``; pandas-stubs 2.x leaves it out of the annotation.
    none: Any = None
    if isinstance(data, pd.DataFrame):
        return data.astype(object).where(data.notna(), none)
    return data.astype(object).where(data.notna(), none)
