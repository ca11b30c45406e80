"""Where a model call runs: on the event loop, or in the version's own threads.

Handing a call to a thread and its answer back costs two thread switches (about 0.1 ms, as
much as a small scikit-learn model takes to answer one row). A call that only computes and is
known to be quick runs on the event loop instead. Everything else keeps its threads, where
the timeout applies and a hanging version blocks only itself.

The serving service observes each call's CPU time (of the thread that ran it), not its wall
time: a busy host that leaves the process waiting says nothing about the model.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CallPlacement"]

WARMUP_CALLS = 20
"""Calls a version makes in its threads before it may run inline: first calls are slow
(caches, lazy imports) and say little about the rest."""

SMOOTHING = 0.1
"""Weight of the newest call in the running means of seconds per call and per instance."""


@dataclass
class _Observed:
    calls: int = 0
    seconds_per_call: float = 0.0
    seconds_per_instance: float = 0.0

    def estimate(self, instances: int) -> float:
        # A call costs a fixed part and a part per instance. Neither mean alone predicts both
        # a one-row call after large batches (the per-instance mean is tiny) and a large
        # batch after one-row calls (the per-call mean is): take the larger of the two.
        return max(self.seconds_per_call, self.seconds_per_instance * instances)


class CallPlacement:
    """Decides per call; learns from every call's duration, inline or not.

    A call runs inline when the version's model only computes (the flavor says so), the
    version has answered ``WARMUP_CALLS`` calls, and the call's estimated cost (the larger of
    the running mean per call and the running mean per instance times its instances) is under
    the budget. One slow call raises the means and sends the next calls back to the threads
    until calls are quick again.

    Examples
    --------
    >>> placement = CallPlacement(budget_seconds=0.001)
    >>> for _ in range(WARMUP_CALLS):
    ...     placement.observe("churn/1", instances=1, seconds=0.0002)
    >>> placement.inline("churn/1", instances=1), placement.inline("churn/1", instances=100)
    (True, False)
    >>> placement.observe("churn/1", instances=1, seconds=0.05)  # one slow call
    >>> placement.inline("churn/1", instances=1)
    False
    """

    def __init__(self, budget_seconds: float) -> None:
        self.budget_seconds = budget_seconds
        self._observed: dict[object, _Observed] = {}

    def inline(self, version: object, instances: int) -> bool:
        observed = self._observed.get(version)
        if observed is None or observed.calls < WARMUP_CALLS:
            return False
        return observed.estimate(instances) < self.budget_seconds

    def observe(self, version: object, instances: int, seconds: float) -> None:
        observed = self._observed.get(version)
        if observed is None:
            observed = self._observed.setdefault(version, _Observed())
        per_instance = seconds / max(instances, 1)
        if observed.calls == 0:
            observed.seconds_per_call = seconds
            observed.seconds_per_instance = per_instance
        else:
            observed.seconds_per_call += SMOOTHING * (seconds - observed.seconds_per_call)
            observed.seconds_per_instance += SMOOTHING * (
                per_instance - observed.seconds_per_instance
            )
        observed.calls += 1
