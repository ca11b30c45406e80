"""Validation with one message format that names the field, the owner and the value.

Parameters of policies, tests and detectors fail as "The 'alpha' parameter of WelchTest must
be a float in the range (0, 1). Got 1.5 instead."; pydantic failures (requests, manifests)
become "field: what is wrong, got value".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
from pydantic import ValidationError

from champion.errors import InvalidInput

__all__ = [
    "MAX_ID",
    "NotStorable",
    "check_storable",
    "describe_problem",
    "describe_validation_error",
    "invalid_input",
    "location",
]


def location(parts: Sequence[int | str], root: str = "") -> str:
    """Render a pydantic location ``('instances', 0, 'tenure')`` as ``instances[0].tenure``."""
    text = root
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "body"


def describe_validation_error(error: ValidationError, root: str = "", limit: int = 5) -> str:
    """One line per problem, at most ``limit``: ``field: what is wrong (got value)``."""
    lines = [describe_problem(item, root) for item in error.errors(include_url=False)[:limit]]
    more = error.error_count() - limit
    if more > 0:
        lines.append(f"... and {more} more problem(s)")
    return "; ".join(lines)


def describe_problem(item: Mapping[str, Any], root: str = "") -> str:
    """One pydantic error as ``field: what is wrong, got value``."""
    loc = tuple(item.get("loc", ()))
    if loc[:1] == ("body",):  # FastAPI's request errors start with where the value came from
        loc = loc[1:]
    where = location([p for p in loc if isinstance(p, int | str)], root)
    error = item.get("ctx", {}).get("error")
    if isinstance(error, NotStorable):  # found inside the value at ``loc``
        return f"{where or 'body'}{error.path}: {error.problem}"
    text = f"{where}: {item.get('msg')}"
    if item.get("type") != "missing" and "input" in item:
        text += f", got {short_repr(item['input'])}"
    return text


def invalid_input(error: ValidationError, root: str = "") -> InvalidInput:
    return InvalidInput(describe_validation_error(error, root))


def short_repr(value: Any) -> str:
    """``repr(value)``, cut to 60 characters for error messages."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_BRACKETS = {True: ("[", "]"), False: ("(", ")")}


def _fail(
    owner: str, name: str, expected: str, value: Any, kind: str = "parameter"
) -> InvalidInput:
    return InvalidInput(
        f"The {name!r} {kind} of {owner} must be {expected}. Got {value!r} instead."
    )


def check_float(
    owner: str,
    name: str,
    value: Any,
    low: float,
    high: float,
    *,
    closed: str = "neither",
) -> float:
    """Return ``value`` as a float if it lies in the interval, else raise InvalidInput.

    ``closed`` is "neither", "left", "right" or "both", as in scikit-learn's ``Interval``.
    """
    left, right = (
        _BRACKETS[closed in {"left", "both"}][0],
        _BRACKETS[closed in {"right", "both"}][1],
    )
    expected = f"a float in the range {left}{_bound(low)}, {_bound(high)}{right}"
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise _fail(owner, name, expected, value)
    number = float(value)
    above = number >= low if closed in {"left", "both"} else number > low
    below = number <= high if closed in {"right", "both"} else number < high
    if math.isnan(number) or not (above and below):
        raise _fail(owner, name, expected, value)
    return number


def check_int(owner: str, name: str, value: Any, low: int) -> int:
    """Return ``value`` if it is an int of at least ``low``, else raise InvalidInput."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise _fail(owner, name, f"an int of at least {low}", value)
    return int(value)


def check_alpha(owner: str, value: Any) -> float:
    """The significance level: a float strictly between 0 and 1."""
    return check_float(owner, "alpha", value, 0.0, 1.0)


def check_choice(owner: str, name: str, value: Any, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise InvalidInput."""
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(repr(c) for c in sorted(choices))
        raise _fail(owner, name, f"one of {listed}", value)
    return value


def check_sample(owner: str, name: str, value: Any, *, minimum: int = 2) -> npt.NDArray[np.float64]:
    """Return a 1-D float array of finite values with at least ``minimum`` entries."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise _fail(owner, name, "a 1-D array of numbers", value, "argument") from None
    if array.ndim != 1 or array.size < minimum or not np.all(np.isfinite(array)):
        expected = f"a 1-D array of at least {minimum} finite numbers"
        raise _fail(owner, name, expected, _abbreviated(value), "argument")
    return array


def _bound(value: float) -> str:
    return "inf" if value == math.inf else "-inf" if value == -math.inf else f"{value:g}"


def _abbreviated(value: Any) -> Any:
    text = repr(value)
    return value if len(text) <= 60 else _Shortened(text[:57] + "...")


class _Shortened(str):
    def __repr__(self) -> str:
        return str(self)


MAX_ID = 2**63 - 1
"""The largest integer a database column holds (signed 64 bits; SQLite would store larger
ones in a JSON value as a float)."""
_INT64 = (-(2**63), MAX_ID)


class NotStorable(ValueError):
    """What :func:`check_storable` found, and where: ``where`` + ``path`` (``body`` + ``.a[0]``)."""

    def __init__(self, where: str, path: str, problem: str) -> None:
        super().__init__(f"{where}{path}: {problem}")
        self.path = path
        self.problem = problem


def check_storable(value: Any, where: str = "body") -> None:
    """Raise NotStorable unless ``value`` can be stored as JSON text on SQLite and PostgreSQL:
    integers within 64 bits, finite numbers, and text without NUL characters or lone surrogates.

    Examples
    --------
    >>> check_storable({"a": [1, "x", None]})
    >>> check_storable({"a": [2**70]})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    champion.validation.NotStorable: body.a[0]: the integer 1180591620717411303424 does not fit...
    >>> check_storable({"a": float("nan")})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    champion.validation.NotStorable: body.a: nan is not a finite number (JSON has no NaN or ...
    """
    # The fast path: orjson refuses integers beyond 53 bits (strict) and lone surrogates,
    # writes NUL escaped, and writes NaN and the infinities as null (so a null, or a literal
    # backslash-u0000 in a text, means looking closer).
    try:
        text = orjson.dumps(value, option=orjson.OPT_STRICT_INTEGER)
        if b"\\u0000" not in text and b"null" not in text:
            return
    except TypeError:
        pass
    pending = [("", value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise NotStorable(where, path, "text may not contain NUL characters")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                problem = "text is not valid Unicode (a lone surrogate)"
                raise NotStorable(where, path, problem) from None
        elif isinstance(item, float):
            if not math.isfinite(item):
                problem = f"{item} is not a finite number (JSON has no NaN or Infinity)"
                raise NotStorable(where, path, problem)
        elif isinstance(item, bool) or not isinstance(item, int | dict | list | tuple):
            continue
        elif isinstance(item, int):
            if not _INT64[0] <= item <= _INT64[1]:
                raise NotStorable(where, path, f"the integer {item} does not fit in 64 bits")
        elif isinstance(item, dict):
            for key, inner in item.items():
                pending.append((f"{path} key", key))
                pending.append((f"{path}.{key}", inner))
        else:
            pending.extend((f"{path}[{i}]", inner) for i, inner in enumerate(item))
