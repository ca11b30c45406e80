"""Request and response bodies of the HTTP API (the contract clients rely on)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Self

from fastapi import Path, Query
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    model_validator,
)

from champion.clock import UserTime
from champion.registry.signature import MAX_INSTANCES
from champion.serving.batching import Batching
from champion.validation import MAX_ID, check_storable

__all__ = [
    "ActionBody",
    "AliasBody",
    "CompileBody",
    "EndpointBody",
    "EndpointName",
    "FeedbackBatchBody",
    "FeedbackBody",
    "ModelName",
    "PredictBody",
    "RankBody",
    "Reason",
    "RequestBody",
    "StageName",
]

# The event log stores a kind in 16 characters and an item in 256.
_KIND = r"^[a-z][a-z0-9_]{0,15}$"


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("text may not contain NUL characters")
    return text


EndpointName = Annotated[str, Path(description="The endpoint's name.", examples=["churn"])]
ModelName = Annotated[str, Path(description="The model's name.", examples=["churn"])]
StageName = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=31,
        description="A pipeline endpoint's stage (default: the last).",
        examples=["retrieve"],
    ),
]

Reason = Annotated[str, Field(max_length=2000), AfterValidator(_no_nul)]
"""Why a change was made, as a form field or query parameter (bodies check theirs whole)."""


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="after")
    def _storable(self) -> Self:
        # Everything a body holds may end up in the event log or the audit log: refuse here
        # what a database would refuse later (off the response path, where it cannot be said).
        check_storable(self._stored_values())
        return self

    plain_json: ClassVar[bool] = False
    """Whether every field holds plain JSON values (no model inside): checked as they are,
    not dumped into a copy first (the request paths' bodies: every call passes here)."""

    def _stored_values(self) -> dict[str, Any]:
        # Fields left unset hold nothing to store (and a null would mean looking closer).
        if self.plain_json:
            return {name: value for name, value in self.__dict__.items() if value is not None}
        return self.model_dump(mode="python", exclude_none=True)


class PredictBody(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "unit": "customer-42",
                    "instances": [{"tenure": 3, "charges": 12.5, "contract": "Month-to-month"}],
                }
            ]
        }
    )

    unit: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="Who is randomised (user, session). Omitted: randomised per request.",
    )
    instances: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_INSTANCES)
    plain_json: ClassVar[bool] = True


class RankBody(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"unit": "user-17", "k": 3, "context": {}}]}
    )

    unit: str | None = Field(default=None, min_length=1, max_length=256)
    k: int = Field(default=10, ge=1, le=1000, strict=True)
    context: dict[str, Any] = Field(default_factory=dict)
    plain_json: ClassVar[bool] = True


class AliasBody(RequestBody):
    version: int = Field(ge=1, le=MAX_ID, strict=True)
    reason: str = Field(default="", max_length=2000)


class CompileBody(RequestBody):
    tolerance: float = Field(
        default=1e-5,
        ge=0,
        le=1,
        description="Largest accepted difference of a probability or value on the reference rows.",
    )
    aliases: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=20, description="Aliases to set on the compiled version."
    )
    reason: Reason = ""


class ActionBody(RequestBody):
    reason: str = Field(default="", max_length=2000)
    arm: str | None = Field(
        default=None, min_length=1, max_length=64, description="promote: which challenger arm."
    )


class EndpointBody(RequestBody):
    policy: str = Field(min_length=1, max_length=32)
    params: dict[str, Any] = Field(default_factory=dict)
    salt: str | None = Field(default=None, min_length=1, max_length=64)
    reason: str = Field(default="", max_length=2000)
    batching: Batching | None = Field(
        default=None,
        description="Adaptive batching: concurrent predictions to one version share a model "
        "call. Omitted: the endpoint keeps its current batching; null: off.",
        examples=[{"max_batch_size": 32, "max_batch_wait_ms": 2}],
    )


class FeedbackBody(RequestBody):
    event_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Client-chosen id: a retry with the same id is stored once.",
    )
    request_id: str = Field(min_length=1, max_length=64)
    kind: str = Field(
        pattern=_KIND, description="click, purchase, label, value, or another lowercase word."
    )
    item: Annotated[StrictStr, Field(max_length=256)] | StrictInt | None = Field(
        default=None, description="The ranked item, for rankings."
    )
    # Strict: true is no value, nor is "1" (JSON numbers only).
    value: StrictFloat | None = Field(default=None, allow_inf_nan=False)
    label: Any = None
    at: UserTime | None = Field(default=None, description="When it happened; default: now.")


class FeedbackBatchBody(RequestBody):
    events: list[FeedbackBody] = Field(min_length=1, max_length=10_000)
