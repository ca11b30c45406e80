"""DDM: the drift detection method on a binary error stream (wraps ``river.drift.binary.DDM``)."""

from __future__ import annotations

from typing import Any

from champion.drift.streams._river import RiverWrapper
from champion.drift.streams.base import StreamSpec
from champion.validation import check_float, check_int

__all__ = ["DDM", "DDM_SPEC"]


class DDM(RiverWrapper):
    """Watches the error rate of a classifier (1 = wrong, 0 = right), with a warning level.

    ``river.drift.binary.DDM(warm_start, warning_threshold, drift_threshold)``: a warning
    when the error rate rises ``warning_threshold`` standard deviations above its best level,
    a change at ``drift_threshold``.

    Examples
    --------
    River's own example, with the same result:

    >>> import random
    >>> rng = random.Random(42)
    >>> stream = rng.choices([0, 1], k=1000) + rng.choices([0, 1], k=1000, weights=[0.3, 0.7])
    >>> ddm = DDM()
    >>> warnings, changes, warned = [], [], False
    >>> for i, x in enumerate(stream):
    ...     _ = ddm.update(x)
    ...     if ddm.warning_detected and not warned:
    ...         warnings.append(i)
    ...         warned = True
    ...     if ddm.drift_detected:
    ...         changes.append(i)
    ...         warned = False
    >>> warnings[0], changes
    (1084, [1334])

    The first warning, at 1084, precedes the change found at 1334; River's example prints
    the same two indices.

    References
    ----------
    Gama, J., Medas, P., Castillo, G. and Rodrigues, P. (2004). Learning with drift detection.
    """

    def __init__(
        self, warm_start: int = 30, warning_threshold: float = 2.0, drift_threshold: float = 3.0
    ) -> None:
        owner = "DDM"
        self.warm_start = check_int(owner, "warm_start", warm_start, 1)
        self.warning_threshold = check_float(
            owner, "warning_threshold", warning_threshold, 0.0, float("inf")
        )
        self.drift_threshold = check_float(
            owner, "drift_threshold", drift_threshold, self.warning_threshold, float("inf")
        )
        super().__init__()

    def _build(self) -> Any:
        from river.drift.binary import DDM as RiverDDM

        return RiverDDM(
            warm_start=self.warm_start,
            warning_threshold=self.warning_threshold,
            drift_threshold=self.drift_threshold,
        )

    @property
    def warning_detected(self) -> bool:
        return bool(self._river.warning_detected)

    def _params(self) -> str:
        thresholds = (self.warning_threshold, self.drift_threshold)
        return "warning_threshold={!r}, drift_threshold={!r}".format(*thresholds)


DDM_SPEC = StreamSpec(
    name="ddm",
    display_name="DDM (drift detection method)",
    binary=True,
    factory=DDM,
    example_params={"warm_start": 30},
)
