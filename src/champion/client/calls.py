"""What every client operation is built from: a ``Call`` (the request, and how to read its
answer into a typed object) and ``operation``, which writes each call once for the blocking
and the async client and keeps its type for both."""

from __future__ import annotations

import functools
import inspect
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload
from urllib.parse import quote

from pydantic import BaseModel

__all__ = [
    "AsyncSender",
    "Call",
    "Sender",
    "drop_none",
    "iso",
    "nothing",
    "operation",
    "read",
    "segment",
]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
P = ParamSpec("P")


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    answer: Callable[[Any], T]
    """Reads the JSON body (None for 204) into what the operation returns."""
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    data: dict[str, str] | None = None


def read(model: type[M]) -> Callable[[Any], M]:
    """Read the whole body as ``model`` (the server declared it so)."""
    return model.model_validate


def nothing(body: Any) -> None:
    """A 204: no body, nothing to read."""


class Sender(ABC):
    """The blocking client: ``_send`` answers with the call's answer."""

    @abstractmethod
    def _send(self, call: Call[T]) -> T:
        """Send ``call`` and read its answer."""


class AsyncSender(ABC):
    """The async client: ``_send`` is awaited."""

    @abstractmethod
    async def _send(self, call: Call[T]) -> T:
        """Send ``call`` and read its answer."""


class operation(Generic[P, T]):
    """Decorates a method building a ``Call[T]``: on a ``Sender`` it becomes a method
    returning ``T``, on an ``AsyncSender`` one returning an awaitable ``T``, so that one
    definition serves both clients and type checkers know each answer's fields."""

    def __init__(self, build: Callable[Concatenate[Any, P], Call[T]]) -> None:
        self.build = build
        functools.update_wrapper(self, build)  # type: ignore[arg-type]  # name and docstring
        parameters = list(inspect.signature(build).parameters.values())[1:]
        self._signature = inspect.signature(build).replace(parameters=parameters)

    @overload
    def __get__(self, obj: None, owner: type) -> operation[P, T]: ...
    @overload
    def __get__(self, obj: Sender, owner: type) -> Callable[P, T]: ...
    @overload
    def __get__(self, obj: AsyncSender, owner: type) -> Callable[P, Awaitable[T]]: ...
    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return self
        build = self.build

        def send(*args: Any, **kwargs: Any) -> Any:
            return obj._send(build(obj, *args, **kwargs))

        send.__name__ = build.__name__
        send.__qualname__ = build.__qualname__
        send.__doc__ = build.__doc__
        send.__signature__ = self._signature  # type: ignore[attr-defined]  # for help()
        return send


def segment(value: str | int) -> str:
    """One path segment: '/' and a lone '.' or '..' cannot climb to another route."""
    text = quote(str(value), safe="")
    return text.replace(".", "%2E") if set(text) == {"."} else text


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def drop_none(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
