"""Routing policies, registered by name."""

from __future__ import annotations

from champion.plugins import Registry
from champion.serving.policies.ab import AbPolicy
from champion.serving.policies.bandit import BanditPolicy
from champion.serving.policies.base import (
    Assignment,
    Policy,
    PolicyArms,
    PolicyFactory,
    PolicyParams,
    Resolve,
    Route,
    Served,
    ServedItem,
    single_answer,
)
from champion.serving.policies.blue_green import BlueGreenPolicy
from champion.serving.policies.canary import CanaryPolicy
from champion.serving.policies.interleave import InterleavePolicy
from champion.serving.policies.shadow import ShadowPolicy
from champion.serving.policies.single import SinglePolicy

__all__ = [
    "AbPolicy",
    "Assignment",
    "BanditPolicy",
    "BlueGreenPolicy",
    "CanaryPolicy",
    "InterleavePolicy",
    "Policy",
    "PolicyArms",
    "PolicyFactory",
    "PolicyParams",
    "Resolve",
    "Route",
    "Served",
    "ServedItem",
    "ShadowPolicy",
    "SinglePolicy",
    "default_policies",
    "single_answer",
]

_BUILT_IN: tuple[PolicyFactory, ...] = (
    AbPolicy,
    BanditPolicy,
    BlueGreenPolicy,
    CanaryPolicy,
    InterleavePolicy,
    ShadowPolicy,
    SinglePolicy,
)


def default_policies() -> Registry[PolicyFactory]:
    """A fresh registry with the built-in policies and those from ``champion.policies``."""
    policies: Registry[PolicyFactory] = Registry("policy", "policies", "champion.policies")
    for factory in _BUILT_IN:
        policies.register(factory.name, factory)
    return policies
