"""Pre-experiment covariates for CUPED, computed in SQL: each unit's own history.

For a ratio metric (:data:`~champion.events.arms.RATIOS`), every unit of the experiment
window is joined with the same metric's numerator and denominator over the endpoint's
requests in a pre-period before the experiment started (whatever served them then); a unit
with no request in the pre-period has 0 for both. The database returns the fifteen sums per
arm that CUPED on a ratio metric needs, so no per-unit row leaves it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from champion.events.arms import RATIOS, ArmWindow, _per_request
from champion.events.tables import predictions

__all__ = ["covariate_sums"]

_SUMS = ("x", "y", "xx", "yy", "xy", "u", "v", "uu", "vv", "uv", "xu", "xv", "yu", "yv")


def _per_unit(window: ArmWindow, metric: str, by_arm: bool) -> sa.Subquery:
    request = _per_request(window)
    x_name, y_name = RATIOS[metric]

    def total(name: str) -> Any:
        if name == "requests":
            return sa.func.count()
        if name == "one":
            return sa.literal(1.0)
        return sa.func.sum(request.c[name])

    keys = [request.c.arm, request.c.unit] if by_arm else [request.c.unit]
    return (
        sa.select(*keys, total(x_name).label("x"), total(y_name).label("y"))
        .group_by(*keys)
        .subquery()
    )


def covariate_sums(
    conn: sa.Connection, window: ArmWindow, metric: str, pre_start: datetime, pre_end: datetime
) -> dict[str, tuple[int, tuple[float, ...]]]:
    """Per arm of ``window``: ``(n, (Σx, Σy, Σx², Σy², Σxy, Σu, Σv, Σu², Σv², Σuv, Σxu, Σxv,
    Σyu, Σyv))`` where ``(x, y)`` is the unit's ``metric`` in the window and ``(u, v)`` the
    same in ``[pre_start, pre_end)`` on the same endpoint."""
    p = predictions
    seen = (
        sa.select(p.c.arm)
        .distinct()
        .where((p.c.endpoint == window.endpoint) & (p.c.at >= pre_start) & (p.c.at < pre_end))
    )
    before = [str(arm) for arm in conn.execute(seen).scalars()]
    current = _per_unit(window, metric, by_arm=True)
    joined: sa.FromClause = current
    u: sa.ColumnElement[Any] = sa.literal(0.0)
    v: sa.ColumnElement[Any] = sa.literal(0.0)
    if before:
        history = _per_unit(
            ArmWindow(window.endpoint, before, None, pre_start, pre_end), metric, False
        )
        joined = current.outerjoin(history, history.c.unit == current.c.unit)
        u = sa.func.coalesce(history.c.x, 0.0)
        v = sa.func.coalesce(history.c.y, 0.0)
    x, y = current.c.x, current.c.y
    values = {"x": x, "y": y, "u": u, "v": v}
    columns: list[Any] = [current.c.arm, sa.func.count()]
    for name in _SUMS:
        first, second = values[name[0]], values[name[-1]]
        columns.append(sa.func.sum(first if len(name) == 1 else first * second))
    query = sa.select(*columns).select_from(joined).group_by(current.c.arm)
    return {
        str(row[0]): (int(row[1]), tuple(float(value or 0.0) for value in row[2:]))
        for row in conn.execute(query)
    }
