"""A bounded local spool: prediction events wait here, in order, while the database refuses them.

Each writer appends to a file of its own under one folder (``<home>/spool``), one event per
line, and holds an exclusive ``flock`` on it while it lives. A file nobody holds was left by a
process that crashed or stopped during an outage: the next writer to look adopts it and
replays it before its own. Replays are idempotent (rows are keyed by request id and inserted
with ``ON CONFLICT DO NOTHING``), so a file replayed twice, after a crash mid-replay, stores
each event once.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = ["EventSpool"]

logger = logging.getLogger("champion.events")

_SUFFIX = ".spool"


@dataclass
class _File:
    path: Path
    handle: IO[bytes]  # holds the flock; appends go through it for the writer's own file
    offset: int = 0  # bytes already replayed
    size: int = 0


class EventSpool:
    """Append-only files of encoded events, capped at ``max_bytes`` for this writer's file.

    ``append`` writes what fits under the cap and fsyncs once per call (one call per batch of
    events); ``replay`` hands the lines back, oldest first, to a function that stores them and
    raises when the database still refuses.

    Examples
    --------
    >>> import tempfile
    >>> spool = EventSpool(Path(tempfile.mkdtemp()), max_bytes=10)
    >>> spool.open()
    >>> spool.append([b"one", b"two", b"three"])  # 4 + 4 bytes fit, "three" would not
    2
    >>> stored = []
    >>> spool.replay(stored.extend, batch_size=100)
    2
    >>> stored, spool.waiting_bytes
    ([b'one', b'two'], 0)
    >>> spool.close()
    """

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self._own: _File | None = None
        self._orphans: list[_File] = []

    def open(self) -> None:
        """Create this writer's file and adopt files left by processes that are gone."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{os.getpid()}-{uuid.uuid4().hex[:12]}{_SUFFIX}"
        # Events hold the requests' inputs: readable by the server's user only. Unbuffered, so
        # a failed write leaves nothing behind in a buffer to reach the file later.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        handle = open(descriptor, "ab", buffering=0)
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._own = _File(path, handle)
        self.adopt()

    def adopt(self) -> int:
        """Take over every spool file no living writer holds; returns the bytes waiting in them."""
        held = {f.path for f in self._orphans}
        if self._own is not None:
            held.add(self._own.path)
        found = 0
        for path in sorted(self.folder.glob(f"*{_SUFFIX}"), key=_age):
            if path in held:
                continue
            try:
                handle = open(path, "rb")
            except FileNotFoundError:  # replayed and removed by another writer meanwhile
                continue
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()  # a living writer's own file
                continue
            size = os.fstat(handle.fileno()).st_size
            if size == 0 or not path.exists():
                handle.close()
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                continue
            logger.warning("Replaying %d bytes of prediction events left in %s", size, path)
            self._orphans.append(_File(path, handle, size=size))
            found += size
        return found

    @property
    def waiting_bytes(self) -> int:
        """Bytes of events not yet replayed, in this writer's file and adopted ones."""
        files = [*self._orphans, *([self._own] if self._own else [])]
        return sum(f.size - f.offset for f in files)

    @property
    def size(self) -> int:
        """Bytes in this writer's file (what the cap applies to)."""
        return self._own.size if self._own is not None else 0

    def append(self, lines: Sequence[bytes]) -> int:
        """Append as many of ``lines`` (in order) as fit under the cap; returns how many.

        A line must hold no newline. A failed write (a full disk) is undone, so the file
        never ends in half a line, and counts as nothing appended.
        """
        own = self._own
        if own is None:
            raise RuntimeError("EventSpool.append before open()")
        room = self.max_bytes - own.size
        taken: list[bytes] = []
        for line in lines:
            room -= len(line) + 1
            if room < 0:
                break
            taken.append(line)
        if not taken:
            return 0
        data = b"\n".join(taken) + b"\n"
        try:
            view, written = memoryview(data), 0
            while written < len(data):  # a raw write may take part of it (a disk filling up)
                written += own.handle.write(view[written:]) or 0
            os.fsync(own.handle.fileno())
        except OSError as exc:
            logger.error("Cannot append to the event spool %s: %s", own.path, exc)
            with contextlib.suppress(OSError):
                own.handle.truncate(own.size)
            return 0
        own.size += len(data)
        return len(taken)

    def replay(
        self, store: Callable[[list[bytes]], object], batch_size: int, limit: int | None = None
    ) -> int:
        """Hand waiting lines to ``store``, oldest file first, ``batch_size`` at a time, until
        none waits or about ``limit`` were handed over (whole batches).

        Stops at the first exception from ``store`` (which propagates); what ``store``
        accepted stays replayed. A file fully replayed is removed (this writer's own is
        emptied). Returns how many lines were handed over.
        """
        done = 0
        for spooled in [*self._orphans, *([self._own] if self._own else [])]:
            if limit is not None and done >= limit:
                break
            done += self._replay_file(
                spooled, store, batch_size, None if limit is None else limit - done
            )
            if spooled.offset < spooled.size:
                break  # the limit came first
            if spooled is self._own:
                spooled.handle.truncate(0)
                spooled.size = spooled.offset = 0
            else:
                self._orphans.remove(spooled)
                spooled.path.unlink(missing_ok=True)
                spooled.handle.close()
        return done

    def _replay_file(
        self,
        spooled: _File,
        store: Callable[[list[bytes]], object],
        batch_size: int,
        limit: int | None,
    ) -> int:
        done = 0
        with open(spooled.path, "rb") as reader:
            reader.seek(spooled.offset)
            while spooled.offset < spooled.size and (limit is None or done < limit):
                lines: list[bytes] = []
                read = 0
                while len(lines) < batch_size and spooled.offset + read < spooled.size:
                    line = reader.readline()
                    read += len(line)
                    if not line.endswith(b"\n"):  # a crash cut the last append short
                        logger.error("Skipping a cut-off event at the end of %s", spooled.path)
                        read = spooled.size - spooled.offset
                        break
                    lines.append(line[:-1])
                if lines:
                    store(lines)
                spooled.offset += read
                done += len(lines)
        return done

    def close(self) -> None:
        """Let go of the files; this writer's own is removed when nothing waits in it."""
        for spooled in self._orphans:
            spooled.handle.close()
        self._orphans = []
        own, self._own = self._own, None
        if own is None:
            return
        if own.size == own.offset:
            own.path.unlink(missing_ok=True)
        else:
            logger.warning(
                "%d bytes of prediction events wait in %s; the next server start replays them.",
                own.size - own.offset,
                own.path,
            )
        own.handle.close()


def _age(path: Path) -> tuple[float, str]:
    try:
        return (path.stat().st_mtime, path.name)
    except FileNotFoundError:
        return (0.0, path.name)
