from __future__ import annotations

import pytest

from champion.drift import default_detectors, default_stream_detectors
from champion.testing import check_detector, check_stream_detector


@pytest.mark.parametrize("name", default_detectors().names())
def test_every_batch_detector_keeps_the_contract(name: str) -> None:
    check_detector(default_detectors().get(name))


@pytest.mark.parametrize("name", default_stream_detectors().names())
def test_every_stream_detector_keeps_the_contract(name: str) -> None:
    check_stream_detector(default_stream_detectors().get(name))
