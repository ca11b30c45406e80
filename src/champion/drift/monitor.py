"""Drift runs: a window of served predictions or a data file against a version's reference.

The same code path serves the HTTP route, the CLI, the report and the alert rules: the
window is streamed in chunks into the table comparison and the quality counter at once, so
memory stays flat and the reference data is never read (only its stored profile).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from champion.clock import Clock
from champion.db import read
from champion.drift.files import iter_table
from champion.drift.live import count_predictions, prediction_chunks, served_versions
from champion.drift.quality import QualityCounter
from champion.drift.references import References, StoredReference
from champion.drift.table import Correction, TableDrift, compare_table
from champion.errors import InvalidInput, NotFound
from champion.periods import resolve_window
from champion.registry import Registry, VersionKey, VersionRef

__all__ = ["DriftMonitor", "DriftRun", "parse_tests"]

Progress = Callable[[int, int | None], None]
"""``progress(rows_done, rows_total_or_None)``, for progress bars."""


def parse_tests(items: Iterable[str]) -> dict[str, str]:
    """``["tenure=ks", "Contract=chi2"]`` → the detector per column.

    >>> parse_tests(["tenure=ks"])
    {'tenure': 'ks'}
    """
    tests = {}
    for item in items:
        column, sep, name = item.partition("=")
        if not sep or not column or not name:
            raise InvalidInput(f"test: write column=detector (tenure=ks). Got {item!r} instead.")
        tests[column] = name
    return tests


@dataclass(frozen=True)
class DriftRun:
    """One comparison: what was compared, the per-column verdicts and the data quality."""

    reference: StoredReference
    drift: TableDrift
    quality: QualityCounter
    endpoint: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    source: str = ""

    @property
    def version(self) -> VersionKey:
        return self.reference.key

    def to_json(self) -> dict[str, Any]:
        outputs = set(self.reference.output_columns)
        body = {
            "endpoint": self.endpoint,
            "version": str(self.version),
            "start": None if self.start is None else self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "source": self.source,
            "reference": {"rows": self.reference.rows, "source": self.reference.source},
            **self.drift.to_json(),
            "quality": self.quality.to_json(),
        }
        for column in body["columns"]:
            column["role"] = "output" if column["column"] in outputs else "input"
        return body


class DriftMonitor:
    """Runs drift comparisons against stored reference profiles."""

    def __init__(
        self, engine: sa.Engine, registry: Registry, references: References, clock: Clock
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.references = references
        self.clock = clock

    def endpoint_drift(
        self,
        endpoint: str,
        *,
        window: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        version: str | None = None,
        tests: Mapping[str, str] | None = None,
        correction: Correction = "bh",
        progress: Progress | None = None,
    ) -> DriftRun:
        """The predictions ``endpoint`` served in the window, against their version's reference.

        ``version`` (``attrition/1`` or ``attrition@champion``) picks whose predictions and
        reference; by default the version that answered most requests in the window.
        """
        start, end = resolve_window(self.clock, window, start, end)
        key = self.window_version(endpoint, start, end, version)
        reference = self.references.get(key)
        with read(self.engine) as conn:
            total = count_predictions(conn, endpoint, start, end, key)
        chunks = prediction_chunks(self.engine, endpoint, start, end, key)
        return self._run(
            reference, chunks, total, tests, correction, progress,
            endpoint=endpoint, start=start, end=end, source=f"endpoint {endpoint}",
        )  # fmt: skip

    def window_version(
        self, endpoint: str, start: datetime, end: datetime, version: str | None = None
    ) -> VersionKey:
        if version is not None:
            return self.registry.resolve(VersionRef.parse(version)).key
        with read(self.engine) as conn:
            served = served_versions(conn, endpoint, start, end)
        if not served:
            raise NotFound(
                f"Endpoint {endpoint!r} served no prediction between {start.isoformat()} and "
                f"{end.isoformat()}; widen the window."
            )
        return served[0][0]

    def data_drift(
        self,
        version: str,
        data: Path | str | pd.DataFrame | Iterable[pd.DataFrame],
        *,
        tests: Mapping[str, str] | None = None,
        correction: Correction = "bh",
        progress: Progress | None = None,
        total: int | None = None,
    ) -> DriftRun:
        """A data file (read in chunks), a DataFrame or chunks of one against ``version``."""
        key = self.registry.resolve(VersionRef.parse(version)).key
        reference = self.references.get(key)
        source = "a DataFrame"
        chunks: Iterable[pd.DataFrame]
        if isinstance(data, pd.DataFrame):
            chunks, total = [data], len(data)
        elif isinstance(data, Path | str):
            from champion.drift.files import count_rows

            chunks, total, source = iter_table(data), count_rows(data), Path(data).name
        else:
            chunks = data
        return self._run(reference, chunks, total, tests, correction, progress, source=source)

    def _run(
        self,
        reference: StoredReference,
        chunks: Iterable[pd.DataFrame],
        total: int | None,
        tests: Mapping[str, str] | None,
        correction: Correction,
        progress: Progress | None,
        **where: Any,
    ) -> DriftRun:
        profile = reference.profile
        quality = QualityCounter(profile)
        names = set(profile.names())
        outputs = set(reference.output_columns)
        seen = 0

        def checked() -> Iterator[pd.DataFrame]:
            nonlocal seen
            for chunk in chunks:
                absent = names - {str(c) for c in chunk.columns}
                if absent - outputs:
                    lacking = sorted(absent - outputs)
                    raise InvalidInput(f"The current data lacks reference columns {lacking!r}.")
                # Data without some output column (a data file holds no outputs; a window
                # may miss a changed output) is compared on what it has: an output it does
                # not hold is neither missing nor drifted. The reference decides the columns.
                frame = chunk.reindex(columns=profile.names())
                quality.update(frame, unchecked=absent)
                seen += len(frame)
                if progress is not None:
                    progress(seen, total)
                yield frame

        drift = compare_table(profile, checked(), tests=tests, correction=correction)
        return DriftRun(reference, drift, quality, **where)
