"""Disk full and over quota: what ran out, said so, instead of an internal error."""

from __future__ import annotations

import errno

from champion.errors import InsufficientStorage

__all__ = ["OUT_OF_SPACE", "out_of_space"]

OUT_OF_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
"""No space left on the device, and a disk quota exceeded."""


def out_of_space(exc: OSError, where: str) -> InsufficientStorage | None:
    """The 507 for ``exc`` if it means the disk or quota ran out, else None.

    >>> out_of_space(OSError(errno.ENOSPC, "No space left on device"), "the store").status
    <HTTPStatus.INSUFFICIENT_STORAGE: 507>
    """
    if exc.errno not in OUT_OF_SPACE:
        return None
    return InsufficientStorage(
        f"No space left in {where} ({exc.strerror}): nothing was registered. "
        "Free space (or raise the quota) there and send it again."
    )
