"""The statements that differ by database: one upsert of many sums, one lookup of many ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from champion.db import read, write
from champion.db.dialects import among, sum_upsert
from champion.events.rollup_tables import reward_rollups
from champion.events.total_tables import TOTALS, unit_totals, version_units
from champion.services import Services

DAY = datetime(2026, 3, 1, tzinfo=UTC)
CELL = ("e", 1, "champion", DAY)


def _totals(unit: str, requests: float, last: datetime) -> list[object]:
    return [*CELL, unit, requests, *[0.5] * (len(TOTALS) - 1), last]


def test_a_sum_upsert_adds_to_stored_rows_keeps_the_latest_time_and_returns_them(
    services: Services,
) -> None:
    dialect = services.engine.dialect.name
    upsert = sum_upsert(
        unit_totals, dialect, ("last_segment",), ("unit", "requests", "clicked", "last_segment")
    )
    later = DAY + timedelta(hours=7)
    with write(services.engine) as conn:
        first = upsert(conn, [_totals("u1", 1.0, later), _totals("u2", 2.0, DAY)])
        second = upsert(conn, [_totals("u1", 3.0, DAY), _totals("u3", 1.0, DAY)])
    assert sorted(row[:3] for row in first) == [("u1", 1.0, 0.5), ("u2", 2.0, 0.5)]
    assert sorted(row[:3] for row in second) == [("u1", 4.0, 1.0), ("u3", 1.0, 0.5)]
    assert {row[0]: row[-1] for row in second} == {
        "u1": upsert.stored(later),  # the later of the two times stays
        "u3": upsert.stored(DAY),
    }
    with read(services.engine) as conn:
        stored = conn.execute(sa.select(unit_totals.c.unit, unit_totals.c.last_segment)).all()
    assert sorted(stored) == [("u1", later), ("u2", DAY), ("u3", DAY)]


def test_a_key_only_upsert_returns_only_the_rows_it_added(services: Services) -> None:
    upsert = sum_upsert(version_units, services.engine.dialect.name, (), ("unit",))
    with write(services.engine) as conn:
        assert upsert(conn, [("e", "m", 1, "champion", "u1")]) == [("u1",)]
        again = upsert(conn, [("e", "m", 1, "champion", "u1"), ("e", "m", 1, "champion", "u2")])
    assert again == [("u2",)]


def test_integer_sums_given_as_floats_are_stored_as_integers(services: Services) -> None:
    # The fold pass sums every fact as a float; a count column takes the whole number.
    upsert = sum_upsert(reward_rollups, services.engine.dialect.name)
    row = ["e", 1, "champion", "click", DAY, 2.0, 0.25, 0.0625]
    with write(services.engine) as conn:
        upsert(conn, [row])
        upsert(conn, [row])
    with read(services.engine) as conn:
        stored = conn.execute(sa.select(reward_rollups.c.requests, reward_rollups.c.weighted))
        assert stored.all() == [(4, 0.5)]


def test_among_finds_thousands_of_ids_with_one_parameter(services: Services) -> None:
    dialect = services.engine.dialect.name
    upsert = sum_upsert(version_units, dialect)
    with write(services.engine) as conn:
        upsert(conn, [("e", "m", 1, "champion", f"u{n}") for n in range(3_000)])
    wanted = [f"u{n}" for n in range(0, 6_000, 2)]
    with read(services.engine) as conn:
        query = sa.select(version_units.c.unit).where(among(dialect, version_units.c.unit, wanted))
        found = set(conn.execute(query).scalars())
        assert found == {f"u{n}" for n in range(0, 3_000, 2)}
        assert conn.execute(query.where(among(dialect, version_units.c.unit, []))).all() == []
