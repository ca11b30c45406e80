"""The version serving an endpoint now: the champion of its current configuration."""

from __future__ import annotations

from typing import Any

import pytest

from champion.registry import VersionKey
from champion.services import Services
from tests.conftest import ModelFolders

CASES: list[tuple[str, dict[str, Any], int]] = [
    ("single", {"version": "churn/2"}, 2),
    ("canary", {"champion": "churn/3", "challenger": "churn/1", "share": 0.9}, 3),
    ("shadow", {"champion": "churn/1", "challenger": "churn/2"}, 1),
    ("blue_green", {"blue": "churn/1", "green": "churn/2", "live": "green"}, 2),
    ("blue_green", {"blue": "churn/1", "green": "churn/2", "live": "blue"}, 1),
    ("ab", {"arms": {"a": "churn/2", "control": "churn/3"}}, 3),
    ("bandit", {"arms": {"a": "churn/1", "b": "churn/2"}, "control": "b"}, 2),
    ("interleave", {"champion": "churn@champion", "challenger": "churn/1"}, 3),
]


@pytest.mark.parametrize(("policy", "params", "number"), CASES)
def test_the_live_version_is_the_configurations_champion(
    services: Services,
    model_folder: ModelFolders,
    policy: str,
    params: dict[str, Any],
    number: int,
) -> None:
    folder = model_folder("echo_ranker" if policy == "interleave" else "constant")
    for _ in range(3):
        services.registry.register(folder, model="churn", actor="t")
    services.registry.set_alias("churn", "champion", 3, actor="t")
    services.endpoints.set("churn", policy, params, actor="t")
    assert services.endpoints.live_version("churn") == VersionKey("churn", number)
    configured = services.endpoints.configured_versions("churn")
    assert VersionKey("churn", number) in configured
