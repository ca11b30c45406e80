"""Temporary files a crashed process left behind, told apart from those still being written.

Every temporary name carries ``<host>+<pid>+``. At start a server removes those of processes
on its own host that no longer run, and anything a day old (a process on another host that
shares the folder, or a reused pid, cannot hold a temporary file that long by accident).
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from pathlib import Path

__all__ = ["STALE_SECONDS", "is_leftover", "owner_tag", "sweep_folder"]

STALE_SECONDS = 24 * 3600.0


def owner_tag() -> str:
    """``<host>+<pid>+``: who writes a temporary file ('+' is never in a host name)."""
    return f"{socket.gethostname()}+{os.getpid()}+"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by someone else
    return True


def is_leftover(tagged: str, path: Path, *, now: float | None = None) -> bool:
    """True if ``path``, named ``<host>+<pid>+…`` after its prefix, belongs to no live writer."""
    try:
        age = (time.time() if now is None else now) - path.lstat().st_mtime
    except FileNotFoundError:
        return False
    if age > STALE_SECONDS:
        return True
    host, _, rest = tagged.partition("+")
    pid, _, _ = rest.partition("+")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    return int(pid) != os.getpid() and not _running(int(pid))


def sweep_folder(folder: Path, prefix: str) -> list[Path]:
    """Remove the leftovers named ``prefix<host>+<pid>+…`` directly in ``folder``."""
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for path in folder.glob(f"{prefix}*"):
        if is_leftover(path.name.removeprefix(prefix), path):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed
