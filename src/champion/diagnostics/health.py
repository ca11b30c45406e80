"""Dependency health: the database, the artifact store, and the versions endpoints serve."""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
import time
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from champion.artifacts import ArtifactStore
from champion.db import write
from champion.db.dialects import insert_ignoring_duplicates
from champion.diagnostics.tables import health_probes
from champion.errors import ArtifactTampered, ChampionError
from champion.registry import Registry, Version
from champion.serving.endpoints import Endpoints

__all__ = [
    "artifact_store_health",
    "database_health",
    "object_store_health",
    "served_versions",
    "version_health",
    "write_probe",
]

_PROBE_LOCK_WAIT_SECONDS = 1.0
"""A write lock held longer than this fails the probe rather than hanging it."""


def write_probe(engine: sa.Engine, at: datetime, server: str | None = None) -> str | None:
    """Commit one write (this host's row of ``health_probes``); None, or why it failed.

    A database that answers ``SELECT 1`` may still refuse every write: read-only, out of
    disk, privileges revoked, a lock held. Only a committed write shows it accepts them.
    """
    server = server or socket.gethostname()
    try:
        with write(engine, lock_wait=_PROBE_LOCK_WAIT_SECONDS) as conn:
            updated = conn.execute(
                sa.update(health_probes).where(health_probes.c.server == server).values(at=at)
            )
            if updated.rowcount == 0:
                row = {"server": server, "at": at}
                insert_ignoring_duplicates(conn, health_probes, [row], "server")
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return f"The database refused a write: {type(exc).__name__}: {reason}"
    return None


def database_health(engine: sa.Engine) -> dict[str, Any]:
    """Whether the database answers a read and commits a write, and how long that took."""
    started = time.perf_counter()
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        return {
            "status": "error",
            "readable": False,
            "error": f"{type(exc).__name__}: {exc}".splitlines()[0],
        }
    refused = write_probe(engine, datetime.now(UTC))
    found: dict[str, Any] = {
        "status": "ok" if refused is None else "error",
        "backend": engine.dialect.name,
        "readable": True,
        "writable": refused is None,
        "latency_ms": (time.perf_counter() - started) * 1000,
    }
    if refused is not None:
        found["error"] = refused
    return found


def artifact_store_health(root: Any) -> dict[str, Any]:
    """Writable means a file can be created and removed in the store's folder now."""
    try:
        os.makedirs(root, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=root, prefix=".probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return {"status": "error", "path": str(root), "error": f"{type(exc).__name__}: {exc}"}
    return {"status": "ok", "path": str(root), "writable": True}


def object_store_health(store: ArtifactStore, url: str) -> dict[str, Any]:
    """Whether the bucket of CHAMPION_ARTIFACTS_URL answers now."""
    try:
        store.check()
    except ChampionError as exc:
        return {"status": "error", "path": url, "error": exc.message}
    return {"status": "ok", "path": url}


def served_versions(endpoints: Endpoints, registry: Registry) -> dict[str, list[Version]]:
    """The versions each endpoint's policy names, resolved now."""
    found: dict[str, list[Version]] = {}
    for config in endpoints.list_endpoints():
        versions = []
        for ref in endpoints.references(config.policy, config.params):
            try:
                versions.append(registry.resolve(ref))
            except ChampionError:
                continue
        found[config.name] = versions
    return found


def version_health(registry: Registry, version: Version, loaded: Collection[str]) -> dict[str, Any]:
    """Every stored file of ``version`` hashed again against the sha256 recorded for it."""
    bad = []
    for relative, expected in sorted(version.files.items()):
        digest = hashlib.sha256()
        try:
            with registry.store.open(expected) as handle:
                while chunk := handle.read(1024 * 1024):
                    digest.update(chunk)
        except ArtifactTampered:
            bad.append(f"{relative}: sha256 mismatch in the artifact store")
            continue
        except ChampionError:
            bad.append(f"{relative}: missing")
            continue
        if digest.hexdigest() != expected:
            bad.append(f"{relative}: sha256 {digest.hexdigest()[:12]}…, expected {expected[:12]}…")
    return {
        "version": str(version.key),
        "loaded": str(version.key) in loaded,
        "sha256": "verified" if not bad else "mismatch",
        "problems": bad,
        "files": len(version.files),
    }
