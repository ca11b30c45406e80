"""Pipeline endpoints: an endpoint whose configuration is an ordered list of stages.

Each stage is bound to a model reference through its own policy (``single`` by default) and
reads its inputs from the request and from earlier stages' outputs. One request runs the
stages in order; the last stage's kind decides whether the endpoint predicts or ranks.

The configuration is stored as the endpoint's policy ``stages`` with the parameters
``{"stages": [...]}``, so a pipeline endpoint is versioned, audited and seen by every
replica exactly as any other endpoint.

Each stage's prediction event is logged under the request id. The last stage's event is the
request's own (``request_id``, the endpoint's name): feedback, experiments and every reader
of requests see one event per request, as for a single-model endpoint. An earlier stage's
event is logged under ``<request_id>:<stage>`` and ``<endpoint>:<stage>`` (``:`` cannot
occur in a name), so the drift, data-quality and latency readers of an endpoint work on a
stage unchanged, and none of them counts a request twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from champion.errors import InvalidInput
from champion.validation import invalid_input

__all__ = [
    "REQUEST",
    "STAGES",
    "STAGE_NAME",
    "Source",
    "Stage",
    "parse_stages",
    "policy_under_test",
    "stage_endpoint",
    "stage_event_id",
    "stage_under_test",
    "with_policy_under_test",
    "with_stage_policy",
]

STAGES = "stages"
"""The policy name under which a pipeline endpoint's configuration is stored."""
REQUEST = "request"
"""The source name of the request's own fields in a stage's input mapping."""
RANKER_OUTPUTS = ("items", "scores")
"""What a ranker stage offers later stages: its item ids and their scores, best first."""
MAX_STAGES = 8
STAGE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,30}$"
"""What a stage's name may be: letters, digits, '_' or '-', up to 31."""


class _StageSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str = Field(pattern=STAGE_NAME, description="Letters, digits, '_' or '-'.")
    model: str | None = Field(
        default=None,
        min_length=1,
        max_length=130,
        description="A version reference served alone (the single policy), e.g. "
        "'retrieve@champion'.",
    )
    policy: str = Field(default="single", min_length=1, max_length=32)
    params: dict[str, Any] = Field(default_factory=dict)
    inputs: dict[str, str] = Field(
        default_factory=dict,
        description="Input field -> 'request.<field>', '<stage>' or '<stage>.<output>'. "
        "Empty: the request's instance (or ranking context) as it came.",
    )
    k: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="Items a ranker stage before the last hands on (default: the request's k).",
    )


class _StagesParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    stages: list[_StageSpec] = Field(min_length=1, max_length=MAX_STAGES)


@dataclass(frozen=True)
class Source:
    """Where a stage's input field comes from: the request's field, or an earlier stage's
    whole output (``field`` None) or one field of it."""

    stage: str
    field: str | None

    @classmethod
    def parse(cls, text: str) -> Source:
        stage, _, field = text.partition(".")
        return cls(stage, field or None)

    def __str__(self) -> str:
        return self.stage if self.field is None else f"{self.stage}.{self.field}"


@dataclass(frozen=True)
class Stage:
    """One stage of a pipeline endpoint, its policy's parameters as the policy reads them."""

    name: str
    policy: str
    params: Mapping[str, Any]
    inputs: Mapping[str, Source]
    k: int | None = None


def parse_stages(params: Mapping[str, Any]) -> tuple[Stage, ...]:
    """Read a pipeline endpoint's parameters; every structural mistake names its stage.

    Examples
    --------
    >>> stages = parse_stages({"stages": [
    ...     {"name": "retrieve", "model": "retrieve@champion", "k": 50},
    ...     {"name": "rerank", "model": "rerank@champion",
    ...      "inputs": {"candidates": "retrieve.items", "user": "request.user"}}]})
    >>> [(s.name, s.policy, dict(s.params)) for s in stages][0]
    ('retrieve', 'single', {'version': 'retrieve@champion'})
    >>> str(stages[1].inputs["candidates"])
    'retrieve.items'
    >>> parse_stages({"stages": [{"name": "a", "model": "m/1", "inputs": {"x": "b.y"}}]})
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    champion.errors.InvalidInput: params.stages[0].inputs.x: 'b.y' reads stage 'b', ...
    """
    try:
        parsed = _StagesParams.model_validate(dict(params))
    except ValidationError as exc:
        raise invalid_input(exc, "params") from None
    stages: list[Stage] = []
    for index, spec in enumerate(parsed.stages):
        where = f"params.stages[{index}]"
        if spec.name == REQUEST or spec.name in {s.name for s in stages}:
            raise InvalidInput(
                f"{where}.name: {spec.name!r} is taken; every stage needs its own name, "
                f"and {REQUEST!r} names the request."
            )
        if spec.model is not None and (spec.policy != "single" or spec.params):
            raise InvalidInput(
                f"{where}.model: 'model' serves one version alone; for the {spec.policy} "
                "policy name the versions in 'params' instead."
            )
        if spec.model is None and not spec.params:
            raise InvalidInput(
                f"{where}: stage {spec.name!r} names no version: give 'model' "
                "(e.g. 'retrieve@champion') or a policy and its 'params'."
            )
        earlier = [REQUEST, *(s.name for s in stages)]
        inputs = {}
        for field, text in spec.inputs.items():
            source = Source.parse(text)
            if source.stage not in earlier:
                raise InvalidInput(
                    f"{where}.inputs.{field}: {text!r} reads stage {source.stage!r}, which is "
                    f"not an earlier stage; sources: {', '.join(earlier)}"
                )
            if source.stage == REQUEST and source.field is None:
                raise InvalidInput(
                    f"{where}.inputs.{field}: {text!r} names no field; write 'request.<field>'."
                )
            inputs[field] = source
        params_ = {"version": spec.model} if spec.model is not None else dict(spec.params)
        stages.append(Stage(spec.name, spec.policy, params_, inputs, spec.k))
    rolled = [s.name for s in stages if s.policy != "single"]
    if len(rolled) > 1:
        raise InvalidInput(
            f"params.stages: stages {', '.join(map(repr, rolled))} both carry a rollout; one "
            "stage at a time may run a policy other than single (the others stay fixed), so "
            "each request's arm is that stage's."
        )
    return tuple(stages)


def stage_under_test(stages: Sequence[Stage]) -> Stage:
    """The stage whose arms are the request's: the one with a rollout, else the last."""
    return next((s for s in stages if s.policy != "single"), stages[-1])


def stage_endpoint(endpoint: str, stage: str, stages: Sequence[Stage]) -> str:
    """The endpoint name ``stage``'s events are logged under (see the module docstring)."""
    return endpoint if stage == stages[-1].name else f"{endpoint}:{stage}"


def stage_event_id(request_id: str, stage: str, stages: Sequence[Stage]) -> str:
    """The id of ``stage``'s prediction event for the request ``request_id``."""
    return request_id if stage == stages[-1].name else f"{request_id}:{stage}"


def policy_under_test(
    policy: str, params: Mapping[str, Any]
) -> tuple[str, Mapping[str, Any], str | None]:
    """What an experiment on the endpoint compares: its own policy and parameters, or a
    pipeline endpoint's stage under test's (and that stage's name)."""
    if policy != STAGES:
        return policy, params, None
    stage = stage_under_test(parse_stages(params))
    return stage.policy, stage.params, stage.name


def with_policy_under_test(
    params: Mapping[str, Any], policy: str, stage_params: Mapping[str, Any]
) -> dict[str, Any]:
    """A pipeline endpoint's parameters with its stage under test now running ``policy``
    over ``stage_params`` (a ramp, a promotion, a rollback); the other stages stay."""
    tested = stage_under_test(parse_stages(params)).name
    return with_stage_policy(params, tested, policy, stage_params)


def with_stage_policy(
    params: Mapping[str, Any], stage: str, policy: str, stage_params: Mapping[str, Any]
) -> dict[str, Any]:
    """A pipeline endpoint's parameters with ``stage`` now running ``policy`` over
    ``stage_params``; its inputs and ``k`` and the other stages stay."""
    stages = []
    for spec in params["stages"]:
        if spec["name"] == stage:
            kept = {k: v for k, v in spec.items() if k not in ("model", "policy", "params")}
            spec = kept | {"policy": policy, "params": dict(stage_params)}
        stages.append(dict(spec))
    return {**params, "stages": stages}
