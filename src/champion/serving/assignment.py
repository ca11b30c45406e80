"""Deterministic assignment of units to buckets: the same unit lands in the same bucket on
every replica, after every restart, in every Python process (no use of ``hash()``)."""

from __future__ import annotations

import hashlib

__all__ = ["BUCKETS", "bucket"]

BUCKETS = 10_000


def bucket(salt: str, unit: str) -> int:
    """Return ``hash(salt, unit) mod 10000`` with a stable hash (BLAKE2b, 8 bytes).

    Examples
    --------
    >>> bucket("recs-exp-1", "user-42")
    1868
    >>> bucket("recs-exp-1", "user-42") == bucket("recs-exp-1", "user-42")
    True
    """
    # The separator keeps ("ab", "c") and ("a", "bc") apart.
    digest = hashlib.blake2b(f"{salt}\x1f{unit}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS
