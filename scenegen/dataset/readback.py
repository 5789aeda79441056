"""Plain data read back from a file: strict JSON from a regular file, checked against a type.

``read_json`` opens without blocking and reads only a regular file of bounded size (a FIFO, a device or a
folder named as a record is refused, never waited on), and refuses what Python's JSON reader accepts beyond
JSON: ``NaN``, ``Infinity`` and numbers too large for a float. ``checked`` holds the data to a type: the
dataclasses of ``SceneSpec``, the TypedDicts of the frame record, ``list[X]``, ``dict[str, X]``,
``X | None``, ``int``, ``float`` (an int is one), ``str``, ``bool``, ``Any``; a mismatch is a
:class:`BadValue` naming the key (``annotations[2].bbox``).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import types
import typing
from pathlib import Path
from typing import Any

from scenegen.errors import shown
from scenegen.files import read_regular


class BadValue(ValueError):
    """A value read back that is not what its key holds: ``key: problem``."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}" if key else problem)


def read_json(path: Path, max_bytes: int) -> Any:
    """The JSON value in the regular file ``path``; ValueError (one line) when it is not a regular file, is
    larger than ``max_bytes``, or is not strict JSON (NaN, infinities and float overflow refused)."""
    try:
        data = read_regular(path, max_bytes)
    except OSError as err:
        raise ValueError(err.strerror or str(err)) from None
    try:
        return json.loads(data, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except ValueError as err:
        raise ValueError(" ".join(str(err).split())[:160]) from None


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is not a finite number")
    return value


def checked(value: Any, hint: Any, key: str = "") -> Any:
    """``value`` held to the type ``hint`` (see the module); a dataclass comes back built from its fields,
    anything else as it is. BadValue naming ``key`` (and the key inside it) on the first mismatch."""
    if hint in _LEAVES:
        if not _LEAVES[hint](value):
            raise BadValue(key, f"{shown(value)} is not {'an' if hint is int else 'a'} {hint.__name__}")
        return value
    origin, args = _shape(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return checked(value, inner, key)
    if origin is list:
        if not isinstance(value, list):
            raise BadValue(key, f"{shown(value)} is not a list")
        if args[0] in _LEAVES and all(map(_LEAVES[args[0]], value)):  # the common case at once: numbers
            return value
        return [checked(v, args[0], f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise BadValue(key, f"{shown(value)} is not an object")
        if not args or args[1] is Any:
            return value
        return {k: checked(v, args[1], f"{key}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(hint) or typing.is_typeddict(hint):
        return _checked_fields(value, hint, key)
    raise TypeError(f"checked: no rule for {hint!r}")


_LEAVES = {
    bool: lambda v: type(v) is bool,
    int: lambda v: type(v) is int,
    float: lambda v: type(v) in (int, float),
    str: lambda v: isinstance(v, str),
}


@functools.cache
def _shape(hint: Any) -> tuple[Any, tuple[Any, ...]]:
    return typing.get_origin(hint), typing.get_args(hint)


def _checked_fields(value: Any, hint: type, key: str) -> Any:
    """A dataclass or TypedDict: every required key there, no other key, each of its type."""
    if not isinstance(value, dict):
        raise BadValue(key, f"{shown(value)} is not an object")
    hints, required = _fields(hint)
    prefix = f"{key}." if key else ""
    for name in required:
        if name not in value:
            raise BadValue(f"{prefix}{name}", "missing")
    for name in value:
        if name not in hints:
            raise BadValue(f"{prefix}{shown(name)}", "not a key of this file")
    fields = {name: checked(v, hints[name], f"{prefix}{name}") for name, v in value.items()}
    return hint(**fields) if dataclasses.is_dataclass(hint) else value


@functools.cache
def _fields(hint: Any) -> tuple[dict[str, Any], frozenset[str]]:
    """The field types of a dataclass or TypedDict, and the names it cannot do without."""
    hints = typing.get_type_hints(hint)
    if dataclasses.is_dataclass(hint):
        no_default = dataclasses.MISSING
        required = {
            f.name for f in dataclasses.fields(hint) if f.default is no_default and f.default_factory is no_default
        }
    else:
        required = set(hint.__required_keys__)  # a TypedDict
    return hints, frozenset(required)
