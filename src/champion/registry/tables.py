"""The registry's tables: models, versions, aliases."""

from __future__ import annotations

import sqlalchemy as sa

from champion.db.metadata import JSON, UTCDateTime, metadata

__all__ = ["aliases", "models", "versions"]

models = sa.Table(
    "models",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
)

versions = sa.Table(
    "versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(64), sa.ForeignKey("models.name"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("flavor", sa.String(32), nullable=False),
    sa.Column("manifest", JSON, nullable=False),
    sa.Column("files", JSON, nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    # A deleted version keeps its row: its number is never given again.
    sa.Column("deleted_at", UTCDateTime(), nullable=True),
    sa.Column("deleted_by", sa.String(128), nullable=True),
    sa.UniqueConstraint("model", "number"),
    # A model's live versions in order (listings, counts, the latest): migration 0012.
    sa.Index(None, "model", "deleted_at", "number"),
)

aliases = sa.Table(
    "aliases",
    metadata,
    sa.Column("model", sa.String(64), sa.ForeignKey("models.name"), primary_key=True),
    sa.Column("alias", sa.String(64), primary_key=True),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("updated_by", sa.String(128), nullable=False),
)
