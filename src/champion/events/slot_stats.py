"""``/stats`` windows answered from the slot tables (``slots``) where an edge cuts a segment,
instead of that segment's raw rows.

A window qualifies when its edges start slots and it lies within one raw range (see
``aggregates``) whose slots are kept (``slots.kept_since``): its folded requests are then
exactly the rows of its slots (each keyed by the request's own time, late feedback
included), the rest are the pending facts of those slots, and its units are counted in the
raw rows of the window alone (the rollup rows of the segment it cuts are left out of the
window's read). A raw range some window crosses, or cuts inside a slot, is read from raw
rows as before.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from champion.events.aggregates import Histograms, Scope
from champion.events.rollup_tables import VERSION_SUMS, slot_rollups, slot_sketches
from champion.events.slots import is_slot_edge, kept_since
from champion.events.tables import predictions

__all__ = ["SlotWindows", "slot_windows"]

Range = tuple[datetime, datetime]
Group = tuple[str, int, str]
_Part = Callable[[sa.ColumnElement[int], datetime, datetime], sa.Select[Any]]


@dataclass(frozen=True)
class SlotWindows:
    """The raw ranges of a read answered per slot, and the windows (by index) in them."""

    endpoint: str
    ranges: tuple[Range, ...] = ()
    windows: dict[int, Range] = field(default_factory=dict)

    def sums(self, conn: sa.Connection) -> dict[int, dict[Group, list[float]]]:
        """Per window and (model, version, arm): ``VERSION_SUMS`` of the folded requests,
        then the units with a request (folded or not) that version answered."""
        found: dict[int, dict[Group, list[float]]] = {n: {} for n in self.windows}
        if not self.windows:
            return found
        m, p = slot_rollups, predictions
        sums = [sa.func.sum(m.c[name]) for name in VERSION_SUMS]
        folded = self._union(
            lambda n, a, b: (
                sa.select(m.c.model, m.c.version, m.c.arm, n, *sums)
                .where((m.c.endpoint == self.endpoint) & (m.c.slot >= a) & (m.c.slot < b))
                .group_by(m.c.model, m.c.version, m.c.arm)
            )
        )
        zeros = [0.0] * (len(VERSION_SUMS) + 1)
        for model, version, arm, n, *values in conn.execute(folded):
            found[int(n)][(str(model), int(version), str(arm))] = [
                *(float(v or 0) for v in values),
                0.0,
            ]
        units = self._union(
            lambda n, a, b: (
                sa.select(p.c.model, p.c.version, p.c.arm, n, sa.func.count(sa.distinct(p.c.unit)))
                .where((p.c.endpoint == self.endpoint) & (p.c.at >= a) & (p.c.at < b))
                .group_by(p.c.model, p.c.version, p.c.arm)
            )
        )
        for model, version, arm, n, count in conn.execute(units):
            group = (str(model), int(version), str(arm))
            found[int(n)].setdefault(group, list(zeros))[-1] = float(count)
        return found

    def latency(self, conn: sa.Connection) -> dict[int, Histograms]:
        """Per window: the latency histogram of each (model, version, arm)'s folded
        requests."""
        found: dict[int, Histograms] = {n: {} for n in self.windows}
        if not self.windows:
            return found
        s = slot_sketches
        group = (s.c.model, s.c.version, s.c.arm, s.c.bucket)
        query = self._union(
            lambda n, a, b: (
                sa.select(*group, n, sa.func.sum(s.c.count))
                .where((s.c.endpoint == self.endpoint) & (s.c.slot >= a) & (s.c.slot < b))
                .group_by(*group)
            )
        )
        for model, version, arm, bucket, n, count in conn.execute(query):
            counts = found[int(n)].setdefault((str(model), int(version), str(arm)), {})
            counts[int(bucket)] = counts.get(int(bucket), 0) + int(count)
        return found

    def _union(self, part: _Part) -> sa.Select[Any] | sa.CompoundSelect[Any]:
        # One statement, a part per window: each reads its own range of the index.
        parts = [
            part(sa.literal_column(str(n), sa.Integer), a, b) for n, (a, b) in self.windows.items()
        ]
        return parts[0] if len(parts) == 1 else sa.union_all(*parts)


def slot_windows(
    conn: sa.Connection, scope: Scope, edges: Sequence[datetime | None]
) -> SlotWindows:
    """Which of ``scope``'s raw ranges (set by ``cuts.exact``) the windows between
    consecutive ``edges`` read per slot, and those windows."""
    if not scope.raw:
        return SlotWindows(scope.endpoint)
    since = kept_since(conn)
    windows = list(itertools.pairwise(edges))

    def served(r: Range) -> bool:
        # Kept whole, and every window touching it lies within it on slot edges (whether a
        # window crosses a range depends on that range alone: one pass decides).
        return (
            r[0] >= since
            and is_slot_edge(r[0])
            and is_slot_edge(r[1])
            and all(
                _inside(a, b, r) and is_slot_edge(a) and is_slot_edge(b)
                for a, b in windows
                if _overlap(a, b, r)
            )
        )

    ranges = [r for r in scope.raw if served(r)]
    inside = {
        n: (a, b)
        for n, (a, b) in enumerate(windows)
        if a is not None and b is not None and any(_inside(a, b, r) for r in ranges)
    }
    return SlotWindows(scope.endpoint, tuple(ranges), inside)


def _overlap(a: datetime | None, b: datetime | None, r: Range) -> bool:
    return (a is None or a < r[1]) and (b is None or r[0] < b)


def _inside(a: datetime | None, b: datetime | None, r: Range) -> bool:
    return a is not None and b is not None and r[0] <= a and b <= r[1]
