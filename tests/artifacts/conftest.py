"""The S3 API server and a fresh bucket for the object store's tests."""

from __future__ import annotations

from tests.fixtures.objects import bucket, s3_endpoint

__all__ = ["bucket", "s3_endpoint"]
