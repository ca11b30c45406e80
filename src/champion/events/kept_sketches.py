"""Per-arm latency and feedback-delay histograms of a report, from the kept cell histograms.

The histograms have a row per bucket and segment (``rollup_sketches``): over a long
experiment in hour segments a report would sum hundreds of thousands of rows. When each arm
of the scope has its requests in one cell that lies whole within the scope (the cells
``moments.kept_cells`` picks, every one ending before the scope's end), the fold pass's
per-cell sums (``cell_sketches``) are the arm's histogram: O(arms x buckets) rows. Other
scopes (a cell the scope's end cuts, several cells per arm) sum the segment rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from champion.events.aggregates import Histograms, Scope, pending, sketches, sketches_by_window
from champion.events.moments import before_raw, kept_cells
from champion.events.total_tables import cell_sketches

__all__ = ["arm_sketches"]


def arm_sketches(
    conn: sa.Connection, scope: Scope, measures: Sequence[str]
) -> dict[str, Histograms]:
    """Per measure, ``sketches(conn, scope, ("arm",), measure)``: read from the kept cell
    histograms (every measure in one query) when they answer the scope."""
    cells = kept_cells(conn, scope, scope.end)
    last = before_raw(scope.end, scope.raw)
    if cells is None or any(last is not None and latest >= last for _, latest in cells.values()):
        return {measure: sketches(conn, scope, ("arm",), measure) for measure in measures}
    folded: dict[str, Histograms] = {measure: {} for measure in measures}
    if cells:
        k = cell_sketches
        key = sa.tuple_(k.c.endpoint, k.c.config_version, k.c.arm, k.c.since)
        query = sa.select(k.c.measure, k.c.arm, k.c.bucket, k.c.count).where(
            key.in_([cell for cell, _ in cells.values()]) & k.c.measure.in_(list(measures))
        )
        for measure, arm, bucket, count in conn.execute(query):
            folded[str(measure)].setdefault((str(arm),), {})[int(bucket)] = round(count)
    facts = pending(conn, scope)
    return {
        measure: sketches_by_window(
            conn, scope, [scope.end], ("arm",), measure, [facts], [folded[measure]]
        )[0]
        for measure in measures
    }
