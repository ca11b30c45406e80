"""Which artifact store a setting names: the local folder, or an s3:// bucket and prefix."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from champion.artifacts.cache import BlobCache
from champion.artifacts.local import LocalArtifactStore
from champion.artifacts.remote import SETTING, ObjectArtifactStore
from champion.artifacts.store import ArtifactStore
from champion.errors import InvalidInput

__all__ = ["ObjectUrl", "open_artifact_store"]

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


def open_artifact_store(
    url: str | None, *, folder: Path, cache_folder: Path, cache_bytes: int
) -> ArtifactStore:
    """The local store in ``folder`` when ``url`` is unset, else the bucket it names, cached
    in ``cache_folder`` up to ``cache_bytes``. Nothing is read or written until first use."""
    if not url:
        return LocalArtifactStore(folder)
    return ObjectArtifactStore(ObjectUrl.parse(url), BlobCache(cache_folder, cache_bytes))
