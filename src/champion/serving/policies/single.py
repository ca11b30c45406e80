"""single: one version answers every request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from champion.registry.entities import VersionKey, VersionRef
from champion.serving.policies.base import Resolve, Route, Served, ServedItem
from champion.types import Json
from champion.validation import invalid_input

__all__ = ["SinglePolicy"]


class SingleParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str


class SinglePolicy:
    """Serve one version, named by ``version`` (``recs/3`` or ``recs@champion``).

    Examples
    --------
    >>> from champion.registry.entities import VersionKey
    >>> policy = SinglePolicy.build({"version": "recs@champion"}, lambda ref: VersionKey("recs", 2))
    >>> policy.route("user-1", None, {}).answer
    VersionKey(model='recs', number=2)
    """

    name: ClassVar[str] = "single"

    def __init__(self, version: VersionKey) -> None:
        self.version = version

    @classmethod
    def references(cls, params: Mapping[str, Any]) -> list[str]:
        parsed = _parse(params)
        VersionRef.parse(parsed.version)
        return [parsed.version]

    @classmethod
    def build(cls, params: Mapping[str, Any], resolve: Resolve) -> SinglePolicy:
        return cls(resolve(_parse(params).version))

    def versions(self) -> tuple[VersionKey, ...]:
        return (self.version,)

    def route(self, unit: str, bucket: int | None, context: Mapping[str, Any]) -> Route:
        return Route(arm="champion", answer=self.version, bucket=bucket)

    def attribute(
        self, route: Route, outputs: Mapping[VersionKey, list[Json]], *, ranking: bool
    ) -> Served:
        answer = outputs[route.answer]
        if not ranking:
            return Served(version=route.answer, outputs=answer)
        items = [
            ServedItem(item=item, position=position, score=score, credit=route.answer)
            for position, (item, score) in enumerate(answer, start=1)
        ]
        return Served(version=route.answer, items=items)


def _parse(params: Mapping[str, Any]) -> SingleParams:
    try:
        return SingleParams.model_validate(params)
    except ValidationError as exc:
        raise invalid_input(exc, "params") from None
