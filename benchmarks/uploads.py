"""How much the bounded, member-by-member unpacking of an upload costs, and how soon a
decompression bomb stops.

Compares champion's ``unpack`` (stream mode, each member's size counted before it is written)
with one ``tarfile.extractall(filter="data")`` on the same archive of incompressible files,
then times the refusal of a small archive that would expand far past the limit.

    nice -n 10 .venv/bin/python benchmarks/uploads.py            # 256 MiB in 64 files
    nice -n 10 .venv/bin/python benchmarks/uploads.py --mib 64 --files 1000
"""

from __future__ import annotations

import argparse
import io
import os
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from champion.api.uploads import unpack
from champion.errors import PayloadTooLarge


def _archive(files: dict[str, bytes | int]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as archive:
        for name, data in files.items():
            payload = bytes(data) if isinstance(data, int) else data
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def _best(runs: int, work: Callable[[Path], None]) -> float:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            work(Path(folder))
            times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256, help="total size of the files")
    parser.add_argument("--files", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = args.mib * 1024 * 1024 // args.files
    files: dict[str, bytes | int] = {"champion.yaml": b"kind: classifier\nflavor: sklearn\n"}
    files |= {f"data/{i:05d}.bin": os.urandom(size) for i in range(args.files)}
    archive = _archive(files)
    limit = 4 * 1024**3

    def bounded(folder: Path) -> None:
        unpack(io.BytesIO(archive), folder, max_bytes=limit, max_files=100_000)

    def plain(folder: Path) -> None:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
            tar.extractall(folder, filter="data")

    mib = args.mib
    for name, work in (("tarfile.extractall", plain), ("champion unpack", bounded)):
        seconds = _best(args.runs, work)
        print(f"{name:<20} {args.files:>6} files {mib:>5} MiB  {seconds:6.3f} s  "
              f"{mib / seconds:7.1f} MiB/s")  # fmt: skip

    bomb = _archive({"champion.yaml": b"kind: classifier\n", "zeros.bin": 1024**3})
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        try:
            unpack(io.BytesIO(bomb), Path(folder), max_bytes=64 * 1024**2, max_files=10)
        except PayloadTooLarge:
            pass
        written = sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())
    print(f"bomb: {len(bomb) / 1024:.0f} KiB archive of 1 GiB, limit 64 MiB: refused in "
          f"{time.perf_counter() - started:.3f} s with {written} bytes written")  # fmt: skip


if __name__ == "__main__":
    main()
