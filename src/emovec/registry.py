"""One registry type for every extension point (pooling, baseline, reader, norm source, ...).

An extension is a function (or object) registered under a name that configs use. Every registry
in the package is a :class:`Registry`: it refuses a second entry under a name already taken (two
entries under one name would make a config ambiguous, and the later import would silently win),
and an unknown name raises an error that names the config key, the value and the known entries.
It is a read-only ``Mapping``, so ``name in REG``, ``REG[name]`` and ``sorted(REG)`` read as for a
dict; :mod:`emovec.compose.cells` checks every config value that names an entry against it at compose.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

from emovec.errors import EmovecInputError

__all__ = ["Registry"]

T = TypeVar("T")
F = TypeVar("F")


class Registry(Mapping[str, T], Generic[T]):
    """Named entries of one kind, in registration order, each name at most once.

    Args:
        kind: what an entry is, for messages ("pooling", "story format").
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T) -> None:
        """Register ``entry`` under ``name``.

        Raises:
            EmovecInputError: ``name`` is empty or already registered.
        """
        if not isinstance(name, str) or not name:
            raise EmovecInputError(f"{self.kind} name must be a non-empty string, got {name!r}")
        if name in self._entries:
            raise EmovecInputError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry

    def register(self, name: str) -> Callable[[F], F]:
        """Decorator form of :meth:`add`: registers the decorated object and returns it unchanged."""

        def decorator(entry: F) -> F:
            self.add(name, entry)  # type: ignore[arg-type]
            return entry

        return decorator

    def unregister(self, name: str) -> T:
        """Remove and return the entry ``name`` (for tests that register a temporary entry)."""
        return self._entries.pop(name)

    def lookup(self, name: str, key: str | None = None) -> T:
        """The entry ``name``.

        Raises:
            EmovecInputError: no such entry; the message names ``key`` (the config key that holds
                the value, when given), the value and every registered name.
        """
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            where = f"{key}={name!r}" if key else f"{name!r}"
            raise EmovecInputError(f"unknown {self.kind} {where}; known: {sorted(self._entries)}") from None

    def __getitem__(self, name: str) -> T:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {list(self._entries)})"
