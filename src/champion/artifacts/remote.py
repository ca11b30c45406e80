"""Blobs in S3-compatible object storage, shared by every replica, cached by each.

Needs the ``s3`` extra (fsspec and s3fs). The endpoint, region and credentials come from the
usual AWS variables and files (``AWS_ENDPOINT_URL``, ``AWS_REGION``, ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, ...), as for any AWS tool.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from champion.artifacts.cache import BlobCache
from champion.artifacts.local import sha256_file
from champion.errors import ChampionError, InvalidInput, MissingExtra, NotFound, Unavailable

__all__ = ["SETTING", "ObjectArtifactStore", "ObjectUrl"]

SETTING = "CHAMPION_ARTIFACTS_URL"
_AWS = (
    "The endpoint, region and credentials come from AWS_ENDPOINT_URL, AWS_REGION and "
    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)."
)
T = TypeVar("T")


# S3's rules for bucket names: 3-63 lower-case letters, digits, dots and hyphens.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


@dataclass(frozen=True)
class ObjectUrl:
    """``s3://bucket/prefix``, the prefix without its slashes at either end.

    >>> ObjectUrl.parse("s3://models/champion/prod/")
    ObjectUrl(bucket='models', prefix='champion/prod')
    >>> str(ObjectUrl.parse("s3://models"))
    's3://models'
    """

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> ObjectUrl:
        scheme, sep, rest = url.partition("://")
        bucket, _, prefix = rest.partition("/")
        if scheme != "s3" or not sep or not _BUCKET.fullmatch(bucket):
            raise InvalidInput(
                f"{SETTING} must be an s3://bucket/prefix URL (a bucket name of 3 to 63 "
                f"lower-case letters, digits, dots and hyphens). Got {url!r} instead."
            )
        return cls(bucket, prefix.strip("/"))

    @property
    def path(self) -> str:
        """``bucket/prefix`` as fsspec names it."""
        return f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket

    def __str__(self) -> str:
        return f"s3://{self.path}"


def _filesystem() -> Any:
    try:
        import s3fs
    except ImportError:
        raise MissingExtra(
            f"{SETTING} names an s3:// bucket, which needs the s3 extra: pip install 'champion[s3]'"
        ) from None
    # No listing cache: another replica may add or remove a blob at any time. No shared
    # instance: each store reads the AWS variables of its own time.
    return s3fs.S3FileSystem(use_listings_cache=False, skip_instance_cache=True)


class ObjectArtifactStore:
    """Blobs at ``s3://<bucket>/<prefix>/<sha[:2]>/<sha>``, loaded through ``cache``.

    A put is one S3 PUT (or a multipart upload completed at once): a blob exists whole or
    not at all. Every blob read, from the bucket or from the cache, is hashed and refused
    (ArtifactTampered) if it does not match its name.
    """

    def __init__(self, url: ObjectUrl, cache: BlobCache) -> None:
        self.url = url
        self.cache = cache
        self._fs: Any = None

    @property
    def fs(self) -> Any:
        if self._fs is None:
            self._fs = _filesystem()
        return self._fs

    def _key(self, sha256: str) -> str:
        return f"{self.url.path}/{sha256[:2]}/{sha256}"

    def _call(self, what: str, work: Callable[[], T]) -> T:
        """``work()``, with any failure but a missing key said as a 503 naming the store."""
        try:
            return work()
        except (ChampionError, FileNotFoundError):
            raise
        except Exception as exc:  # botocore, aiohttp and OS errors alike: the store failed
            raise Unavailable(
                f"The artifact store {self.url} ({SETTING}) could not {what}: "
                f"{type(exc).__name__}: {exc}. {_AWS}"
            ) from None

    def check(self) -> None:
        """Raise Unavailable, naming the setting, unless the bucket answers now."""
        try:
            self._call("be reached", lambda: self.fs.info(self.url.bucket))
        except FileNotFoundError:
            raise Unavailable(
                f"The artifact store {self.url} ({SETTING}) could not be reached: bucket "
                f"{self.url.bucket!r} does not exist. Create it, or correct {SETTING}."
            ) from None

    def put(self, path: Path) -> str:
        sha256 = sha256_file(path)
        key = self._key(sha256)
        if not self._call(f"look up blob {sha256}", lambda: self.fs.exists(key)):
            self._call(f"store blob {sha256}", lambda: self.fs.put_file(str(path), key))
        return sha256

    def open(self, sha256: str) -> BinaryIO:
        cached = self.cache.open(sha256)
        if cached is not None:
            return cached
        try:
            source = self._call(f"read blob {sha256}", lambda: self.fs.open(self._key(sha256)))
            with source:
                return self._call(
                    f"read blob {sha256}", lambda: self.cache.fill(sha256, source, str(self.url))
                )
        except FileNotFoundError:  # absent, or removed while it was read
            raise NotFound(
                f"Artifact blob {sha256} is missing from the store at {self.url}."
            ) from None

    def exists(self, sha256: str) -> bool:
        return self._call(f"look up blob {sha256}", lambda: bool(self.fs.exists(self._key(sha256))))

    def delete(self, sha256: str) -> None:
        """Remove the blob from the bucket (and this replica's cache); absent is fine."""
        self.cache.drop(sha256)
        try:
            self._call(f"remove blob {sha256}", lambda: self.fs.rm_file(self._key(sha256)))
        except FileNotFoundError:
            pass

    def sweep(self) -> list[Path]:
        """Remove downloads into the cache left half-written by a process that died."""
        return self.cache.sweep()
