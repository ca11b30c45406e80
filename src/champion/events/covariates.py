"""Pre-experiment covariates for CUPED: each unit's own history.

For a ratio metric (:data:`~champion.events.arms.RATIOS`), every unit of the experiment
window is joined with the same metric's numerator and denominator over the endpoint's
requests in a pre-period before the experiment started (whatever served them then); a unit
with no request in the pre-period has 0 for both. Both sides are per-unit totals from the
rollups plus what is not folded yet, exact at any pre-period start (see ``aggregates``).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from champion.events.aggregates import Scope
from champion.events.arms import RATIOS, ArmWindow, unit_totals

__all__ = ["covariate_sums"]

_SUMS = ("x", "y", "xx", "yy", "xy", "u", "v", "uu", "vv", "uv", "xu", "xv", "yu", "yv")


def covariate_sums(
    conn: sa.Connection, window: ArmWindow, metric: str, pre_start: datetime, pre_end: datetime
) -> dict[str, tuple[int, tuple[float, ...]]]:
    """Per arm of ``window``: ``(n, (Σx, Σy, Σx², Σy², Σxy, Σu, Σv, Σu², Σv², Σuv, Σxu, Σxv,
    Σyu, Σyv))`` where ``(x, y)`` is the unit's ``metric`` in the window and ``(u, v)`` the
    same in ``[pre_start, pre_end)`` on the same endpoint."""
    x_name, y_name = RATIOS[metric]
    current = unit_totals(conn, window.scope, (x_name, y_name))
    before: dict[str, tuple[float, float]] = {}
    pre = Scope(window.endpoint, start=pre_start, end=pre_end)
    for (_, unit), values in unit_totals(conn, pre, (x_name, y_name)).items():
        u, v = before.get(unit, (0.0, 0.0))
        # A unit served by several arms in the pre-period has one history: their sum
        # (``one`` is 1 per unit, whatever served it).
        if y_name == "one":
            before[unit] = (u + values[x_name], 1.0)
        elif x_name == "one":
            before[unit] = (1.0, v + values[y_name])
        else:
            before[unit] = (u + values[x_name], v + values[y_name])
    found: dict[str, list[float]] = {}
    for (arm, unit), values in sorted(current.items()):
        x, y = values[x_name], values[y_name]
        u, v = before.get(unit, (0.0, 0.0))
        terms = {"x": x, "y": y, "u": u, "v": v}
        into = found.setdefault(arm, [0.0] * (len(_SUMS) + 1))
        into[0] += 1
        for n, name in enumerate(_SUMS, start=1):
            into[n] += terms[name[0]] if len(name) == 1 else terms[name[0]] * terms[name[1]]
    return {arm: (int(sums[0]), tuple(sums[1:])) for arm, sums in found.items()}
