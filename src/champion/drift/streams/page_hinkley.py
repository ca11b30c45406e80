"""Page-Hinkley test (wraps ``river.drift.PageHinkley``)."""

from __future__ import annotations

from typing import Any

from champion.drift.streams._river import RiverWrapper
from champion.drift.streams.base import StreamSpec
from champion.validation import check_choice, check_float, check_int

__all__ = ["PAGE_HINKLEY_SPEC", "PageHinkley"]


class PageHinkley(RiverWrapper):
    """Cumulative deviation from the running mean; a change when it passes ``threshold``.

    ``river.drift.PageHinkley(min_instances, delta, threshold, alpha, mode)``: ``mode`` is
    ``up`` (the mean rises: errors grow), ``down`` or ``both``.

    Examples
    --------
    River's own example, with the same result:

    >>> import random
    >>> rng = random.Random(12345)
    >>> stream = rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)
    >>> ph = PageHinkley()
    >>> [i for i, x in enumerate(stream) if ph.update(x).drift_detected]
    [1006]

    References
    ----------
    Page, E. S. (1954). Continuous inspection schemes. Biometrika, 41(1/2), 100-115.
    """

    def __init__(
        self,
        min_instances: int = 30,
        delta: float = 0.005,
        threshold: float = 50.0,
        alpha: float = 1 - 0.0001,
        mode: str = "both",
    ) -> None:
        owner = "PageHinkley"
        self.min_instances = check_int(owner, "min_instances", min_instances, 1)
        self.delta = check_float(owner, "delta", delta, 0.0, float("inf"), closed="left")
        self.threshold = check_float(owner, "threshold", threshold, 0.0, float("inf"))
        self.alpha = check_float(owner, "alpha", alpha, 0.0, 1.0, closed="right")
        self.mode = check_choice(owner, "mode", mode, ("both", "down", "up"))
        super().__init__()

    def _build(self) -> Any:
        from river import drift

        return drift.PageHinkley(
            min_instances=self.min_instances,
            delta=self.delta,
            threshold=self.threshold,
            alpha=self.alpha,
            mode=self.mode,
        )

    def _params(self) -> str:
        return f"threshold={self.threshold!r}, mode={self.mode!r}"


PAGE_HINKLEY_SPEC = StreamSpec(
    name="page_hinkley",
    display_name="Page-Hinkley test",
    binary=False,
    factory=PageHinkley,
    example_params={"threshold": 50.0, "mode": "both"},
)
