"""The tables that keep a ramp step's per-unit totals and per-arm moments up to date.

A **cell** is one (endpoint, config_version, arm, since): ``since`` is the latest start or
end of an experiment on the endpoint at or before a request's segment (:data:`EPOCH` when
there is none), so an experiment's requests under one configuration and arm make one cell,
and the requests before it started or after it finished make others.

- ``unit_totals``: per cell and unit, the sums of :data:`TOTALS` over every folded request
  of the unit in the cell, and the start of the unit's last segment there;
- ``arm_moments``: per cell and segment with folded requests, the number of units with a
  request, Σ of each of :data:`TOTALS` and Σ of each of :data:`PRODUCTS` over those units'
  totals **cumulated up to that segment** (its own included). The cell's last row is what an
  open-ended report reads; a row per segment is what a timeline's points read;
- ``version_totals`` and ``version_units``: what ``/stats`` shows over all time, per model,
  version and arm, and which units made a request each version answered;
- ``version_sketches``: the latency histogram ``/stats`` shows over all time, per model,
  version and arm (``rollup_sketches`` summed over every segment and configuration);
- ``cell_sketches``: per cell, the latency and feedback-delay histograms of its folded
  requests (``rollup_sketches`` summed over the cell's segments and versions), what a
  report's percentiles read when its arms' cells lie whole within it.

The fold pass keeps them in the transaction that adds the rollups (``totals.maintain``);
``totals.rebuild_totals`` recomputes them from the rollups. A row in ``pending_rebuilds``
says they do not hold every folded request yet: a database upgraded with rollups already
folded has them empty until ``champion admin rebuild-aggregates --from-rollups``. (A row
for what is missing, not one for what is built: a database emptied of its rows is right.)
Compaction trims them with the rollups (``compacted_totals``): the cells whose per-unit rows
it merged keep no unit totals or moments from then on, and ``version_units`` keeps the units
with a per-unit rollup row left.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from champion.db.metadata import UTCDateTime, metadata
from champion.events.rollup_tables import VERSION_SUMS

__all__ = [
    "EPOCH",
    "KEPT",
    "PRODUCTS",
    "TOTALS",
    "TOTALS_BUILD",
    "arm_moments",
    "cell_sketches",
    "pending_rebuilds",
    "product_column",
    "unit_totals",
    "version_sketches",
    "version_totals",
    "version_units",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""The ``since`` of the requests no experiment boundary precedes."""

TOTALS = (
    "requests", "failed", "clicked", "purchased", "value", "with_feedback", "shown",
    "clicked_items", "latency", "delay_sum", "delay_count", "rank_requests",
)  # fmt: skip
"""The per-unit totals a report reads (``rollups`` columns)."""

PRODUCTS = (
    ("clicked_items", "clicked_items"), ("shown", "shown"), ("clicked_items", "shown"),
    ("clicked", "clicked"), ("requests", "requests"), ("clicked", "requests"),
    ("purchased", "purchased"), ("purchased", "requests"), ("value", "value"), ("one", "one"),
    ("value", "one"), ("failed", "failed"), ("failed", "requests"), ("latency", "latency"),
    ("latency", "requests"), ("with_feedback", "with_feedback"), ("with_feedback", "requests"),
)  # fmt: skip
"""Products of two per-unit totals (``one`` is 1 per unit) whose sums the delta method
needs: numerator², denominator² and numerator times denominator of every ratio metric."""

TOTALS_BUILD = "unit_totals"
"""The ``pending_rebuilds`` name of the tables above."""


def product_column(a: str, b: str) -> str:
    return f"p_{a}_{b}"


def _cell(*extra: sa.Column[Any]) -> list[sa.Column[Any]]:
    return [
        sa.Column("endpoint", sa.String(64), primary_key=True),
        sa.Column("config_version", sa.Integer, primary_key=True),
        sa.Column("arm", sa.String(64), primary_key=True),
        sa.Column("since", UTCDateTime(), primary_key=True),
        *extra,
    ]


def _floats(names: tuple[str, ...] | list[str]) -> list[sa.Column[Any]]:
    # Floats: counts stay exact below 2^53, and the moments' products are floats anyway.
    return [sa.Column(name, sa.Float, nullable=False) for name in names]


unit_totals = sa.Table(
    "unit_totals",
    metadata,
    *_cell(sa.Column("unit", sa.String(256), primary_key=True)),
    *_floats(TOTALS),
    sa.Column("last_segment", UTCDateTime(), nullable=False),
)

arm_moments = sa.Table(
    "arm_moments",
    metadata,
    *_cell(sa.Column("segment_start", UTCDateTime(), primary_key=True)),
    *_floats(["units", *TOTALS, *(product_column(a, b) for a, b in PRODUCTS)]),
)


def _version(*extra: sa.Column[Any]) -> list[sa.Column[Any]]:
    return [
        sa.Column("endpoint", sa.String(64), primary_key=True),
        sa.Column("model", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("arm", sa.String(64), primary_key=True),
        *extra,
    ]


version_totals = sa.Table(
    "version_totals", metadata, *_version(), *_floats([*VERSION_SUMS, "units"])
)

version_units = sa.Table(
    "version_units",
    metadata,
    *_version(sa.Column("unit", sa.String(256), primary_key=True)),
    # /stats looks up the units of the requests not folded yet: by unit, not by version.
    sa.Index(None, "endpoint", "unit"),
)

version_sketches = sa.Table(
    "version_sketches",
    metadata,
    *_version(sa.Column("bucket", sa.Integer, primary_key=True)),
    sa.Column("count", sa.Float, nullable=False),
)

cell_sketches = sa.Table(
    "cell_sketches",
    metadata,
    *_cell(
        sa.Column("measure", sa.String(16), primary_key=True),
        sa.Column("bucket", sa.Integer, primary_key=True),
    ),
    sa.Column("count", sa.Float, nullable=False),
)

KEPT = (unit_totals, arm_moments, version_totals, version_units, version_sketches, cell_sketches)
"""Every table the fold pass keeps beside the rollups (emptied and rebuilt together)."""


pending_rebuilds = sa.Table(
    "pending_rebuilds",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("since", UTCDateTime(), nullable=False),
)
