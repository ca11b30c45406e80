"""A scripted ranker's event log: lists drawn from a popularity curve, repeated per user.

Each unit asks ``1..4`` times in a window and sees the same list each time (a ranker that
precomputes lists, as the demo's do), so impressions cluster by unit. A shift makes the
curve steeper: lists hold more of the popular items, as a model drifting to bestsellers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from tests.fixtures.events import T0, EventLog

CATALOGUE = 200
LIST_LENGTH = 10
HOUR = timedelta(hours=1)


def popularity(steepness: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, CATALOGUE + 1) ** steepness
    shares: np.ndarray = weights / weights.sum()
    return shares


def draw_lists(
    rng: np.random.Generator, units: int, steepness: float
) -> list[tuple[str, list[str], int]]:
    """``(unit, list, requests)`` per unit."""
    weights = popularity(steepness)
    return [
        (
            f"u{u}",
            [f"item{i}" for i in rng.choice(CATALOGUE, LIST_LENGTH, replace=False, p=weights)],
            int(rng.integers(1, 5)),
        )
        for u in range(units)
    ]


def exposures(lists: list[tuple[str, list[str], int]]) -> pd.DataFrame:
    """The same lists as ``item_drift`` reads them: one row per unit and item."""
    return pd.DataFrame(
        [(unit, item, n) for unit, shown, n in lists for item in shown],
        columns=["unit", "item", "impressions"],
    )


def log_window(
    log: EventLog,
    rng: np.random.Generator,
    start: datetime,
    *,
    units: int = 150,
    steepness: float = 0.8,
    version: int = 1,
    click_rate: float = 0.1,
) -> None:
    """Rankings served in ``[start, start + 1h)``; clicks fall off with position."""
    for unit, shown, requests in draw_lists(rng, units, steepness):
        for _ in range(requests):
            at = start + HOUR * float(rng.uniform(0, 0.99))
            request = log.predict("single", unit, version=version, at=at, items=shown, model="recs")
            for position, item in enumerate(shown, start=1):
                if rng.uniform() < click_rate / position**0.5:
                    log.react(request, "click", item=item)


def scripted(seed: int, *, shift: float = 0.0, units: int = 150) -> EventLog:
    """A reference hour from ``T0`` and a current hour after it (``shift`` steeper)."""
    rng = np.random.default_rng(seed)
    log = EventLog(endpoint="recs")
    log_window(log, rng, T0, units=units)
    log_window(log, rng, T0 + HOUR, units=units, steepness=0.8 + shift)
    return log
