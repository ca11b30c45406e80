"""Storage: one SQLAlchemy Core schema for SQLite and PostgreSQL, migrated by Alembic."""

from __future__ import annotations

from champion.db.engine import make_engine, read, write
from champion.db.metadata import metadata
from champion.db.migrate import migrate

__all__ = ["make_engine", "metadata", "migrate", "read", "write"]
