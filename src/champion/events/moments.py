"""Per-arm sums of per-unit totals and of their products, summed in the database.

A ratio metric's unit-level variance (the delta method) needs, over an arm's units,
``Σx, Σy, Σx², Σy², Σxy`` of each unit's totals; a unit's totals are the sums of its rollup
rows (one per segment and version). The database groups the folded rows of a scope by
(arm, unit), then sums those totals and their products per arm, so O(arms) numbers leave it,
whatever the number of units. The requests and feedback the fold pass has not reached yet
change only the units they belong to: those units' folded totals are read (a few rows
each), their share of the arm's sums taken away and added back with the pending facts.
Units count when they made a request in the scope (their ``requests`` total is above 0).

When each arm of the scope has its units in one cell of ``arm_moments`` (one ramp step's
configuration since an experiment boundary; see ``total_tables``), the folded half is that
cell's row at the last segment before each end (before the range read from raw rows, when
the end cuts a segment; see ``aggregates``), kept up to date by the fold pass: O(arms)
rows for a report, O(arms x points) for a timeline. Other scopes sum the rollups.

Answers are kept for the read's transaction (one snapshot; a report asks for one scope
several times) beside the pending facts, and the fold pass drops them with those
(``aggregates.snapshot_cache``); nothing outlives the transaction.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
import sqlalchemy as sa

from champion.clock import utc
from champion.events.aggregates import (
    Looks,
    Scope,
    pending,
    pending_within,
    snapshot_cache,
    stretch,
    where,
)
from champion.events.facts import Facts
from champion.events.rollup_tables import rollups
from champion.events.total_tables import PRODUCTS, TOTALS, arm_moments, product_column
from champion.events.totals import Cell, built, compacted_between

__all__ = ["UnitSums", "before_raw", "kept_cells", "unit_sums", "unit_sums_over_time"]

Product = tuple[str, str]


@dataclass(frozen=True)
class UnitSums:
    """One arm: its units, Σ over them of each column's per-unit total (with ``requests``
    and ``one``, 1 per unit, always there) and Σ of each product of two per-unit totals."""

    units: int
    sums: dict[str, float]
    products: dict[Product, float]


def unit_sums(
    conn: sa.Connection,
    scope: Scope,
    columns: Sequence[str],
    products: Sequence[Product] = (),
    facts: Facts | None = None,
) -> dict[str, UnitSums]:
    """Per arm of ``scope`` with a unit that made a request: the sums of rollup ``columns``
    (names of ``rollups`` sums, or ``one``) over its units' totals, and of ``products`` of
    two such totals. ``facts``: the scope's pending facts, if the caller has them."""
    cache = snapshot_cache(conn)
    key = _key(scope, columns, products)
    if key not in cache:
        names = _names(columns)
        kept = _kept(conn, scope, [scope.end], names, products)
        accumulated = _folded(conn, scope, names, products) if kept is None else kept[0]
        facts = pending(conn, scope) if facts is None else facts
        _correct([accumulated], conn, scope, [scope.end], facts, names, products)
        cache[key] = _finish(accumulated, names, products)
    found: dict[str, UnitSums] = cache[key]
    return found


def unit_sums_over_time(
    conn: sa.Connection,
    scope: Scope,
    ends: Sequence[datetime | None],
    columns: Sequence[str],
    products: Sequence[Product] = (),
    looks: Looks | None = None,
) -> list[dict[str, UnitSums]]:
    """:func:`unit_sums` of ``scope`` cut at each of ``ends`` (increasing; only the last may
    be None, no end), from one pass over the rows, and kept for the transaction as
    :func:`unit_sums` keeps them (a timeline's points then read them from there). With
    ``looks`` (some end cuts a segment), each look reads the rollups to its snapped end and
    its raw part (see ``aggregates.Looks``), and its answer is kept for it.

    The database sums each unit's rows per stretch between two ends, accumulates them per
    unit in end order (a window function), and sums per arm and stretch what each unit's
    share of the arm's sums changed by in the stretch (its new share, less the one it had
    since its previous stretch): the sums at each end are the running totals of those
    changes.
    """
    bounds = list(ends if looks is None else looks.snapped)
    whole = replace(scope, end=bounds[-1], raw=())
    names = _names(columns)
    kept = _kept(conn, whole, bounds, names, products)
    accumulated = _folded_over_time(conn, whole, bounds, names, products) if kept is None else kept
    own = {} if looks is None else _raw_units(_in_scope(looks.raw, whole), looks, names)
    _correct(accumulated, conn, whole, bounds, pending(conn, whole), names, products, own)
    cache = snapshot_cache(conn)
    found = []
    for n, values in enumerate(accumulated):
        answer = _finish(values, names, products)
        look = replace(scope, end=ends[n]) if looks is None else looks.scopes[n]
        cache[_key(look, columns, products)] = answer
        found.append(answer)
    return found


def _in_scope(facts: Facts, scope: Scope) -> Facts:
    # The raw facts of a timeline's cut ranges within the scope's arms and configurations.
    return pending_within(facts, replace(scope, start=None, end=None))


def _raw_units(
    facts: Facts, looks: Looks, names: Sequence[str]
) -> dict[tuple[str, str], np.ndarray]:
    # Per (arm, unit): what its raw facts add to each look (those in the look's raw part).
    found: dict[tuple[str, str], np.ndarray] = {}
    for key, values in facts.sums.get("rollups", {}).items():
        first, last = looks.spanning(key[-1])
        if first < last:
            pair = (str(key[2]), str(key[5]))
            if pair not in found:
                found[pair] = np.zeros((len(looks.ends), len(names)))
            found[pair][first:last] += [values.get(n, 0) for n in names]
    return found


def _key(scope: Scope, columns: Sequence[str], products: Sequence[Product]) -> Hashable:
    arms = None if scope.arms is None else tuple(scope.arms)
    return ("unit_sums", replace(scope, arms=arms), tuple(columns), tuple(products))


def _names(columns: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(["requests", *(c for c in columns if c != "one")]))


def _finish(
    accumulated: dict[str, list[float]], names: Sequence[str], products: Sequence[Product]
) -> dict[str, UnitSums]:
    found = {}
    for arm in sorted(accumulated):
        values = accumulated[arm]
        units = round(values[0])
        if units <= 0:
            continue
        sums = dict(zip(names, values[1 : len(names) + 1], strict=True)) | {"one": float(units)}
        found[arm] = UnitSums(
            units, sums, dict(zip(products, values[len(names) + 1 :], strict=True))
        )
    return found


def kept_cells(
    conn: sa.Connection, scope: Scope, last: datetime | None, names: Sequence[str] = ()
) -> dict[str, tuple[Cell, datetime]] | None:
    """Per arm of ``scope`` with folded requests before ``last`` (None: no end; a ``last`` in
    a range read from raw rows counts from that range's start): its one cell of the kept
    tables and the start of that cell's latest segment. None when the kept tables cannot
    answer the scope: it names a version, the tables are not built, one of ``names`` is not
    kept, an arm has its units in more than one cell of the scope (several configurations or
    experiments: a unit's totals would span cells), a cell straddles the scope's start, or a
    cell of the scope was compacted (its totals are not kept). Kept for the transaction: a
    report asks for its moments and its histograms."""
    if not set(names) <= set(TOTALS):
        return None
    cache = snapshot_cache(conn)
    arms = None if scope.arms is None else tuple(scope.arms)
    key = ("kept_cells", replace(scope, arms=arms), last)
    if key not in cache:
        cache[key] = _kept_cells(conn, scope, last)
    found: dict[str, tuple[Cell, datetime]] | None = cache[key]
    return found


def _kept_cells(
    conn: sa.Connection, scope: Scope, last: datetime | None
) -> dict[str, tuple[Cell, datetime]] | None:
    if scope.model is not None or not built(conn):
        return None
    if compacted_between(conn, scope.endpoint, scope.start, last):
        return None
    last = before_raw(last, scope.raw)
    m = arm_moments
    cell = (m.c.endpoint, m.c.config_version, m.c.arm, m.c.since)
    condition = m.c.endpoint == scope.endpoint
    if scope.arms is not None:
        condition &= m.c.arm.in_(list(scope.arms))
    if scope.since_config is not None:
        condition &= m.c.config_version >= scope.since_config
    if scope.until_config is not None:
        condition &= m.c.config_version <= scope.until_config
    query = (
        sa.select(*cell, sa.func.min(m.c.segment_start), sa.func.max(m.c.segment_start))
        .where(condition)
        .group_by(*cell)
    )
    chosen: dict[str, tuple[Cell, datetime]] = {}
    for endpoint, config, arm, since, first, latest in conn.execute(query):
        first, latest = utc(first), utc(latest)
        if scope.start is not None and latest < scope.start:
            continue  # every segment before the scope
        if last is not None and first >= last:
            continue  # every segment after it
        if (scope.start is not None and first < scope.start) or str(arm) in chosen:
            return None
        chosen[str(arm)] = ((str(endpoint), int(config), str(arm), since), latest)
    return chosen


def _kept(
    conn: sa.Connection,
    scope: Scope,
    bounds: Sequence[datetime | None],
    names: Sequence[str],
    products: Sequence[Product],
) -> list[dict[str, list[float]]] | None:
    """The folded sums at each of ``bounds`` from ``arm_moments`` (O(arms x segments) rows),
    or None when the moments cannot answer (see :func:`kept_cells`; or a product is not
    kept)."""
    if not set(products) <= set(PRODUCTS):
        return None
    chosen = kept_cells(conn, scope, bounds[-1], names)
    if chosen is None:
        return None
    # A bound in a range read from raw rows: the cell's row before that range's start.
    bounds = [before_raw(bound, scope.raw) for bound in bounds]
    found: list[dict[str, list[float]]] = [{} for _ in bounds]
    if not chosen:
        return found
    m = arm_moments
    cell = (m.c.endpoint, m.c.config_version, m.c.arm, m.c.since)
    columns = [
        m.c.units,
        *(m.c[n] for n in names),
        *(m.c[product_column(a, b)] for a, b in products),
    ]
    rows = conn.execute(
        sa.select(m.c.arm, m.c.segment_start, *columns)
        .where(sa.tuple_(*cell).in_([key for key, _ in chosen.values()]))
        .order_by(m.c.arm, m.c.segment_start)
    ).all()
    for arm, segment, *values in rows:
        for n, end in enumerate(bounds):
            # Rows in segment order: the last one before each end stands.
            if end is None or utc(segment) < end:
                found[n][str(arm)] = [float(v) for v in values]
    return found


def before_raw(
    bound: datetime | None, ranges: Sequence[tuple[datetime, datetime]]
) -> datetime | None:
    for start, end in ranges:
        if bound is not None and start < bound <= end:
            return start
    return bound


def _per_unit(
    scope: Scope,
    names: Sequence[str],
    bounds: Sequence[datetime | None] | None = None,
    units: Sequence[str] | None = None,
) -> sa.Select[Any]:
    # Float sums: exact for counts below 2^53, and PostgreSQL's sums of integers (numeric)
    # would make every product an arbitrary-precision multiplication. Some ``units`` are
    # read by the unit index: the endpoint's indexes would read every unit's rows.
    r = rollups
    condition = where(r, scope, indexed=units is None)
    if units is not None:
        condition &= r.c.unit.in_(list(units))
    if bounds is None:
        return (
            sa.select(
                r.c.arm, r.c.unit, *(sa.cast(sa.func.sum(r.c[n]), sa.Float).label(n) for n in names)
            )
            .where(condition)
            .group_by(r.c.arm, r.c.unit)
        )
    rows = (
        sa.select(
            r.c.arm,
            r.c.unit,
            stretch(r.c.segment_start, bounds).label("k"),
            *(r.c[n] for n in names),
        )
        .where(condition)
        .subquery()
    )
    return sa.select(
        rows.c.arm,
        rows.c.unit,
        rows.c.k,
        *(sa.cast(sa.func.sum(rows.c[n]), sa.Float).label(n) for n in names),
    ).group_by(rows.c.arm, rows.c.unit, rows.c.k)


def _folded(
    conn: sa.Connection, scope: Scope, names: Sequence[str], products: Sequence[Product]
) -> dict[str, list[float]]:
    unit = _per_unit(scope, names).having(sa.func.sum(rollups.c.requests) > 0).subquery()

    def total(name: str) -> sa.ColumnElement[Any]:
        return sa.literal(1.0) if name == "one" else unit.c[name]

    query = sa.select(
        unit.c.arm,
        sa.func.count(),
        *(sa.func.sum(unit.c[name]) for name in names),
        *(sa.func.sum(total(a) * total(b)) for a, b in products),
    ).group_by(unit.c.arm)
    return {str(row[0]): [float(v or 0) for v in row[1:]] for row in conn.execute(query)}


def _folded_over_time(
    conn: sa.Connection,
    scope: Scope,
    bounds: Sequence[datetime | None],
    names: Sequence[str],
    products: Sequence[Product],
) -> list[dict[str, list[float]]]:
    per = _per_unit(scope, names, bounds).subquery()
    unit = (per.c.arm, per.c.unit)
    cumulative = sa.select(
        *unit,
        per.c.k,
        sa.func.lead(per.c.k).over(partition_by=unit, order_by=per.c.k).label("until"),
        *(sa.func.sum(per.c[n]).over(partition_by=unit, order_by=per.c.k).label(n) for n in names),
    ).subquery()

    def total(name: str) -> sa.ColumnElement[Any]:
        return sa.literal(1.0) if name == "one" else cumulative.c[name]

    active = cumulative.c.requests > 0
    terms = [
        sa.literal(1.0),
        *(cumulative.c[n] for n in names),
        *(total(a) * total(b) for a, b in products),
    ]
    # A unit's share of the arm's sums, as its totals stand at the end of a stretch, holds
    # until the next stretch it has rows in: added at the first, taken away at the next.
    signs = sa.union_all(
        sa.select(sa.literal(1).label("sign")), sa.select(sa.literal(-1).label("sign"))
    ).subquery()
    at = sa.case((signs.c.sign > 0, cumulative.c.k), else_=cumulative.c.until)
    changes = (
        sa.select(
            cumulative.c.arm,
            at.label("k"),
            *(
                (signs.c.sign * sa.case((active, term), else_=0.0)).label(f"t{n}")
                for n, term in enumerate(terms)
            ),
        )
        .select_from(cumulative.join(signs, sa.true()))
        .where((signs.c.sign > 0) | cumulative.c.until.is_not(None))
        .subquery()
    )
    query = sa.select(
        changes.c.arm, changes.c.k, *(sa.func.sum(changes.c[f"t{n}"]) for n in range(len(terms)))
    ).group_by(changes.c.arm, changes.c.k)
    steps: dict[str, list[list[float]]] = {}
    for row in conn.execute(query):
        per_end = steps.setdefault(str(row[0]), [[0.0] * len(terms) for _ in bounds])
        per_end[int(row[1])] = [float(v or 0) for v in row[2:]]
    found: list[dict[str, list[float]]] = [{} for _ in bounds]
    for arm, per_end in steps.items():
        running = [0.0] * len(terms)
        for n, change in enumerate(per_end):
            running = [a + b for a, b in zip(running, change, strict=True)]
            found[n][arm] = list(running)
    return found


def _correct(
    accumulated: list[dict[str, list[float]]],
    conn: sa.Connection,
    scope: Scope,
    bounds: Sequence[datetime | None],
    facts: Facts,
    names: Sequence[str],
    products: Sequence[Product],
    own: dict[tuple[str, str], np.ndarray] | None = None,
) -> None:
    # Each unit with pending facts: its share of each end's sums taken away, then added
    # back with the pending facts up to that end, and ``own`` at each end (a timeline's raw
    # parts; arrays: units x ends x totals).
    late = _pending_units(facts, names, bounds)
    own = own or {}
    if not late and not own:
        return
    pairs = sorted(set(late) | set(own))
    before = _folded_units(conn, scope, names, late, bounds)
    others = [pair for pair in own if pair not in late]
    if others:
        # A unit with only raw facts changes no look after its last raw part: its folded
        # totals are read up to that look's end only (often none: a timeline's first look).
        last = max(int(np.flatnonzero(own[pair].any(axis=1))[-1]) for pair in others)
        until = replace(scope, end=bounds[last])
        before |= _folded_units(conn, until, names, others, bounds)
    zero = np.zeros((len(bounds), len(names)))
    old = np.cumsum(np.stack([before.get(pair, zero) for pair in pairs]), axis=1)
    new = old + np.cumsum(np.stack([late.get(pair, zero) for pair in pairs]), axis=1)
    new += np.stack([own.get(pair, zero) for pair in pairs])
    change = _terms(new, names, products) - _terms(old, names, products)
    arms = np.array([arm for arm, _ in pairs])
    for arm in sorted(set(arms.tolist())):
        total = change[arms == arm].sum(axis=0)
        for into, values in zip(accumulated, total.tolist(), strict=True):
            kept = into.setdefault(arm, [0.0] * len(values))
            into[arm] = [a + b for a, b in zip(kept, values, strict=True)]


def _terms(totals: np.ndarray, names: Sequence[str], products: Sequence[Product]) -> np.ndarray:
    """What units with ``totals`` (last axis: ``names``) add to an arm's sums: 1, each total
    and each product, for a unit with a request (0 otherwise)."""
    ones = np.ones(totals.shape[:-1])
    column = {name: totals[..., n] for n, name in enumerate(names)} | {"one": ones}
    terms = [ones, *(column[name] for name in names)]
    terms += [column[a] * column[b] for a, b in products]
    return np.stack(terms, axis=-1) * (column["requests"] > 0)[..., None]


def _pending_units(
    facts: Facts, names: Sequence[str], bounds: Sequence[datetime | None]
) -> dict[tuple[str, str], np.ndarray]:
    # Per (arm, unit): its pending sums in each stretch (pending keys end with the time).
    ends = [end for end in bounds[:-1] if end is not None]
    found: dict[tuple[str, str], np.ndarray] = {}
    for key, values in facts.sums.get("rollups", {}).items():
        pair = (str(key[2]), str(key[5]))
        if pair not in found:
            found[pair] = np.zeros((len(bounds), len(names)))
        found[pair][bisect.bisect_right(ends, key[-1])] += [values.get(n, 0) for n in names]
    return found


def _folded_units(
    conn: sa.Connection,
    scope: Scope,
    names: Sequence[str],
    pairs: Iterable[tuple[str, str]],
    bounds: Sequence[datetime | None],
) -> dict[tuple[str, str], np.ndarray]:
    wanted = set(pairs)
    units = sorted({unit for _, unit in wanted})
    found: dict[tuple[str, str], np.ndarray] = {}
    for start in range(0, len(units), 500):
        query = _per_unit(scope, names, bounds, units[start : start + 500])
        for row in conn.execute(query):
            pair = (str(row[0]), str(row[1]))
            if pair in wanted:
                if pair not in found:
                    found[pair] = np.zeros((len(bounds), len(names)))
                found[pair][int(row[2])] = [float(v or 0) for v in row[3:]]
    return found
