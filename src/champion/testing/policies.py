"""The contract of a routing policy (``Policy`` and its ``PolicyFactory``)."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from champion.registry.entities import VersionKey
from champion.serving.assignment import BUCKETS
from champion.serving.policies import Assignment, PolicyArms, PolicyFactory

__all__ = ["check_policy"]


def _resolve(reference: str) -> VersionKey:
    model, _, number = reference.partition("/")
    return VersionKey(model, int(number))


def check_policy(factory: PolicyFactory, params: dict[str, Any] | None = None) -> None:
    """Check a policy's contract on ``params`` (default: its ``example_params``).

    * parameters validate and name their versions; building resolves them;
    * routing is a pure function of the assignment: same unit, bucket and seed → same route;
    * every called, fallback and shadow version is one the policy declared;
    * probabilities lie in [0, 1];
    * ``compared_arms`` (None, or two or more arms) names only its versions, a control among
      its arms, shares that sum to 1; with shares, every route goes to one of its arms;
    * a ranking's answer holds no duplicate items, positions run 1..n, at most k items, and
      each item is credited to exactly one called version that proposed it.

    Raises ``AssertionError`` naming the broken rule.
    """
    params = factory.example_params if params is None else params
    references = factory.references(params)
    assert references, f"{factory.name}: references() returned no version"
    policy = factory.build(params, _resolve)
    declared = set(policy.versions())
    assert declared == {_resolve(r) for r in references}, (
        f"{factory.name}: versions() {sorted(declared)} differ from references {references}"
    )
    arms = factory.compared_arms(params)
    if arms is not None:
        _check_arms(factory, arms, references)
    for unit_index in range(200):
        unit = f"unit-{unit_index}"
        bucket = (unit_index * 7919) % BUCKETS
        first = policy.route(Assignment(unit, bucket, False, {}, random.Random(unit_index)))
        again = policy.route(Assignment(unit, bucket, False, {}, random.Random(unit_index)))
        assert first == again, f"{factory.name}: routing {unit!r} twice gave {first} and {again}"
        used = {*first.calls, *first.shadows} | ({first.fallback} if first.fallback else set())
        assert used <= declared, f"{factory.name}: route uses undeclared versions {used - declared}"
        assert first.calls, f"{factory.name}: a route must call at least one version"
        if first.probability is not None:
            assert 0.0 <= first.probability <= 1.0, f"{factory.name}: probability out of [0, 1]"
        if arms is not None and arms.shares is not None:
            assert first.arm in arms.refs, f"{factory.name}: route to {first.arm!r}, no arm"
        _check_ranking(factory, policy, first, unit_index)


def _check_arms(factory: PolicyFactory, arms: PolicyArms, references: list[str]) -> None:
    assert len(arms.refs) >= 2, f"{factory.name}: compared_arms() compares {len(arms.refs)} arm"
    assert arms.control in arms.refs, f"{factory.name}: control {arms.control!r} is no arm"
    unknown = set(arms.refs.values()) - set(references)
    assert not unknown, f"{factory.name}: compared_arms() names versions {unknown} it never calls"
    if arms.shares is not None:
        assert set(arms.shares) == set(arms.refs), f"{factory.name}: shares name other arms"
        assert abs(sum(arms.shares.values()) - 1.0) < 1e-9, f"{factory.name}: shares sum != 1"


def _check_ranking(factory: PolicyFactory, policy: Any, route: Any, seed: int) -> None:
    rng = random.Random(seed)
    catalogue = [f"item-{i}" for i in range(12)]
    outputs = {}
    for key in route.calls:
        items = catalogue[:]
        rng.shuffle(items)
        outputs[key] = [(item, 1.0 / (rank + 1)) for rank, item in enumerate(items[:8])]
    for k in (1, 5, 10):
        served = policy.attribute(route, outputs, ranking=True, k=k, rng=random.Random(seed))
        names = [str(item.item) for item in served.items]
        duplicates = [n for n, c in Counter(names).items() if c > 1]
        assert not duplicates, f"{factory.name}: duplicate items {duplicates}"
        assert len(names) <= k, f"{factory.name}: {len(names)} items for k={k}"
        positions = [item.position for item in served.items]
        assert positions == list(range(1, len(positions) + 1)), f"{factory.name}: positions"
        for item in served.items:
            proposed = {str(i) for i, _ in outputs.get(item.credit, [])}
            assert str(item.item) in proposed, (
                f"{factory.name}: {item.item!r} credited to {item.credit}, which did not rank it"
            )
