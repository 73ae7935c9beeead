"""JSON form of the analyses stage's results: frozen dataclasses of str, int, float, None,
tuples and nested dataclasses, written as nested JSON objects and lists and read back exactly.

:func:`encode` gives the plain containers ``json.dumps`` writes (floats by ``repr``, so bit for bit;
NaN and infinities as ``NaN`` / ``Infinity``, which ``json.loads`` reads back). :func:`decode`
rebuilds the dataclass from its type hints and refuses anything else with ``TypeError`` or
``KeyError`` (a file of another shape, or of an older version): an ``int`` is never accepted
for a ``float`` field, so a value read back has the type and the bits it was written with.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

__all__ = ["decode", "encode"]

T = TypeVar("T")


def encode(obj: Any) -> Any:
    """A result dataclass as plain JSON containers (dicts, lists, str, int, float, None)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: encode(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (tuple, list)):
        return [encode(v) for v in obj]
    if obj is None or type(obj) in (str, int, float, bool):
        return obj
    raise TypeError(f"cannot write {type(obj).__name__} {obj!r} to an analysis file (convert it to a built-in type)")


def _scalar(tp: type, value: Any) -> Any:
    if type(value) is not tp:
        raise TypeError(f"expected {tp.__name__}, got {type(value).__name__} {value!r}")
    return value


def _decode(tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1:
            raise TypeError(f"unsupported union {tp!r} in an analysis result")
        return _decode(rest[0], value)
    if origin is tuple:
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v) for v in value)
        if len(args) != len(value):
            raise TypeError(f"expected {len(args)} items, got {len(value)}")
        return tuple(_decode(a, v) for a, v in zip(args, value, strict=True))
    if dataclasses.is_dataclass(tp):
        return decode(tp, value)
    if tp in (str, int, float, bool):
        return _scalar(tp, value)
    if tp is type(None):
        return _scalar(type(None), value)
    raise TypeError(f"unsupported type {tp!r} in an analysis result")


def decode(cls: type[T], node: Any) -> T:
    """``cls`` (a dataclass) from what :func:`encode` wrote; the keys must be exactly its fields."""
    if not isinstance(node, dict):
        raise TypeError(f"{cls.__name__}: expected an object, got {type(node).__name__}")
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    if sorted(node) != sorted(names):
        raise KeyError(f"{cls.__name__} has fields {names}, the file {sorted(node)}")
    hints = typing.get_type_hints(cls)
    return cls(**{name: _decode(hints[name], node[name]) for name in names})
