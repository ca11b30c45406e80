"""What one request adds to the stored aggregates, computed from its raw rows.

The fold pass adds these facts to the rollup tables, and reports compute the same facts
for the requests (and late feedback) not folded yet, so both halves of every answer come
from this one function. Facts of a request with all its feedback minus the facts with only
the feedback folded earlier are what late feedback adds: every fact is a sum, so the
difference is exact whatever the feedback changes (a first click, a tie turned into a win).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from champion.events import sketch
from champion.events.rollup_tables import VERSION_SUMS

__all__ = ["Facts", "request_facts"]

Key = tuple[Any, ...]

_VERSION_SUMS = frozenset(VERSION_SUMS)


@dataclass
class Facts:
    """Sums to add per table and key, and rows to insert per table and primary key.

    Keys follow each table's primary key: ``(endpoint, config_version, <own keys>,
    segment_start)``.
    """

    sums: dict[str, dict[Key, dict[str, float]]] = field(default_factory=dict)
    rows: dict[str, dict[Key, dict[str, Any]]] = field(default_factory=dict)

    def add(self, table: str, key: Key, values: Mapping[str, float], sign: float = 1.0) -> None:
        keyed = self.sums.get(table)
        if keyed is None:
            keyed = self.sums[table] = {}
        found = keyed.get(key)
        if found is None:  # the common case, a new key: one copy, no sums
            keyed[key] = dict(values) if sign == 1.0 else {n: sign * v for n, v in values.items()}
            return
        for name, value in values.items():
            found[name] = found.get(name, 0) + sign * value

    def merge(self, other: Facts, sign: float = 1.0) -> Facts:
        """Add (``sign`` 1) or take away (``sign`` -1) ``other``'s sums; rows taken away
        are those ``other`` holds too."""
        for table, keyed in other.sums.items():
            for key, values in keyed.items():
                self.add(table, key, values, sign)
        for table, rows in other.rows.items():
            mine = self.rows.setdefault(table, {})
            for key, row in rows.items():
                if sign > 0:
                    mine[key] = row
                else:
                    mine.pop(key, None)
        return self


def request_facts(
    request: Mapping[str, Any],
    items: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    segment: datetime | None,
    into: Facts | None = None,
    sign: float = 1.0,
    slot: datetime | None = None,
) -> Facts:
    """The facts of one prediction (a ``predictions`` row), the items it showed and the
    feedback ``events`` given; ``segment`` is the start of its segment. They are added to
    ``into`` (a new ``Facts`` by default) or, with ``sign`` -1, taken away (rows too: call it
    so after adding the same request's facts with more feedback). With the ``slot`` of its
    time (the fold pass), its ``/stats`` sums and latency are also added per slot
    (``slot_rollups``, ``slot_sketches``)."""
    facts = _Signed(into if into is not None else Facts(), sign, slot)
    p = request
    base = (p["endpoint"], p["config_version"])
    arm, unit = p["arm"], p["unit"]
    answered = (p["model"], p["version"])
    kinds = {e["kind"] for e in events}
    clicked_on = {e["item"] for e in events if e["kind"] == "click" and e["item"] is not None}
    clicked = [i for i in items if i["item"] in clicked_on]
    first = min((e["received_at"] for e in events), default=None)
    delay = None if first is None else (first - p["at"]).total_seconds()
    probability = p["probability"]
    weighted = probability is not None and probability > 0
    inverse = 1.0 / probability if weighted else 0.0
    facts.add(
        "rollups",
        (*base, arm, *answered, unit, segment),
        {
            "requests": 1,
            "rank_requests": int(p["kind"] == "rank"),
            "failed": int(p["fallback_from"] is not None),
            "latency": float(p["latency_ms"]),
            "clicked": int("click" in kinds),
            "purchased": int("purchase" in kinds),
            "value": sum(float(e["value"]) for e in events if e["value"] is not None),
            "with_feedback": int(bool(events)),
            "shown": len(items),
            "clicked_items": len(clicked),
            "delay_sum": delay or 0.0,
            "delay_count": int(delay is not None),
            "propensity_requests": int(weighted),
            "inverse_p": inverse,
            "inverse_p2": inverse * inverse,
        },
    )
    for kind in kinds:
        facts.add(
            "reward_rollups",
            (*base, arm, kind, segment),
            {"requests": 1, "weighted": inverse, "weighted_sq": inverse * inverse},
        )
    _credit(facts, p, items, events, clicked_on, segment)
    sketches = [("latency", float(p["latency_ms"]))]
    if delay is not None:
        sketches.append(("delay", delay))
    for measure, x in sketches:
        key = (*base, arm, *answered, measure, sketch.bucket(x), segment)
        facts.add("rollup_sketches", key, {"count": 1})
    _interleaving(facts, p, items, clicked_on, segment)
    row = {"endpoint": p["endpoint"], "config_version": p["config_version"], "arm": arm}
    row |= {"unit": unit, "at": p["at"]}
    if p["kind"] == "predict":
        labelled = facts.rows("labelled_predictions")
        for e in events:
            if e["kind"] == "label":
                labelled[(e["event_id"],)] = row | {
                    "event_id": e["event_id"],
                    "request_id": p["request_id"],
                    "model": p["model"],
                    "version": p["version"],
                    "outputs": p["outputs"],
                    "label": e["label"],
                }
    elif p["kind"] == "rank":
        positions = facts.rows("ranked_clicks")
        for i in clicked:
            positions[(p["request_id"], i["position"])] = row | {
                "request_id": p["request_id"],
                "position": i["position"],
            }
    return facts.facts


class _Signed:
    """Adds to (or takes away from) one ``Facts``, and per slot when given one; taken-away
    rows are dropped."""

    def __init__(self, facts: Facts, sign: float, slot: datetime | None = None) -> None:
        self.facts = facts
        self.sign = sign
        self.slot = slot

    def add(self, table: str, key: Key, values: Mapping[str, float]) -> None:
        self.facts.add(table, key, values, self.sign)
        if self.slot is None:
            return
        # The keys of the slot tables: endpoint, slot, arm, model, version (bucket).
        if table == "rollups":
            sums = {name: v for name, v in values.items() if name in _VERSION_SUMS}
            self.facts.add("slot_rollups", (key[0], self.slot, *key[2:5]), sums, self.sign)
        elif table == "rollup_sketches" and key[5] == "latency":
            per_slot = (key[0], self.slot, *key[2:5], key[6])
            self.facts.add("slot_sketches", per_slot, values, self.sign)

    def rows(self, table: str) -> _Rows:
        return _Rows(self.facts.rows.setdefault(table, {}), self.sign > 0)


class _Rows:
    def __init__(self, rows: dict[Key, dict[str, Any]], keep: bool) -> None:
        self._rows = rows
        self._keep = keep

    def __setitem__(self, key: Key, row: dict[str, Any]) -> None:
        if self._keep:
            self._rows[key] = row
        else:
            self._rows.pop(key, None)


def _credit(
    facts: _Signed,
    p: Mapping[str, Any],
    items: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    clicked_on: set[Any],
    segment: datetime | None,
) -> None:
    # As version_stats has always counted: impressions go to the version a shown item is
    # credited to; under interleaving, feedback on an item goes to the version that placed
    # it, and feedback without a placed item stays with the version that answered.
    def key(model: str, version: int) -> Key:
        return (p["endpoint"], p["config_version"], p["arm"], model, version, p["unit"], segment)

    for i in items:
        facts.add(
            "rollups",
            key(i["model"], i["version"]),
            {"credited_impressions": 1, "credited_clicked": int(i["item"] in clicked_on)},
        )
    answered_feedback: set[Key] = set()
    for e in events:
        placed = [i for i in items if i["item"] == e["item"]] if p["arm"] == "interleave" else []
        targets = [key(i["model"], i["version"]) for i in placed] or [key(p["model"], p["version"])]
        for target in targets:
            answered_feedback.add(target)
            facts.add(
                "rollups",
                target,
                {
                    "credited_clicks": int(e["kind"] == "click"),
                    "credited_purchases": int(e["kind"] == "purchase"),
                    "credited_labels": int(e["kind"] == "label"),
                    "credited_value": 0.0 if e["value"] is None else float(e["value"]),
                },
            )
    for target in answered_feedback:
        facts.add("rollups", target, {"credited_with_feedback": 1})


def _interleaving(
    facts: _Signed,
    p: Mapping[str, Any],
    items: Sequence[Mapping[str, Any]],
    clicked_on: set[Any],
    segment: datetime | None,
) -> None:
    # An impression compares two teams: the answering (champion) version and the one other
    # version that placed items; a fallback or a one-team list compares nothing.
    if p["arm"] != "interleave" or p["fallback_from"] is not None or not items:
        return
    clicks: dict[str, int] = {}
    for i in items:
        team = f"{i['model']}/{i['version']}"
        clicks[team] = clicks.get(team, 0) + int(i["item"] in clicked_on)
    champion = f"{p['model']}/{p['version']}"
    others = [team for team in clicks if team != champion]
    if len(others) != 1:
        return
    a, b = clicks.get(champion, 0), clicks[others[0]]
    facts.add(
        "interleaving_rollups",
        (p["endpoint"], p["config_version"], champion, others[0], p["unit"], segment),
        {
            "impressions": 1,
            "wins": int(b > a),
            "losses": int(a > b),
            "ties": int(a == b and a > 0),
            "champion_clicks": a,
            "challenger_clicks": b,
        },
    )
