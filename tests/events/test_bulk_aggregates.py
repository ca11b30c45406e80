"""The benchmark's bulk aggregates stay what the fold pass leaves for the same traffic.

``benchmarks/analysis_scale.py --bulk`` measures 10^8 events from aggregates written straight
from a generated stream; those numbers stand only while the stream's aggregates are the fold's.
A change to the facts, the rollup tables or the kept totals that the bulk path does not follow
fails here.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from benchmarks.scale_traffic import Traffic, check_bulk, stored_rows

from champion.db.engine import make_engine, write
from tests.fixtures.environment import cannot
from tests.fixtures.fresh_database import PostgresTemplate


def test_the_bulk_aggregates_equal_every_table_the_fold_leaves(
    postgres_template: PostgresTemplate | None, postgres_url: str | None
) -> None:
    if postgres_template is None or postgres_url is None:
        cannot("PostgreSQL not available: set CHAMPION_TEST_POSTGRES_URL (.ci/run does).")
    postgres_template.reset()
    engine = make_engine(postgres_url)
    try:
        # 50 hours: three days, hour segments, and the slots cut a day before the end.
        traffic = Traffic(3_000, units=300, step=timedelta(minutes=1))
        found = check_bulk(engine, traffic, timedelta(hours=1))
        assert found["differing"] == []
        assert found["rows"]["rollups"] == 3_000  # a unit's requests are five hours apart
        for table in ("unit_totals", "arm_moments", "version_totals", "rollup_sketches"):
            assert found["rows"][table] > 0
        assert 0 < found["rows"]["slot_rollups"] < 3_000  # the last day's slots only

        # The comparison sees a difference of one value in one row.
        before = stored_rows(engine)
        with write(engine) as conn:
            conn.execute(sa.text("UPDATE rollups SET latency = latency + 0.25 WHERE unit = 'u7'"))
        after = stored_rows(engine)
        assert [name for name in before if before[name] != after[name]] == ["rollups"]
    finally:
        engine.dispose()
