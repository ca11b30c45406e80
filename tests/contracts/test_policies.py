from __future__ import annotations

import pytest

from champion.serving.policies import default_policies
from champion.testing import check_policy

POLICIES = default_policies()


@pytest.mark.parametrize("name", POLICIES.names())
def test_every_policy_keeps_the_contract(name: str) -> None:
    check_policy(POLICIES.get(name))
