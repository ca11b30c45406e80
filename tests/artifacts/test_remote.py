"""The object store on a real S3 API server: blobs whole or absent, checked on every read,
cached per replica within its bound, and clear errors when the bucket cannot be used."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from champion.artifacts import BlobCache, ObjectArtifactStore, ObjectUrl, open_artifact_store
from champion.errors import ArtifactTampered, InvalidInput, MissingExtra, NotFound, Unavailable
from champion.server_process import free_port
from tests.fixtures.objects import Bucket


def _store(bucket: Bucket, cache: Path, max_bytes: int = 1024**2) -> ObjectArtifactStore:
    return ObjectArtifactStore(ObjectUrl.parse(bucket.url), BlobCache(cache, max_bytes))


def _file(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return folder / name


def _read(store: ObjectArtifactStore, sha256: str) -> bytes:
    with store.open(sha256) as handle:
        return handle.read()


def test_a_blob_put_by_one_replica_is_read_by_another_through_its_cache(
    bucket: Bucket, tmp_path: Path
) -> None:
    first, second = _store(bucket, tmp_path / "a"), _store(bucket, tmp_path / "b")
    sha256 = first.put(_file(tmp_path / "files", "model.bin", b"weights"))

    assert sha256 == hashlib.sha256(b"weights").hexdigest()
    assert bucket.blobs() == {sha256} and bucket.fs.cat(bucket.key(sha256)) == b"weights"
    assert first.put(tmp_path / "files" / "model.bin") == sha256  # stored once
    assert second.exists(sha256) and not second.exists("0" * 64)
    assert _read(second, sha256) == b"weights"
    assert (tmp_path / "b" / sha256[:2] / sha256).read_bytes() == b"weights"


def test_a_blob_changed_in_the_bucket_is_refused_and_not_cached(
    bucket: Bucket, tmp_path: Path
) -> None:
    writer = _store(bucket, tmp_path / "a")
    sha256 = writer.put(_file(tmp_path / "files", "model.bin", b"weights"))
    bucket.fs.pipe(bucket.key(sha256), b"weights, changed by hand")
    reader = _store(bucket, tmp_path / "b")

    with pytest.raises(ArtifactTampered, match=f"Artifact blob {sha256} in {bucket.url} does not"):
        reader.open(sha256)
    assert reader.cache.size() == 0 and not list((tmp_path / "b").rglob("*.*"))


def test_a_missing_blob_is_not_found_naming_it_and_the_bucket(
    bucket: Bucket, tmp_path: Path
) -> None:
    store = _store(bucket, tmp_path / "cache")
    sha256 = store.put(_file(tmp_path / "files", "model.bin", b"weights"))
    store.delete(sha256)

    assert bucket.blobs() == set() and not store.exists(sha256)
    assert not (tmp_path / "cache" / sha256[:2] / sha256).exists()
    with pytest.raises(NotFound, match=f"blob {sha256} is missing from the store at {bucket.url}"):
        store.open(sha256)
    store.delete(sha256)  # absent is fine


def test_the_cache_keeps_the_most_recently_used_blobs_within_its_bound(
    bucket: Bucket, tmp_path: Path
) -> None:
    writer = _store(bucket, tmp_path / "writer")
    sha = [writer.put(_file(tmp_path / "files", f"{n}.bin", bytes([n]) * 1000)) for n in range(3)]
    reader = _store(bucket, tmp_path / "cache", max_bytes=2500)

    def cached() -> set[str]:
        return {p.name for p in (tmp_path / "cache").glob("??/*")}

    assert _read(reader, sha[0]) == bytes([0]) * 1000
    assert _read(reader, sha[1]) == bytes([1]) * 1000
    assert _read(reader, sha[0]) == bytes([0]) * 1000  # a hit: now the most recently used
    assert cached() == {sha[0], sha[1]}
    assert _read(reader, sha[2]) == bytes([2]) * 1000

    assert cached() == {sha[0], sha[2]}  # the least recently used went
    assert reader.cache.size() == 2000 <= reader.cache.max_bytes
    big = writer.put(_file(tmp_path / "files", "big.bin", b"x" * 3000))
    assert _read(reader, big) == b"x" * 3000  # served, though larger than the whole bound
    assert reader.cache.size() <= reader.cache.max_bytes and big not in cached()


def test_a_cached_blob_is_hashed_again_on_every_hit_and_a_bad_copy_fetched_again(
    bucket: Bucket, tmp_path: Path
) -> None:
    store = _store(bucket, tmp_path / "cache")
    sha256 = store.put(_file(tmp_path / "files", "model.bin", b"weights"))
    assert _read(store, sha256) == b"weights"
    copy = tmp_path / "cache" / sha256[:2] / sha256
    copy.write_bytes(b"weightz")  # a bad disk, or a hand edit

    assert _read(store, sha256) == b"weights"  # from the bucket, not the bad copy
    assert copy.read_bytes() == b"weights"

    copy.write_bytes(b"weightz")
    bucket.fs.pipe(bucket.key(sha256), b"weightz")
    with pytest.raises(ArtifactTampered, match=f"Artifact blob {sha256}"):
        store.open(sha256)  # neither copy passes
    assert not copy.exists()


def test_an_unusable_setting_or_bucket_is_named_at_start(
    bucket: Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def opened(url: str) -> None:
        open_artifact_store(
            url, folder=tmp_path / "a", cache_folder=tmp_path / "c", cache_bytes=0
        ).check()

    opened(bucket.url)  # the bucket answers
    with pytest.raises(InvalidInput, match=r"CHAMPION_ARTIFACTS_URL must be an s3://bucket/"):
        opened("gs://models/champion")
    with pytest.raises(Unavailable, match=r"bucket 'no-such-bucket' does not exist"):
        opened("s3://no-such-bucket/champion")
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "s3fs", None)  # the s3 extra not installed
        with pytest.raises(MissingExtra, match=r"pip install 'champion\[s3\]'"):
            opened(bucket.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nothing there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(Unavailable) as error:
        opened(bucket.url)
    assert error.value.message.startswith(
        f"The artifact store {bucket.url} (CHAMPION_ARTIFACTS_URL) could not be reached: "
        "EndpointConnectionError"
    )
    assert "AWS_ENDPOINT_URL" in error.value.message
