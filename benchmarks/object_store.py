"""What object storage costs a replica: uploading a blob, its first load (download and hash
into the cache), and every later load (the cached copy hashed again), against the local folder.

    nice -n 10 .venv/bin/python benchmarks/object_store.py [--mib 64] [--repeat 3]
    nice -n 10 .venv/bin/python benchmarks/object_store.py --endpoint http://minio:9000 --bucket b

Without ``--endpoint`` it starts moto's S3 server (the test extra) on a free loopback port, so
the network is the loopback and the server is Python: the numbers show champion's share (the
hashing, the cache), not a real store's bandwidth. Each row is the best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import BinaryIO

import httpx
import numpy as np

from champion.artifacts import BlobCache, LocalArtifactStore, ObjectArtifactStore, ObjectUrl
from champion.server_process import free_port


@contextmanager
def _moto() -> Iterator[str]:
    url = f"http://127.0.0.1:{free_port()}"
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", url.rsplit(":", 1)[1]],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                httpx.get(f"{url}/moto-api/", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(30)


def _best(repeat: int, work: Callable[[], object], before: Callable[[], object] = int) -> float:
    times = []
    for _ in range(repeat):
        before()
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def _read(open_blob: Callable[[], BinaryIO]) -> None:
    with open_blob() as handle:
        while handle.read(1024 * 1024):
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64, help="size of the blob")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--endpoint", help="an S3 endpoint URL; default: start moto's server")
    parser.add_argument("--bucket", help="an existing bucket at --endpoint")
    args = parser.parse_args()

    server = nullcontext(args.endpoint) if args.endpoint else _moto()
    with tempfile.TemporaryDirectory() as scratch, server as endpoint:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(name, "benchmark")
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        root = Path(scratch)
        blob = root / "blob.bin"
        blob.write_bytes(np.random.default_rng(0).bytes(args.mib * 1024 * 1024))
        bucket = args.bucket or f"champion-bench-{uuid.uuid4().hex[:8]}"
        cache = BlobCache(root / "cache", max_bytes=2 * args.mib * 1024 * 1024)
        store = ObjectArtifactStore(ObjectUrl.parse(f"s3://{bucket}/bench"), cache)
        if not args.bucket:
            store.fs.mkdir(bucket)
        local = LocalArtifactStore(root / "local")
        sha256 = store.put(blob)
        local.put(blob)

        def remove_remote() -> None:
            store.delete(sha256)

        def remove_local() -> None:
            local.delete(sha256)

        rows = {
            "upload (put)": _best(args.repeat, lambda: store.put(blob), remove_remote),
            "local folder: put": _best(args.repeat, lambda: local.put(blob), remove_local),
            "first load: download + hash": _best(
                args.repeat, lambda: _read(lambda: store.open(sha256)), lambda: cache.drop(sha256)
            ),
            "later load: cached copy hashed": _best(
                args.repeat, lambda: _read(lambda: store.open(sha256))
            ),
            "local folder: read (not hashed)": _best(
                args.repeat, lambda: _read(lambda: local.open(sha256))
            ),
        }
        if not args.bucket:
            store.delete(sha256)
            store.fs.rmdir(bucket)
    print(f"| {args.mib} MiB blob | seconds | MiB/s |")
    print("| --- | ---: | ---: |")
    for name, seconds in rows.items():
        print(f"| {name} | {seconds:.3f} | {args.mib / seconds:,.0f} |")


if __name__ == "__main__":
    main()
