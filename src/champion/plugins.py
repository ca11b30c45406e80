"""Named registries of implementations (policies, flavors, ...), refusing duplicates."""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator
from importlib.metadata import EntryPoint, entry_points
from typing import Generic, TypeVar

from champion.errors import Conflict, UnknownName

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Implementations of one extension point, by name.

    Examples
    --------
    >>> colours: Registry[int] = Registry("colour", "colours")
    >>> colours.register("red", 1)
    >>> colours.get("red")
    1
    >>> colours.get("rde")
    Traceback (most recent call last):
    ...
    champion.errors.UnknownName: Unknown colour 'rde'. Known colours: red.
    """

    def __init__(self, kind: str, plural: str, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self.plural = plural
        self.entry_point_group = entry_point_group
        self._items: dict[str, T] = {}
        self._entry_points_loaded = entry_point_group is None

    def register(self, name: str, item: T) -> None:
        if name in self._items:
            raise Conflict(f"A {self.kind} named {name!r} is already registered.")
        self._items[name] = item

    def get(self, name: str) -> T:
        self._load_entry_points()
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(self.names())
            raise UnknownName(
                f"Unknown {self.kind} {name!r}. Known {self.plural}: {known}."
            ) from None

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded or self.entry_point_group is None:
            return
        self._entry_points_loaded = True
        for entry in _declared(self.entry_point_group, tuple(sys.path)):
            if entry.name not in self._items:
                self.register(entry.name, entry.load())


@functools.cache
def _declared(group: str, path: tuple[str, ...]) -> tuple[EntryPoint, ...]:
    """The entry points of ``group`` that the distributions on ``path`` declare.

    Reading every distribution's metadata takes tens of milliseconds and every service that
    opens asks again, so it is read once per search path: a distribution installed into a
    running process is seen once it is on a new path, as Python's imports see it.
    """
    del path  # the cache key: entry_points() reads sys.path itself
    return tuple(entry_points(group=group))
