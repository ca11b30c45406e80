"""The contract every stream detector must pass; run on every registered one."""

from __future__ import annotations

import random

from champion.drift.streams.base import StreamDetector, StreamSpec, WarningDetector

__all__ = ["check_stream_detector"]


def _stream(binary: bool, seed: int) -> tuple[list[float], int]:
    """A calm stream and then a clear change; returns the values and the change index."""
    rng = random.Random(seed)
    calm: list[float]
    changed: list[float]
    if binary:
        calm = [float(x) for x in rng.choices([0, 1], weights=[0.8, 0.2], k=2000)]
        changed = [float(x) for x in rng.choices([0, 1], weights=[0.3, 0.7], k=2000)]
    else:
        calm = [rng.gauss(0.0, 0.5) for _ in range(2000)]
        changed = [rng.gauss(1.0, 0.5) for _ in range(2000)]
    return calm + changed, len(calm)


def check_stream_detector(spec: StreamSpec) -> None:
    """Check a stream detector's contract with its example parameters.

    * ``update`` returns the detector itself and ``n_seen`` counts every value;
    * ``drift_detected`` (and ``warning_detected``, where offered) are read-only booleans;
    * a calm stream of 2,000 values raises at most two false changes; a change of two
      standard deviations in the mean (of the error rate, for binary detectors) is found
      after it happened;
    * two detectors built alike agree on every value (no hidden randomness).

    >>> from champion.drift.streams import default_stream_detectors
    >>> check_stream_detector(default_stream_detectors().get("page_hinkley"))

    Raises ``AssertionError`` naming the broken rule.
    """
    assert spec.name and spec.display_name, "a stream detector needs a name and a display name"
    values, change = _stream(spec.binary, seed=len(spec.name))
    first, second = spec.build(**spec.example_params), spec.build(**spec.example_params)
    assert isinstance(first, StreamDetector), f"{spec.name}: not a StreamDetector"
    warnings = isinstance(first, WarningDetector)
    for flag in ("drift_detected", *(("warning_detected",) if warnings else ())):
        try:
            setattr(first, flag, True)
        except AttributeError:
            pass
        else:
            raise AssertionError(f"{spec.name}: {flag} must be read-only")
    detected = []
    for i, x in enumerate(values):
        returned = first.update(x)
        assert returned is first, f"{spec.name}: update() must return the detector itself"
        second.update(x)
        assert isinstance(first.drift_detected, bool), f"{spec.name}: drift_detected not a bool"
        assert first.drift_detected == second.drift_detected, f"{spec.name}: differs at {i}"
        if warnings:
            assert isinstance(first, WarningDetector)
            assert isinstance(first.warning_detected, bool), f"{spec.name}: warning not a bool"
        if first.drift_detected:
            detected.append(i)
    assert first.n_seen == len(values), f"{spec.name}: n_seen {first.n_seen} != {len(values)}"
    false = [i for i in detected if i < change]
    assert len(false) <= 2, f"{spec.name}: {len(false)} false changes on a calm stream"
    assert any(i >= change for i in detected), f"{spec.name}: missed a clear change"
