"""ADWIN: adaptive windowing (wraps ``river.drift.ADWIN``)."""

from __future__ import annotations

from typing import Any

from champion.drift.streams._river import RiverWrapper
from champion.drift.streams.base import StreamSpec
from champion.validation import check_float, check_int

__all__ = ["ADWIN", "ADWIN_SPEC"]


class ADWIN(RiverWrapper):
    """Adaptive windowing: drops the old part of its window when its mean differs.

    ``river.drift.ADWIN(delta, clock, max_buckets, min_window_length, grace_period)``;
    ``delta`` is the confidence: smaller means fewer false alarms and later detections.

    Examples
    --------
    >>> import random
    >>> rng = random.Random(12345)
    >>> stream = rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)
    >>> adwin = ADWIN()
    >>> [i for i, x in enumerate(stream) if adwin.update(x).drift_detected]
    [1023]

    References
    ----------
    Bifet, A. and Gavalda, R. (2007). Learning from time-changing data with adaptive windowing.
    """

    def __init__(
        self,
        delta: float = 0.002,
        clock: int = 32,
        max_buckets: int = 5,
        min_window_length: int = 5,
        grace_period: int = 10,
    ) -> None:
        self.delta = check_float("ADWIN", "delta", delta, 0.0, 1.0)
        self.clock = check_int("ADWIN", "clock", clock, 1)
        self.max_buckets = check_int("ADWIN", "max_buckets", max_buckets, 1)
        self.min_window_length = check_int("ADWIN", "min_window_length", min_window_length, 1)
        self.grace_period = check_int("ADWIN", "grace_period", grace_period, 1)
        super().__init__()

    def _build(self) -> Any:
        from river import drift

        return drift.ADWIN(  # type: ignore[no-untyped-call]  # River's ADWIN is not annotated
            delta=self.delta,
            clock=self.clock,
            max_buckets=self.max_buckets,
            min_window_length=self.min_window_length,
            grace_period=self.grace_period,
        )

    @property
    def width(self) -> int:
        """The length of the current window."""
        return int(self._river.width)

    @property
    def estimation(self) -> float:
        """The mean of the current window."""
        return float(self._river.estimation)

    def _params(self) -> str:
        return f"delta={self.delta!r}"


ADWIN_SPEC = StreamSpec(
    name="adwin",
    display_name="ADWIN (adaptive windowing)",
    binary=False,
    factory=ADWIN,
    example_params={"delta": 0.002},
)
