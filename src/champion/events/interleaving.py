"""The interleaving comparison's per-unit counts: each interleaved impression's winner,
from the interleaving rollups plus what is not folded yet."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from champion.events.aggregates import Scope, pending, unindexed, where
from champion.events.compacted import require_units
from champion.events.cuts import exact
from champion.events.rollup_tables import INTERLEAVING, interleaving_rollups
from champion.events.tables import predictions

__all__ = ["interleaved_units"]


def interleaved_units(
    conn: sa.Connection, endpoint: str, start: datetime | None = None, end: datetime | None = None
) -> dict[tuple[str, str], dict[str, tuple[int, int, int, int, int, int]]]:
    """Per pair of interleaved versions ``(champion, challenger)`` and unit: impressions,
    wins, losses and ties of the challenger, and the clicks credited to each version.

    An impression compares the answering version's items with the one other version's:
    a win when the challenger's items got more clicks, a loss when fewer, a tie when as many
    and at least one. Impressions answered by a fallback (a ranker failed), or where only
    one version placed items, are left out.
    """
    require_units(conn, endpoint, start, end, "The interleaving comparison")
    if not _ever_interleaved(conn, endpoint):
        return {}  # a canary's or an A/B test's page asks too: no facts to recompute
    scope = exact(conn, Scope(endpoint, start=start, end=end))
    t = interleaving_rollups
    query = (
        sa.select(
            t.c.champion, t.c.challenger, t.c.unit, *(sa.func.sum(t.c[n]) for n in INTERLEAVING)
        )
        .where(where(t, scope))
        .group_by(t.c.champion, t.c.challenger, t.c.unit)
    )
    found: dict[tuple[str, str, str], list[int]] = {}
    for row in conn.execute(query):
        found[(str(row[0]), str(row[1]), str(row[2]))] = [int(v or 0) for v in row[3:]]
    for key, values in pending(conn, scope).sums.get("interleaving_rollups", {}).items():
        into = found.setdefault((key[2], key[3], key[4]), [0] * len(INTERLEAVING))
        for n, name in enumerate(INTERLEAVING):
            into[n] += round(values[name])
    pairs: dict[tuple[str, str], dict[str, tuple[int, int, int, int, int, int]]] = {}
    for (champion, challenger, unit), counts in sorted(found.items()):
        if counts[0] > 0:
            a, b, c, d, e, f = counts
            pairs.setdefault((champion, challenger), {})[unit] = (a, b, c, d, e, f)
    return pairs


def _ever_interleaved(conn: sa.Connection, endpoint: str) -> bool:
    """Whether ``endpoint`` has an interleaved impression at any time: a stored row (every
    folded one leaves one, compacted or not, and late feedback never adds one where its
    impression left none) or a request of the ``interleave`` arm not folded yet. Without
    one, every window's comparison is empty."""
    t, p = interleaving_rollups, predictions
    stored = sa.select(t.c.endpoint).where(t.c.endpoint == endpoint).limit(1)
    unfolded = (
        sa.select(p.c.request_id)
        .where(sa.not_(p.c.folded) & (unindexed(p.c.endpoint) == endpoint))
        .where(p.c.arm == "interleave")
        .limit(1)
    )
    return any(conn.execute(query).first() is not None for query in (stored, unfolded))
