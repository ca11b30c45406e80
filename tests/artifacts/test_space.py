"""Running out of disk or quota is told apart from every other failure to write."""

from __future__ import annotations

import errno
from http import HTTPStatus

import pytest

from champion.artifacts.space import out_of_space
from champion.errors import InsufficientStorage


@pytest.mark.parametrize(
    ("code", "reason"),
    [(errno.ENOSPC, "No space left on device"), (errno.EDQUOT, "Disk quota exceeded")],
)
def test_a_full_disk_or_quota_is_a_507_naming_where(code: int, reason: str) -> None:
    error = out_of_space(OSError(code, reason), "the artifact store at /srv/artifacts")
    assert isinstance(error, InsufficientStorage)
    assert error.status == HTTPStatus.INSUFFICIENT_STORAGE
    assert error.message.startswith(
        f"No space left in the artifact store at /srv/artifacts ({reason}): nothing was registered."
    )


@pytest.mark.parametrize("code", [errno.EACCES, errno.EROFS, errno.EIO])
def test_other_write_failures_are_not_taken_for_a_full_disk(code: int) -> None:
    assert out_of_space(OSError(code, "no"), "the artifact store") is None
