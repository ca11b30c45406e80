"""The tables that hold folded events: additive sums per unit and segment, percentile
histograms, and slim copies of the rows scikit-learn scores (labels, clicked positions).

A segment is the stretch of time from a boundary to the next one; boundaries are UTC
midnights (and every ``CHAMPION_ROLLUP_SEGMENT_SECONDS`` after one, when shorter than a day)
and every ``started_at``/``finished_at`` of an experiment on the endpoint, so a
window between two boundaries (an experiment's) covers whole segments. ``rollups`` puts the
facts of each folded request on the version that answered it, and the facts credited to a
shown item's version (``credited_*``, under interleaving both teams) on that version.

Past ``CHAMPION_KEEP_UNIT_ROLLUPS`` a segment is compacted (see ``compaction``): its per-unit
rows become one row per key with the unit :data:`MERGED` and ``units`` the number of units
merged, its label and click rows are deleted, and ``compacted_segments`` records it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from champion.db.metadata import JSON, UTCDateTime, metadata

__all__ = [
    "CREDITED",
    "INTERLEAVING",
    "MERGED",
    "REQUEST_FACTS",
    "VERSION_SUMS",
    "compacted_segments",
    "interleaving_rollups",
    "labelled_predictions",
    "ranked_clicks",
    "reward_rollups",
    "rollup_sketches",
    "rollups",
    "slot_rollups",
    "slot_sketches",
]

REQUEST_FACTS = (
    "requests", "rank_requests", "failed", "latency", "clicked", "purchased", "value",
    "with_feedback", "shown", "clicked_items", "delay_sum", "delay_count",
    "propensity_requests", "inverse_p", "inverse_p2",
)  # fmt: skip
"""Sums over the requests a version answered (``rollups``)."""

CREDITED = (
    "credited_impressions", "credited_clicked", "credited_clicks", "credited_purchases",
    "credited_labels", "credited_value", "credited_with_feedback",
)  # fmt: skip
"""Sums over the items and feedback credited to a version (``rollups``)."""

VERSION_SUMS = ("requests", "failed", *CREDITED)
"""What ``/stats`` sums per model, version and arm (kept over all time in ``version_totals``,
per ten seconds in ``slot_rollups``)."""

INTERLEAVING = ("impressions", "wins", "losses", "ties", "champion_clicks", "challenger_clicks")
"""Per unit and pair of interleaved versions (``interleaving_rollups``)."""

MERGED = ""
"""The unit of a compacted row: the sums of every unit of its key and segment. A unit is
1 to 256 characters wherever it enters (predict, rank, feedback), so no unit is ever ``""``."""

_FLOATS = {"latency", "value", "delay_sum", "inverse_p", "inverse_p2", "credited_value"}


def _sums(names: tuple[str, ...], floats: set[str]) -> list[sa.Column[Any]]:
    return [
        sa.Column(name, sa.Float if name in floats else sa.BigInteger, nullable=False)
        for name in names
    ]


def _key(*extra: sa.Column[Any]) -> list[sa.Column[Any]]:
    return [
        sa.Column("endpoint", sa.String(64), primary_key=True),
        sa.Column("config_version", sa.Integer, primary_key=True),
        *extra,
        sa.Column("segment_start", UTCDateTime(), primary_key=True),
    ]


rollups = sa.Table(
    "rollups",
    metadata,
    *_key(
        sa.Column("arm", sa.String(64), primary_key=True),
        sa.Column("model", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("unit", sa.String(256), primary_key=True),
    ),
    *_sums(REQUEST_FACTS + CREDITED, _FLOATS),
    # 0 on a unit's own row; on a MERGED row, the units with a request it merged.
    sa.Column("units", sa.BigInteger, nullable=False, server_default="0"),
    sa.Index(None, "endpoint", "segment_start"),
    # A report reads the folded totals of the units with events not folded yet by unit.
    sa.Index(None, "unit"),
)

# Per feedback kind (any word a bandit may reward): requests with one, and Σ 1/p, Σ 1/p² over
# those with a logged probability (inverse-propensity estimates).
reward_rollups = sa.Table(
    "reward_rollups",
    metadata,
    *_key(
        sa.Column("arm", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
    ),
    *_sums(("requests", "weighted", "weighted_sq"), {"weighted", "weighted_sq"}),
)

# Latency (ms) and feedback delay (s) histograms; see ``sketch`` for the buckets.
rollup_sketches = sa.Table(
    "rollup_sketches",
    metadata,
    *_key(
        sa.Column("arm", sa.String(64), primary_key=True),
        sa.Column("model", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("measure", sa.String(16), primary_key=True),
        sa.Column("bucket", sa.Integer, primary_key=True),
    ),
    sa.Column("count", sa.BigInteger, nullable=False),
)


def _slot(*extra: sa.Column[Any]) -> list[sa.Column[Any]]:
    # The slot second: reads and pruning take a range of slots of one endpoint.
    return [
        sa.Column("endpoint", sa.String(64), primary_key=True),
        sa.Column("slot", UTCDateTime(), primary_key=True),
        sa.Column("arm", sa.String(64), primary_key=True),
        sa.Column("model", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        *extra,
    ]


# Per ten seconds of the requests' own times (not their segment's), what ``/stats`` shows of
# them: a chart's windows narrower than a segment read these instead of raw rows
# (``slots``). Latency only among the histograms.
slot_rollups = sa.Table(
    "slot_rollups", metadata, *_slot(), *_sums(VERSION_SUMS, {"credited_value"})
)
slot_sketches = sa.Table(
    "slot_sketches",
    metadata,
    *_slot(sa.Column("bucket", sa.Integer, primary_key=True)),
    sa.Column("count", sa.BigInteger, nullable=False),
)

# Interleaved impressions turned into each unit's wins, losses and ties per pair of versions.
interleaving_rollups = sa.Table(
    "interleaving_rollups",
    metadata,
    *_key(
        sa.Column("champion", sa.String(80), primary_key=True),
        sa.Column("challenger", sa.String(80), primary_key=True),
        sa.Column("unit", sa.String(256), primary_key=True),
    ),
    *_sums(INTERLEAVING, set()),
    # 0 on a unit's own row; on a MERGED row, the units with an impression it merged.
    sa.Column("units", sa.BigInteger, nullable=False, server_default="0"),
)

# One row per label feedback event on a served prediction: what label metrics score.
labelled_predictions = sa.Table(
    "labelled_predictions",
    metadata,
    sa.Column("event_id", sa.String(64), primary_key=True),
    sa.Column("request_id", sa.String(64), nullable=False),
    sa.Column("endpoint", sa.String(64), nullable=False),
    sa.Column("config_version", sa.Integer, nullable=False),
    sa.Column("arm", sa.String(64), nullable=False),
    sa.Column("unit", sa.String(256), nullable=False),
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("outputs", JSON, nullable=False),
    sa.Column("label", JSON, nullable=True),
    sa.Index(None, "endpoint", "at"),
)

# One row per clicked item a ranking showed: what NDCG scores.
ranked_clicks = sa.Table(
    "ranked_clicks",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("endpoint", sa.String(64), nullable=False),
    sa.Column("config_version", sa.Integer, nullable=False),
    sa.Column("arm", sa.String(64), nullable=False),
    sa.Column("unit", sa.String(256), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Index(None, "endpoint", "at"),
)


# One row per compacted segment: from then on its rollups hold per-arm totals only, and its
# label and click rows are gone (``compaction``).
compacted_segments = sa.Table(
    "compacted_segments",
    metadata,
    sa.Column("endpoint", sa.String(64), primary_key=True),
    sa.Column("segment_start", UTCDateTime(), primary_key=True),
    sa.Column("segment_end", UTCDateTime(), nullable=False),
    sa.Column("compacted_at", UTCDateTime(), nullable=False),
)
