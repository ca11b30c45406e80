"""Ranker monitoring: what an endpoint's rankings showed in a window, against a reference window.

A ranker has no table of outputs to profile, so its drift is judged on what it showed:

* **served items**: the share of impressions per item and a test of their change
  (``exposure.item_drift``: chi-square with the Rao-Scott correction for units);
* **catalogue coverage**: distinct items shown over the catalogue, and the Gini coefficient of
  exposure over it. No catalogue is registered with a version (``champion.yaml`` has no such
  field), so the catalogue is every item the endpoint showed in either window;
* **popularity of what is shown**: the impression-weighted mean popularity rank (1 = most
  popular) of shown items, popularity being the reference window's clicks (or its
  impressions when it has fewer than ``MIN_CLICKS`` clicked impressions);
* **click-through** over time, overall and per position bucket, with 95 % intervals by the
  delta method over units;
* **context inputs drift**, when the version has a reference profile of its inputs.

The reference window is by default the window just before, of the same length (what users
saw before); the current window is judged per version (each shown item belongs to the
version credited with it). Everything is read from the raw event tables; a window that
starts before rows retention deleted is refused (409) rather than reported on a subset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import sqlalchemy as sa

from champion.clock import Clock
from champion.db import read
from champion.drift.comparison import TableDrift, compare_table
from champion.drift.exposure import (
    ItemDrift,
    gini,
    item_drift,
    popularity_ranks,
    rarefied_coverage,
)
from champion.drift.references import References
from champion.drift.shown import (
    POSITION_BUCKETS,
    click_through_rows,
    exposure_rows,
    item_clicks,
    requests_per_version,
)
from champion.errors import Conflict, InvalidInput
from champion.evaluation.stattests.summary import RatioSummary
from champion.events.retention_status import deleted_before
from champion.events.tables import predictions
from champion.periods import resolve_window
from champion.registry import VersionKey

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MAX_BUCKETS",
    "MIN_CLICKS",
    "TOP_ITEMS",
    "ClickThrough",
    "ContextDrift",
    "RankingMonitor",
    "VersionExposure",
    "WindowExposure",
    "ranking_monitor",
]

MIN_CLICKS = 100
TOP_ITEMS = 20
MAX_BUCKETS = 48
_Z = 1.959963984540054  # scipy.stats.norm.ppf(0.975)
ReferenceBasis = Literal["previous", "chosen"]


@dataclass(frozen=True)
class ClickThrough:
    """Clicked impressions over impressions, with a 95 % interval over units."""

    impressions: int
    clicked: int
    units: int
    ctr: float | None
    ci: tuple[float, float] | None

    @classmethod
    def of(cls, summary: RatioSummary | None) -> ClickThrough:
        """From the per-unit sums of clicked impressions (x) and impressions (y)."""
        if summary is None or summary.sum_y == 0:
            return cls(0, 0, 0, None, None)
        ctr = summary.sum_x / summary.sum_y
        ci = None
        if summary.n >= 2:
            half = _Z * float(np.sqrt(summary.variance / summary.n))
            ci = (max(0.0, ctr - half), min(1.0, ctr + half))
        return cls(round(summary.sum_y), round(summary.sum_x), summary.n, ctr, ci)

    @classmethod
    def by(cls, rows: pd.DataFrame, keys: list[str]) -> dict[Any, ClickThrough]:
        """Click-through per value of ``keys`` (``[]``: one, under ``None``), units first
        summed within each group: one group-by, however many groups."""
        import pandas as pd

        per_unit = rows.groupby([*keys, "unit"])[["clicked", "impressions"]].sum()
        x, y = per_unit["clicked"].astype(float), per_unit["impressions"].astype(float)
        moments = pd.DataFrame({"x": x, "y": y, "xx": x * x, "yy": y * y, "xy": x * y})
        if not keys:
            sums = moments.sum().to_frame().T.assign(n=len(moments))
            sums.index = pd.Index([None])
        else:
            grouped = moments.groupby(level=keys)
            sums = grouped.sum().assign(n=grouped.size())
        return {
            key: cls.of(
                RatioSummary(int(s.n), *(float(s[k]) for k in ("x", "y", "xx", "yy", "xy")))
            )
            for key, s in sums.iterrows()
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "impressions": self.impressions,
            "clicked": self.clicked,
            "units": self.units,
            "ctr": self.ctr,
            "ci": None if self.ci is None else list(self.ci),
        }


@dataclass(frozen=True)
class WindowExposure:
    """What one window (or one version in it) showed, against the catalogue."""

    requests: int
    units: int
    impressions: int
    distinct_items: int
    coverage: float | None
    gini: float | None
    mean_popularity_rank: float | None
    top_items: tuple[tuple[str, int], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "units": self.units,
            "impressions": self.impressions,
            "distinct_items": self.distinct_items,
            "coverage": self.coverage,
            "gini": self.gini,
            "mean_popularity_rank": self.mean_popularity_rank,
            "top_items": [
                {"item": item, "impressions": n, "share": n / self.impressions}
                for item, n in self.top_items
            ],
        }


@dataclass(frozen=True)
class ContextDrift:
    """The context inputs' drift against the version's reference, or why there is none."""

    drift: TableDrift | None
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "available": self.drift is not None,
            "message": self.message,
            "drift": None if self.drift is None else self.drift.to_json(),
        }


@dataclass(frozen=True)
class VersionExposure:
    version: VersionKey
    shown: WindowExposure
    new_items: int
    """Distinct items shown that the reference window never showed."""
    reference_coverage_at_same_impressions: float | None
    """The reference window's coverage had it shown as many impressions as this version
    (rarefied): coverage grows with traffic, so compare with this."""
    item_drift: ItemDrift
    click_through: ClickThrough
    by_position: dict[str, ClickThrough]
    buckets: tuple[tuple[ClickThrough, dict[str, ClickThrough]], ...]
    context: ContextDrift

    def to_json(self, edges: list[datetime]) -> dict[str, Any]:
        drift = self.item_drift
        return {
            "version": str(self.version),
            **self.shown.to_json(),
            "new_items": self.new_items,
            "reference_coverage_at_same_impressions": self.reference_coverage_at_same_impressions,
            "item_drift": {
                "method": drift.method,
                "statistic": drift.statistic,
                "p_value": drift.p_value,
                "dof": drift.dof,
                "effective_dof": drift.effective_dof,
                "design_effect": drift.design_effect,
                "js_distance": drift.js_distance,
                "alpha": drift.alpha,
                "drifted": drift.drifted,
                "buckets": [
                    {"item": item, "reference": r, "current": c}
                    for item, r, c in zip(
                        drift.buckets, drift.reference, drift.current, strict=True
                    )
                ],
            },
            "click_through": _ctr_json(self.click_through, self.by_position),
            "buckets": [
                {"start": edges[k].isoformat(), "end": edges[k + 1].isoformat(), **_ctr_json(*b)}
                for k, b in enumerate(self.buckets)
            ],
            "context": self.context.to_json(),
        }


def _ctr_json(overall: ClickThrough, by_position: dict[str, ClickThrough]) -> dict[str, Any]:
    return {
        **overall.to_json(),
        "by_position": [{"positions": k, **v.to_json()} for k, v in by_position.items()],
    }


@dataclass(frozen=True)
class RankingMonitor:
    endpoint: str
    start: datetime
    end: datetime
    reference_start: datetime
    reference_end: datetime
    reference_basis: ReferenceBasis
    catalogue_size: int
    popularity_basis: Literal["clicks", "impressions"]
    reference: WindowExposure
    versions: tuple[VersionExposure, ...]
    edges: list[datetime] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "reference_start": self.reference_start.isoformat(),
            "reference_end": self.reference_end.isoformat(),
            "reference_basis": self.reference_basis,
            "catalogue": {
                "size": self.catalogue_size,
                "source": "the items the endpoint showed in either window",
            },
            "popularity_basis": self.popularity_basis,
            "reference": self.reference.to_json(),
            "versions": [v.to_json(self.edges) for v in self.versions],
            "message": "" if self.versions else _nothing(self.endpoint, self.start, self.end),
        }


def _nothing(endpoint: str, start: datetime, end: datetime) -> str:
    return (
        f"Endpoint {endpoint!r} showed no ranked item between {start.isoformat()} and "
        f"{end.isoformat()}; widen the window."
    )


def _exposure(
    rows: pd.DataFrame, requests: int, catalogue: pd.Index, ranks: pd.Series
) -> WindowExposure:
    per_item = rows.groupby("item")["impressions"].sum().sort_values(ascending=False, kind="stable")
    shown = int(per_item.sum())
    mean_rank = float((per_item * ranks.reindex(per_item.index)).sum() / shown) if shown else None
    return WindowExposure(
        requests=requests,
        units=int(rows["unit"].nunique()),
        impressions=shown,
        distinct_items=len(per_item),
        coverage=len(per_item) / len(catalogue) if len(catalogue) else None,
        gini=gini(per_item.reindex(catalogue, fill_value=0)),
        mean_popularity_rank=mean_rank,
        top_items=tuple((str(k), int(v)) for k, v in per_item.head(TOP_ITEMS).items()),
    )


def _click_through(
    rows: pd.DataFrame, buckets: int
) -> tuple[
    ClickThrough, dict[str, ClickThrough], tuple[tuple[ClickThrough, dict[str, ClickThrough]], ...]
]:
    """Overall, per position bucket, and per time bucket (overall and per position)."""
    empty = ClickThrough.of(None)
    overall = ClickThrough.by(rows, []).get(None, empty)
    positions = ClickThrough.by(rows, ["positions"])
    times = ClickThrough.by(rows, ["bucket"])
    both = ClickThrough.by(rows, ["bucket", "positions"])
    return (
        overall,
        {k: positions.get(k, empty) for k in POSITION_BUCKETS},
        tuple(
            (times.get(t, empty), {k: both.get((t, k), empty) for k in POSITION_BUCKETS})
            for t in range(buckets)
        ),
    )


def ranking_monitor(
    engine: sa.Engine,
    references: References,
    clock: Clock,
    endpoint: str,
    *,
    window: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    reference_start: datetime | None = None,
    reference_end: datetime | None = None,
    buckets: int = 12,
    alpha: float = 0.05,
) -> RankingMonitor:
    """See the module docstring. ``[start, end)`` as ``resolve_window`` reads it (default:
    the last day); the reference is ``[reference_start, reference_end)`` when given, else the
    window of the same length just before ``start``."""
    import pandas as pd

    if isinstance(buckets, bool) or not isinstance(buckets, int) or not 1 <= buckets <= MAX_BUCKETS:
        raise InvalidInput(
            f"The 'buckets' parameter of ranking_monitor must be an int in the range "
            f"[1, {MAX_BUCKETS}]. Got {buckets!r} instead."
        )
    start, end = resolve_window(clock, window, start, end)
    basis: ReferenceBasis = "previous"
    if reference_start is None and reference_end is None:
        reference_start, reference_end = start - (end - start), start
    else:
        if reference_start is None or reference_end is None:
            raise InvalidInput("Give both 'reference_start' and 'reference_end', or neither.")
        reference_start, reference_end = resolve_window(clock, None, reference_start, reference_end)
        basis = "chosen"
    width = (end - start) / buckets
    edges = [start + width * k for k in range(buckets)] + [end]
    with read(engine) as conn:
        _check_retention(conn, endpoint, min(start, reference_start))
        ref_rows = exposure_rows(conn, endpoint, reference_start, reference_end)
        cur_rows = exposure_rows(conn, endpoint, start, end)
        ref_requests = sum(
            requests_per_version(conn, endpoint, reference_start, reference_end).values()
        )
        cur_requests = requests_per_version(conn, endpoint, start, end)
        clicks = item_clicks(conn, endpoint, reference_start, reference_end)
        ctr_rows = click_through_rows(conn, endpoint, edges)
    catalogue = pd.Index(sorted(set(ref_rows["item"]) | set(cur_rows["item"])), dtype=object)
    ref_items = ref_rows.groupby("item")["impressions"].sum()
    popularity: Literal["clicks", "impressions"] = (
        "clicks" if clicks.sum() >= MIN_CLICKS else "impressions"
    )
    ranks = popularity_ranks(
        (clicks if popularity == "clicks" else ref_items).reindex(catalogue, fill_value=0)
    )
    reference = _exposure(ref_rows, ref_requests, catalogue, ranks)
    versions = []
    for model, number in sorted(set(zip(cur_rows["model"], cur_rows["version"], strict=True))):
        key = VersionKey(str(model), int(number))
        rows = cur_rows[(cur_rows["model"] == key.model) & (cur_rows["version"] == key.number)]
        shown = _exposure(rows, cur_requests.get((key.model, key.number), 0), catalogue, ranks)
        mine = ctr_rows[(ctr_rows["model"] == key.model) & (ctr_rows["version"] == key.number)]
        overall, by_position, by_time = _click_through(mine, buckets)
        versions.append(
            VersionExposure(
                version=key,
                shown=shown,
                new_items=len(set(rows["item"]) - set(ref_items.index)),
                reference_coverage_at_same_impressions=rarefied_coverage(
                    ref_items, shown.impressions, len(catalogue)
                ),
                item_drift=item_drift(ref_rows, rows, alpha=alpha),
                click_through=overall,
                by_position=by_position,
                buckets=by_time,
                context=context_drift(engine, references, endpoint, key, start, end),
            )
        )
    return RankingMonitor(
        endpoint, start, end, reference_start, reference_end, basis, len(catalogue),
        popularity, reference, tuple(versions), edges,
    )  # fmt: skip


def _check_retention(conn: sa.Connection, endpoint: str, since: datetime) -> None:
    for table, cutoff in deleted_before(conn).items():
        if cutoff is not None and since < cutoff:
            raise Conflict(
                f"Retention deleted {table} older than {cutoff.isoformat()}, and the windows "
                f"compared for endpoint {endpoint!r} start at {since.isoformat()}: the answer "
                "would describe only part of what was shown. Choose windows after "
                f"{cutoff.isoformat()} (and a reference window after it too)."
            )


def context_drift(
    engine: sa.Engine,
    references: References,
    endpoint: str,
    key: VersionKey,
    start: datetime,
    end: datetime,
) -> ContextDrift:
    """The contexts ``key`` was asked to rank with, against its reference profile's inputs."""
    import pandas as pd

    stored = references.find(key)
    if stored is None or not stored.input_columns:
        return ContextDrift(
            None,
            f"Version {key} has no reference profile of its context inputs, so there is no "
            "context drift to show. Register it with an input signature and a reference data "
            f"file of contexts (or run: champion drift reference {key} DATA).",
        )
    p = predictions
    query = sa.select(p.c.inputs).where(
        (p.c.endpoint == endpoint) & (p.c.at >= start) & (p.c.at < end) & (p.c.kind == "rank")
        & (p.c.model == key.model) & (p.c.version == key.number)
    )  # fmt: skip
    with read(engine) as conn:
        contexts = [dict(inputs.get("context") or {}) for inputs in conn.execute(query).scalars()]
    if not contexts:
        return ContextDrift(None, f"Version {key} answered no ranking in the window.")
    frame = pd.DataFrame.from_records(contexts).reindex(columns=stored.input_columns)
    return ContextDrift(compare_table(stored.profile, frame))
