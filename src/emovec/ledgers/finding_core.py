"""What a findings statistic is and returns, and the registry they are registered in (the
statistics themselves: :mod:`emovec.ledgers.finding_statistics`, the catalogue).

A statistic is ``fn(ctx, args) -> list[Outcome]``: one outcome per subject it applies to (a model,
a model's cell, or a pair of models), each an :class:`Estimate` (value, CI, n, unit of analysis)
or a reason it cannot be computed. Which subjects a claim applies to (e.g. only instruct models)
is the ledger's business (:mod:`emovec.ledgers.findings`); a statistic reports every subject the
run has.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from emovec.readers.paper_config import PaperConfig
from emovec.readers.paper_separation import CellSpec
from emovec.readers.paper_valence import ValenceCellSpec
from emovec.registry import Registry

__all__ = ["FINDING_STATISTICS", "Estimate", "FindingsContext", "Outcome", "Subject", "cell_subject",
           "register_statistic", "separation_table"]


@dataclass(frozen=True)
class Subject:
    """What one outcome is about: ``models`` (one, or two for a comparison between models) with
    their family and variant, and a ``label`` for tables (``model``, ``model / corpus``, ``a x b``)."""

    label: str
    models: tuple[str, ...]
    families: tuple[str, ...]
    variants: tuple[str, ...]


@dataclass(frozen=True)
class Estimate:
    """A statistic with its CI: ``value`` in ``unit``; [ci_low, ci_high] by ``ci_method``; ``n``
    units of analysis (``unit_of_analysis``); ``detail``: anything a reader needs beside it."""

    value: float
    ci_low: float
    ci_high: float
    n: int
    unit_of_analysis: str
    ci_method: str
    unit: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Outcome:
    """One subject's result: an ``estimate``, or ``not_applicable`` saying why there is none."""

    subject: Subject
    estimate: Estimate | None = None
    not_applicable: str = ""


@dataclass(frozen=True)
class FindingsContext:
    """Where the tracked outputs are, and the composed paper config (typed, as the paper stage reads it)."""

    paper: PaperConfig
    separation_dir: Path
    analyses_dir: Path
    valence_dir: Path
    rsa_rows: Sequence[Mapping[str, Any]] = field(default_factory=tuple)


StatisticFn = Callable[[FindingsContext, Mapping[str, Any]], list[Outcome]]
FINDING_STATISTICS: Registry[StatisticFn] = Registry("finding statistic")
register_statistic = FINDING_STATISTICS.register


def cell_subject(c: CellSpec | ValenceCellSpec, with_corpus: bool) -> Subject:
    """The subject of a separation or valence cell: the model (and its corpus, ``with_corpus``)."""
    label = f"{c.model} / {c.corpus}" if with_corpus else c.model
    return Subject(label=label, models=(c.model,), families=(c.family,), variants=(c.variant,))


def separation_table(ctx: FindingsContext, c: CellSpec) -> pd.DataFrame:
    """The cell's separation CSV through the paper's checked reader (one row per layer, by layer)."""
    from emovec.readers.separation import read_separation_csv

    return read_separation_csv(ctx.separation_dir / f"{c.cell}.csv", c)
