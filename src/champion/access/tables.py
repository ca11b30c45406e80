"""The access module's table: API tokens, stored as the sha256 of their secret only."""

from __future__ import annotations

import sqlalchemy as sa

from champion.db.metadata import JSON, UTCDateTime, metadata

__all__ = ["api_tokens"]

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    # hex sha256 of the secret; the secret itself is shown once, at creation, and never stored.
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("scopes", JSON, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
    sa.Column("revoked_by", sa.String(128), nullable=True),
)
