from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from champion.db import migrate
from champion.events.partitions import include_name
from champion.schema import metadata
from champion.services import Services

OPTIONS = {"include_name": include_name}  # as the migrations' environment sets it


def test_migrations_build_exactly_the_declared_schema(services: Services) -> None:
    with services.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts=OPTIONS), metadata) == []


def test_migrating_twice_changes_nothing(services: Services) -> None:
    migrate(services.engine)
    with services.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts=OPTIONS), metadata) == []
