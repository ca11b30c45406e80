"""Contract checks that every implementation of an extension point must pass.

``check_policy`` (routing policies), ``check_stattest`` (statistical tests),
``check_detector`` (batch drift detectors), ``check_stream_detector`` (online change
detectors), ``check_flavor`` (model flavors) and ``check_sink`` (where alerts go): one
module each, all here.

Plugin authors run them on their own classes; champion's test suite runs them on every
registered implementation (tests/contracts/). A statistical test that defines
``reference_case(seed)`` (a :class:`~champion.evaluation.ReferenceCase`: arms and what its
SciPy counterpart gives on them) is also checked against that counterpart.
"""

from __future__ import annotations

from champion.testing.detectors import check_detector
from champion.testing.flavors import check_flavor
from champion.testing.policies import check_policy
from champion.testing.sinks import check_sink
from champion.testing.stattests import check_stattest
from champion.testing.streams import check_stream_detector

__all__ = [
    "check_detector",
    "check_flavor",
    "check_policy",
    "check_sink",
    "check_stattest",
    "check_stream_detector",
]
