"""The table registry: which ``.tex`` files the paper stage writes, and which function builds each.

A table is one module of ``emovec.report.table_defs`` exposing ``build(inputs) -> str`` (the
LaTeX text), registered once, under its file name and its experiment, in
``emovec.report.tables``. A table is built only when its experiment has outputs in the run
(``PaperInputs.has``), in registration order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from emovec.readers.paper_inputs import EXPERIMENTS, PaperInputs

__all__ = ["TableBuilder", "TableEntry", "TableRegistry"]

TableBuilder = Callable[[PaperInputs], str]


@dataclass(frozen=True)
class TableEntry:
    """One registered table: its file name (``<name>.tex``), experiment and builder."""

    name: str
    experiment: str
    build: TableBuilder


class TableRegistry:
    """An ordered set of tables whose names are unique."""

    def __init__(self) -> None:
        self._entries: dict[str, TableEntry] = {}

    def register(self, name: str, experiment: str, build: TableBuilder) -> None:
        """Add a table.

        Raises:
            ValueError: ``name`` is already registered, does not end in ``.tex``, or
                ``experiment`` is not one of ``EXPERIMENTS``.
        """
        if name in self._entries:
            raise ValueError(f"table {name!r} is registered twice")
        if not name.endswith(".tex") or "/" in name:
            raise ValueError(f"table name {name!r} must be a file name ending in .tex")
        if experiment not in EXPERIMENTS:
            raise ValueError(f"table {name!r}: experiment {experiment!r} is not one of {list(EXPERIMENTS)}")
        self._entries[name] = TableEntry(name=name, experiment=experiment, build=build)

    def __iter__(self) -> Iterator[TableEntry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def names(self, experiment: str | None = None) -> tuple[str, ...]:
        """Registered file names in order, optionally only those of one experiment."""
        return tuple(e.name for e in self if experiment is None or e.experiment == experiment)

    def build_all(self, inputs: PaperInputs) -> dict[str, str]:
        """{file name: LaTeX text} of every table whose experiment has outputs, in order."""
        return {e.name: e.build(inputs) for e in self if inputs.has(e.experiment)}
