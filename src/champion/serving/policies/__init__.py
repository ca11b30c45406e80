"""Routing policies, registered by name."""

from __future__ import annotations

from champion.plugins import Registry
from champion.serving.policies.base import (
    Policy,
    PolicyFactory,
    Resolve,
    Route,
    Served,
    ServedItem,
)
from champion.serving.policies.single import SinglePolicy

__all__ = [
    "Policy",
    "PolicyFactory",
    "Resolve",
    "Route",
    "Served",
    "ServedItem",
    "SinglePolicy",
    "default_policies",
]


def default_policies() -> Registry[PolicyFactory]:
    """A fresh registry with the built-in policies and those from ``champion.policies``."""
    policies: Registry[PolicyFactory] = Registry("policy", "policies", "champion.policies")
    policies.register(SinglePolicy.name, SinglePolicy)
    return policies
