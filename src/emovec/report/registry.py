"""The report's two registries: every table the paper stage writes and every figure name the
document knows, each registered by the module that builds it, with its section and caption.

A table is one module of :mod:`emovec.report.table_defs` whose ``build(inputs) -> str`` carries
``@register_table("<name>.tex", "<experiment>")``: the paper stage builds it when its experiment
has outputs in the run (``PaperInputs.has``), and the document puts it in that experiment's
section. A figure family (the files ``<prefix>.png`` and ``<prefix>_<model>[__<corpus>].png``)
is one ``register_figure(prefix, section, caption)`` call in the module that draws it. The
document (:mod:`emovec.report.document`) is built from these registries alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from emovec.readers.paper_inputs import EXPERIMENTS, PaperInputs

__all__ = ["FIGURES", "SECTIONS", "TABLES", "FigureEntry", "FigureRegistry", "TableBuilder", "TableEntry",
           "TableRegistry", "register_figure", "register_table"]

TableBuilder = Callable[[PaperInputs], str]

# Document sections in order, with their titles: one per experiment, then the stages' ledgers.
# "other" holds any file no registration names (so nothing the pipeline wrote is ever dropped).
SECTIONS: dict[str, str] = {
    "separation": "Separation",
    "valence": "Valence and arousal",
    "steering": "Steering",
    "findings": "Findings: the papers' general claims on these models",
    "claims": "Claims",
    "other": "Other tables and figures",
}


@dataclass(frozen=True)
class TableEntry:
    """One registered table: its file name (``<name>.tex``), experiment (= its section) and builder."""

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

    def section_of(self, file_name: str) -> str | None:
        """The section of a registered table file (None when no table has that name)."""
        entry = self._entries.get(file_name)
        return entry.experiment if entry else None

    def build_all(self, inputs: PaperInputs) -> dict[str, str]:
        """{file name: LaTeX text} of every table whose experiment has outputs, in order."""
        return {e.name: e.build(inputs) for e in self if inputs.has(e.experiment)}


@dataclass(frozen=True)
class FigureEntry:
    """One figure family: files ``<prefix>.png`` or ``<prefix>_<who>.png``, their section and the
    caption sentence (LaTeX source) the document prints under each."""

    prefix: str
    section: str
    caption: str

    def matches(self, stem: str) -> bool:
        return stem == self.prefix or stem.startswith(self.prefix + "_")


class FigureRegistry:
    """Figure families by prefix, unique; a file belongs to the longest prefix it matches."""

    def __init__(self) -> None:
        self._entries: dict[str, FigureEntry] = {}

    def register(self, prefix: str, section: str, caption: str) -> None:
        """Add a figure family. Raises ValueError on a repeated prefix, an unknown section or an
        empty caption."""
        if prefix in self._entries:
            raise ValueError(f"figure {prefix!r} is registered twice")
        if section not in SECTIONS or section == "other":
            raise ValueError(f"figure {prefix!r}: section {section!r} is not one of {list(SECTIONS)[:-1]}")
        if not caption.strip():
            raise ValueError(f"figure {prefix!r} needs a caption")
        self._entries[prefix] = FigureEntry(prefix, section, caption)

    def __iter__(self) -> Iterator[FigureEntry]:
        return iter(self._entries.values())

    def find(self, stem: str) -> FigureEntry | None:
        """The family of the file ``<stem>.png`` (None when no registration names it)."""
        hits = [e for e in self if e.matches(stem)]
        return max(hits, key=lambda e: len(e.prefix)) if hits else None


TABLES = TableRegistry()
FIGURES = FigureRegistry()


def register_table(name: str, experiment: str) -> Callable[[TableBuilder], TableBuilder]:
    """Decorator: register ``build`` as the builder of table ``name`` in ``experiment``'s section."""

    def decorate(build: TableBuilder) -> TableBuilder:
        TABLES.register(name, experiment, build)
        return build

    return decorate


def register_figure(prefix: str, section: str, caption: str) -> None:
    """Register a figure family (see :class:`FigureEntry`)."""
    FIGURES.register(prefix, section, caption)
