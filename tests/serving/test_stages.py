"""Reading a pipeline endpoint's stages: every structural mistake names its stage."""

from __future__ import annotations

from typing import Any

import pytest

from champion.errors import InvalidInput
from champion.serving.stages import (
    parse_stages,
    policy_under_test,
    stage_endpoint,
    stage_event_id,
    stage_under_test,
    with_policy_under_test,
)

CANARY = {"champion": "b@champion", "challenger": "b@challenger", "share": 0.1}
TWO: list[dict[str, Any]] = [
    {"name": "a", "model": "a@champion"},
    {"name": "b", "policy": "canary", "params": CANARY, "inputs": {"x": "a.score"}},
]


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ([], "params.stages: List should have at least 1 item"),
        ([{"name": "a.b", "model": "m/1"}], "params.stages[0].name: String should match"),
        ([{"name": "a"}], "stage 'a' names no version"),
        (
            [{"name": "a", "model": "m/1", "policy": "canary"}],
            "params.stages[0].model: 'model' serves one version alone",
        ),
        ([{"name": "request", "model": "m/1"}], "'request' is taken"),
        (
            [{"name": "a", "model": "m/1", "inputs": {"x": "request"}}],
            "params.stages[0].inputs.x: 'request' names no field",
        ),
        ([*TWO, TWO[1] | {"name": "c"}], "stages 'b', 'c' both carry a rollout"),
        ([{"name": "a", "model": "m/1", "k": 0}], "params.stages[0].k: Input should be"),
        ([{"name": "a", "model": "m/1", "colour": 1}], "params.stages[0].colour: Extra inputs"),
    ],
)
def test_structural_mistakes_are_refused_naming_the_stage(
    stages: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_stages({"stages": stages})


def test_events_are_named_so_the_last_stage_is_the_request() -> None:
    stages = parse_stages({"stages": TWO})
    assert [stage_endpoint("recs", s.name, stages) for s in stages] == ["recs:a", "recs"]
    assert [stage_event_id("r1", s.name, stages) for s in stages] == ["r1:a", "r1"]


def test_a_rollout_changes_the_stage_under_test_only() -> None:
    params = {"stages": TWO}
    assert stage_under_test(parse_stages(params)).name == "b"
    assert policy_under_test("stages", params) == ("canary", CANARY, "b")
    assert policy_under_test("canary", CANARY) == ("canary", CANARY, None)
    promoted = with_policy_under_test(params, "blue_green", {"blue": "b/1", "green": "b/2"})
    first, second = promoted["stages"]
    assert first == TWO[0]
    assert second == {
        "name": "b",
        "inputs": {"x": "a.score"},
        "policy": "blue_green",
        "params": {"blue": "b/1", "green": "b/2"},
    }
    # Without a rollout, the last stage is the one an experiment would test.
    assert stage_under_test(parse_stages({"stages": [TWO[0], TWO[0] | {"name": "c"}]})).name == "c"
