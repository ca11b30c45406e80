"""Drift runs: a window of served predictions or a data file against a version's reference.

The same code path serves the HTTP route, the CLI, the report and the alert rules: the
window is streamed in chunks into the table comparison and the quality counter at once, so
memory stays flat and the reference data is never read (only its stored profile). A window
of served predictions reads its whole UTC days from their stored daily windows where they
exist (``span``, ``days``), so it keeps its answer after retention deletes the raw rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa

from champion.clock import Clock
from champion.datafiles import iter_table
from champion.db import read
from champion.drift.comparison import Correction, TableDrift, compare_table, compare_windows
from champion.drift.quality import QualityCounter
from champion.drift.references import References, StoredReference
from champion.drift.span import Resolution, read_span, span_versions
from champion.errors import InvalidInput, NotFound
from champion.periods import resolve_window
from champion.registry import Registry, VersionKey, VersionRef

if TYPE_CHECKING:
    import pandas as pd

    from champion.drift.ranking import RankingMonitor
    from champion.serving.endpoints import Endpoints

__all__ = ["DriftMonitor", "DriftRun", "VersionChoice", "no_predictions", "parse_tests"]

Progress = Callable[[int, int | None], None]
"""``progress(rows_done, rows_total_or_None)``, for progress bars."""
VersionBasis = Literal["live", "requested"]


@dataclass(frozen=True)
class VersionChoice:
    """A version an endpoint's drift can be judged against, and why it is offered."""

    key: VersionKey
    live: bool
    configured: bool
    predictions: int
    has_reference: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "version": str(self.key),
            "live": self.live,
            "configured": self.configured,
            "predictions": self.predictions,
            "has_reference": self.has_reference,
        }


def no_predictions(endpoint: str, key: VersionKey, start: datetime, end: datetime) -> str:
    return (
        f"Version {key} served no prediction on endpoint {endpoint!r} between "
        f"{start.isoformat()} and {end.isoformat()}; widen the window or name another version."
    )


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
    resolution: Resolution = "exact"
    """``day`` when part of the window was read from a whole stored day (its raw rows are
    gone): ``covered`` is then wider than ``[start, end)``."""
    covered: tuple[datetime, datetime] | None = None
    stored_days: int = 0
    basis: VersionBasis = "requested"
    """Why this version's reference: ``live`` (it serves the endpoint now) or ``requested``."""

    @property
    def version(self) -> VersionKey:
        return self.reference.key

    def to_json(self) -> dict[str, Any]:
        outputs = set(self.reference.output_columns)
        body = {
            "endpoint": self.endpoint,
            "version": str(self.version),
            "version_basis": self.basis,
            "start": None if self.start is None else self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "source": self.source,
            "resolution": self.resolution,
            "covered": None
            if self.covered is None
            else {"start": self.covered[0].isoformat(), "end": self.covered[1].isoformat()},
            "stored_days": self.stored_days,
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
        self,
        engine: sa.Engine,
        registry: Registry,
        references: References,
        endpoints: Endpoints,
        clock: Clock,
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.references = references
        self.endpoints = endpoints
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
        allow_empty: bool = False,
    ) -> DriftRun:
        """The predictions ``endpoint`` served in the window, against their version's reference.

        ``version`` (``attrition/1`` or ``attrition@champion``) picks whose predictions and
        reference; by default the version serving now (``Endpoints.live_version``: the
        champion of the endpoint's current configuration). A window in which that version
        answered nothing is NotFound, unless ``allow_empty`` (a run of 0 rows). The run's
        ``resolution`` is ``day`` when a partial day whose raw rows are gone was compared as
        its whole stored day (``covered`` gives the span compared).
        """
        start, end = resolve_window(self.clock, window, start, end)
        key = self.window_version(endpoint, start, end, version)
        reference = self.references.get(key)
        if not allow_empty:
            with read(self.engine) as conn:
                served = dict(span_versions(conn, endpoint, start, end))
            if not served.get(key):
                raise NotFound(no_predictions(endpoint, key, start, end))
        seen = 0

        def advance(rows: int) -> None:
            nonlocal seen
            seen += rows
            if progress is not None:
                progress(seen, None)

        span = read_span(self.engine, endpoint, reference, start, end, progress=advance)
        stretch = span.stretch
        drift = compare_windows(
            reference.profile, stretch.windows, stretch.rows, tests=tests, correction=correction
        )
        return DriftRun(
            reference, drift, stretch.quality, endpoint=endpoint, start=start, end=end,
            source=f"endpoint {endpoint}", resolution=span.resolution,
            covered=(span.start, span.end), stored_days=span.stored_days,
            basis="requested" if version is not None else "live",
        )  # fmt: skip

    def ranking(self, endpoint: str, **options: Any) -> RankingMonitor:
        """What ranker ``endpoint`` showed (``ranking.ranking_monitor``'s ``options``); an
        endpoint serving another kind is InvalidInput, naming where its drift is."""
        from champion.drift.ranking import ranking_monitor

        self.endpoints.get(endpoint)  # NotFound for an unknown endpoint
        live = self.endpoints.live_version(endpoint)
        kind = self.registry.get_version(live.model, live.number).kind
        if kind != "ranker":
            raise InvalidInput(
                f"Endpoint {endpoint!r} serves a {kind} ({live}): ranking monitoring is for "
                f"rankers; its drift is at /v1/endpoints/{endpoint}/drift."
            )
        return ranking_monitor(self.engine, self.references, self.clock, endpoint, **options)

    def window_version(
        self, endpoint: str, start: datetime, end: datetime, version: str | None = None
    ) -> VersionKey:
        """``version`` resolved, or the version serving ``endpoint`` now.

        The default is not the version that answered most in the window: after a promotion
        the old champion answered most, but the new one is what users get from now on.
        """
        if version is not None:
            return self.registry.resolve(VersionRef.parse(version)).key
        return self.endpoints.live_version(endpoint)

    def window_versions(self, endpoint: str, start: datetime, end: datetime) -> list[VersionChoice]:
        """The versions whose reference a user may judge ``endpoint`` by: the live one, the
        others its configuration calls, and those that answered in the window."""
        live = self.endpoints.live_version(endpoint)
        configured = self.endpoints.configured_versions(endpoint)
        with read(self.engine) as conn:
            served = dict(span_versions(conn, endpoint, start, end))
        keys = list(dict.fromkeys([live, *configured, *served]))
        return [
            VersionChoice(
                key,
                live=key == live,
                configured=key in configured,
                predictions=served.get(key, 0),
                has_reference=self.references.find(key) is not None,
            )
            for key in keys
        ]

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
        import pandas as pd

        key = self.registry.resolve(VersionRef.parse(version)).key
        reference = self.references.get(key)
        source = "a DataFrame"
        chunks: Iterable[pd.DataFrame]
        if isinstance(data, pd.DataFrame):
            chunks, total = [data], len(data)
        elif isinstance(data, Path | str):
            from champion.datafiles import count_rows

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
