"""Per-arm sums of per-unit totals and of their products, summed in the database.

A ratio metric's unit-level variance (the delta method) needs, over an arm's units,
``Σx, Σy, Σx², Σy², Σxy`` of each unit's totals; a unit's totals are the sums of its rollup
rows (one per segment and version). The database groups the folded rows of a scope by
(arm, unit), then sums those totals and their products per arm, so O(arms) numbers leave it,
whatever the number of units. The requests and feedback the fold pass has not reached yet
change only the units they belong to: those units' folded totals are read (a few rows
each), their share of the arm's sums taken away and added back with the pending facts.
Units count when they made a request in the scope (their ``requests`` total is above 0).

Answers are kept for the read's transaction (one snapshot; a report asks for one scope
several times) beside the pending facts, and the fold pass drops them with those
(``aggregates.snapshot_cache``); nothing outlives the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa

from champion.events.aggregates import Scope, pending, snapshot_cache, where
from champion.events.facts import Facts
from champion.events.rollup_tables import rollups

__all__ = ["UnitSums", "unit_sums"]

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
    key = ("unit_sums", _hashable(scope), tuple(columns), tuple(products))
    cache = snapshot_cache(conn)
    if key in cache:
        found: dict[str, UnitSums] = cache[key]
        return found
    names = list(dict.fromkeys(["requests", *(c for c in columns if c != "one")]))
    accumulated = _folded(conn, scope, names, products)
    facts = pending(conn, scope) if facts is None else facts
    late = _pending_units(facts, names)
    if late:
        before = _folded_units(conn, scope, names, late)
        for pair, extra in late.items():
            old = before.get(pair)
            if old is not None and old["requests"] > 0:
                _add(accumulated, pair[0], old, names, products, -1.0)
            new = {name: (0.0 if old is None else old[name]) + extra[name] for name in names}
            if new["requests"] > 0:
                _add(accumulated, pair[0], new, names, products, 1.0)
    found = {}
    for arm in sorted(accumulated):
        values = accumulated[arm]
        units = round(values[0])
        if units <= 0:
            continue
        sums = dict(zip(names, values[1 : len(names) + 1], strict=True)) | {"one": float(units)}
        found[arm] = UnitSums(
            units,
            sums,
            dict(zip(products, values[len(names) + 1 :], strict=True)),
        )
    cache[key] = found
    return found


def _hashable(scope: Scope) -> Scope:
    return scope if scope.arms is None else replace(scope, arms=tuple(scope.arms))


def _per_unit(scope: Scope, names: Sequence[str]) -> sa.Select[Any]:
    # Float sums: exact for counts below 2^53, and PostgreSQL's sums of integers (numeric)
    # would make every product an arbitrary-precision multiplication.
    r = rollups
    return (
        sa.select(
            r.c.arm, r.c.unit, *(sa.cast(sa.func.sum(r.c[n]), sa.Float).label(n) for n in names)
        )
        .where(where(r, scope))
        .group_by(r.c.arm, r.c.unit)
    )


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


def _pending_units(facts: Facts, names: Sequence[str]) -> dict[tuple[str, str], dict[str, float]]:
    found: dict[tuple[str, str], dict[str, float]] = {}
    for key, values in facts.sums.get("rollups", {}).items():
        into = found.setdefault((str(key[2]), str(key[5])), dict.fromkeys(names, 0.0))
        for name in names:
            into[name] += values.get(name, 0)
    return found


def _folded_units(
    conn: sa.Connection, scope: Scope, names: Sequence[str], pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, float]]:
    wanted = set(pairs)
    units = sorted({unit for _, unit in wanted})
    found: dict[tuple[str, str], dict[str, float]] = {}
    for start in range(0, len(units), 500):
        query = _per_unit(scope, names).where(rollups.c.unit.in_(units[start : start + 500]))
        for row in conn.execute(query):
            pair = (str(row[0]), str(row[1]))
            if pair in wanted:
                found[pair] = {name: float(v or 0) for name, v in zip(names, row[2:], strict=True)}
    return found


def _add(
    into: dict[str, list[float]],
    arm: str,
    unit: Mapping[str, float],
    names: Sequence[str],
    products: Sequence[Product],
    sign: float,
) -> None:
    values = into.setdefault(arm, [0.0] * (1 + len(names) + len(products)))
    total = dict(unit) | {"one": 1.0}
    terms = [1.0, *(total[name] for name in names), *(total[a] * total[b] for a, b in products)]
    for n, term in enumerate(terms):
        values[n] += sign * term
