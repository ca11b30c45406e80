from __future__ import annotations

import random

import pytest

from champion.drift import ADWIN, DDM, PageHinkley, default_stream_detectors
from champion.errors import InvalidInput, UnknownName


def test_page_hinkley_reproduces_rivers_docstring() -> None:
    rng = random.Random(12345)
    stream = rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)
    detector = PageHinkley()
    assert [i for i, x in enumerate(stream) if detector.update(x).drift_detected] == [1006]


def test_ddm_reproduces_rivers_docstring() -> None:
    rng = random.Random(42)
    stream = rng.choices([0, 1], k=1000) + rng.choices([0, 1], k=1000, weights=[0.3, 0.7])
    detector = DDM()
    warnings, changes = [], []
    for i, x in enumerate(stream):
        detector.update(x)
        if detector.warning_detected:
            warnings.append(i)
        if detector.drift_detected:
            changes.append(i)
    assert warnings[0] == 1084 and changes == [1334]
    assert all(1084 <= i < 1334 for i in warnings if i < 1334)


def test_adwin_shrinks_its_window_after_a_change() -> None:
    rng = random.Random(1)
    detector = ADWIN()
    for _ in range(1000):
        detector.update(rng.gauss(0.0, 0.1))
    assert detector.width == 1000 and abs(detector.estimation) < 0.02
    found = [i for i in range(1000) if detector.update(rng.gauss(1.0, 0.1)).drift_detected]
    assert found and found[0] < 100 and detector.width < 1000


def test_only_ddm_offers_warnings_and_flags_are_read_only() -> None:
    assert not hasattr(ADWIN(), "warning_detected")
    detector = DDM()
    with pytest.raises(AttributeError):
        detector.drift_detected = True  # type: ignore[misc]  # the point: read-only


@pytest.mark.parametrize(
    ("factory", "params", "message"),
    [
        (ADWIN, {"delta": 0.0}, "'delta' parameter of ADWIN"),
        (ADWIN, {"clock": 0}, "'clock' parameter of ADWIN"),
        (PageHinkley, {"mode": "sideways"}, "'mode' parameter of PageHinkley"),
        (PageHinkley, {"threshold": -1.0}, "'threshold' parameter of PageHinkley"),
        (DDM, {"warning_threshold": 3.0, "drift_threshold": 2.0}, "'drift_threshold'"),
    ],
)
def test_invalid_parameters_are_refused(
    factory: type, params: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        factory(**params)


def test_unknown_detector_lists_the_known_ones() -> None:
    with pytest.raises(UnknownName, match="Known stream detectors: adwin, ddm, page_hinkley"):
        default_stream_detectors().get("kswin")
