"""The table readiness writes to: one row per server, rewritten at every check."""

from __future__ import annotations

import sqlalchemy as sa

from champion.db.metadata import UTCDateTime, metadata

__all__ = ["health_probes"]

# A SELECT answers on a database that refuses every write; only a committed write shows that
# the server can store feedback and events.
health_probes = sa.Table(
    "health_probes",
    metadata,
    sa.Column("server", sa.String(256), primary_key=True),
    sa.Column("at", UTCDateTime(), nullable=False),
)
