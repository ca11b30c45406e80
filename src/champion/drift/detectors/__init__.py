"""Batch drift detectors, registered by name."""

from __future__ import annotations

from champion.drift.detectors.base import BatchDetector, DetectorSpec, DriftResult
from champion.drift.detectors.chi2 import CHI2, Chi2Detector
from champion.drift.detectors.jensen_shannon import JENSEN_SHANNON, JensenShannonDetector
from champion.drift.detectors.ks import KS, KsDetector
from champion.drift.detectors.psi import PSI, PsiDetector, psi_band
from champion.drift.detectors.wasserstein import WASSERSTEIN, WassersteinDetector
from champion.plugins import Registry

__all__ = [
    "CHI2",
    "JENSEN_SHANNON",
    "KS",
    "PSI",
    "WASSERSTEIN",
    "BatchDetector",
    "Chi2Detector",
    "DetectorSpec",
    "DriftResult",
    "JensenShannonDetector",
    "KsDetector",
    "PsiDetector",
    "WassersteinDetector",
    "default_detectors",
    "psi_band",
]

_BUILT_IN: tuple[DetectorSpec, ...] = (CHI2, JENSEN_SHANNON, KS, PSI, WASSERSTEIN)


def default_detectors() -> Registry[DetectorSpec]:
    """A fresh registry with the built-in detectors and those from ``champion.detectors``.

    >>> default_detectors().names()
    ['chi2', 'jensen_shannon', 'ks', 'psi', 'wasserstein']
    """
    detectors: Registry[DetectorSpec] = Registry("detector", "detectors", "champion.detectors")
    for spec in _BUILT_IN:
        detectors.register(spec.name, spec)
    return detectors
