"""A query kept on its own connection (the servers' state poll) sees every commit made
elsewhere, and comes back after its connection is lost."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from champion import audit
from champion.db import write
from champion.db.kept import KeptQuery
from champion.services import Services


def _change(services: Services) -> None:
    with write(services.engine) as conn:
        audit.record(conn, at=datetime.now(UTC), actor="t", action="test.change", target="x")


def test_a_kept_query_sees_each_commit_and_survives_a_lost_connection(
    services: Services,
) -> None:
    postgres = services.engine.dialect.name == "postgresql"
    kept = KeptQuery(services.engine, audit.LATEST_AUDIT_ID)
    try:
        first = kept.scalar()  # opens its connection
        _change(services)
        second = kept.scalar()
        assert second > first  # a new snapshot each time (PostgreSQL keeps none open)
        if postgres:
            with services.engine.connect() as conn:
                # Between runs it holds no transaction open (no snapshot, nothing vacuum
                # must keep for it).
                waiting = conn.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND state LIKE 'idle in transaction%'"
                    )
                ).scalar_one()
                assert waiting == 0
                # Every other connection to this test session's database (the fixtures
                # open their own per reset).
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
            lost = services.engine.dialect.loaded_dbapi.Error
            with pytest.raises(lost):  # the poller logs it and tries again
                kept.scalar()
        _change(services)
        assert kept.scalar() > second
    finally:
        kept.close()
