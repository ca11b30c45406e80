"""Alembic environment: champion always hands in an open connection (see db.migrate)."""

from __future__ import annotations

from alembic import context

from champion.events.partitions import include_name
from champion.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()
