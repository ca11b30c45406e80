"""Online change detectors (River's ADWIN, Page-Hinkley and DDM), registered by name."""

from __future__ import annotations

from champion.drift.streams.adwin import ADWIN, ADWIN_SPEC
from champion.drift.streams.base import StreamDetector, StreamSpec, WarningDetector
from champion.drift.streams.ddm import DDM, DDM_SPEC
from champion.drift.streams.page_hinkley import PAGE_HINKLEY_SPEC, PageHinkley
from champion.plugins import Registry

__all__ = [
    "ADWIN",
    "ADWIN_SPEC",
    "DDM",
    "DDM_SPEC",
    "PAGE_HINKLEY_SPEC",
    "PageHinkley",
    "StreamDetector",
    "StreamSpec",
    "WarningDetector",
    "default_stream_detectors",
]

_BUILT_IN = (ADWIN_SPEC, DDM_SPEC, PAGE_HINKLEY_SPEC)


def default_stream_detectors() -> Registry[StreamSpec]:
    """A fresh registry of the built-in stream detectors and those from entry points.

    Third parties register a ``StreamSpec`` under the ``champion.stream_detectors`` group.

    >>> detectors = default_stream_detectors()
    >>> detectors.names()
    ['adwin', 'ddm', 'page_hinkley']
    >>> detectors.get("ddm").build().update(1).n_seen
    1
    """
    detectors: Registry[StreamSpec] = Registry(
        "stream detector", "stream detectors", "champion.stream_detectors"
    )
    for spec in _BUILT_IN:
        detectors.register(spec.name, spec)
    return detectors
