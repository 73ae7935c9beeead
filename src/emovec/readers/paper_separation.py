"""The separation part of the composed paper config (``build/config/paper.yaml``): ``digits``,
``experiment`` and ``cells``, one (model, corpus) cell per entry with its method, variant,
reported layer and vector choices. :func:`parse_separation_spec` validates it from the mapping :mod:`emovec.readers.paper_config` read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emovec.config.schema import VARIANTS
from emovec.config.values import SAFE_NAME, require_digits, require_int, require_str
from emovec.errors import EmovecInputError

__all__ = [
    "CELL_KEYS",
    "METHODS",
    "CellSpec",
    "PaperSpec",
    "parse_cell_spec",
    "parse_separation_spec",
    "sort_key",
]

METHODS: tuple[str, ...] = ("generation", "comprehension")
CELL_KEYS: tuple[str, ...] = (
    "cell", "model", "corpus", "method", "variant", "family", "partner", "n_layers", "layer",
    "pooling", "baseline", "normalised",
)


@dataclass(frozen=True)
class CellSpec:
    """One (model, corpus) cell as listed in the composed paper config."""

    cell: str
    model: str
    corpus: str
    method: str  # generation | comprehension
    variant: str  # base | instruct
    family: str
    partner: str | None
    n_layers: int
    layer: int  # the reported layer: 0-based transformer block index
    pooling: str
    baseline: str
    normalised: bool


@dataclass(frozen=True)
class PaperSpec:
    """The composed paper config: float digits, experiment name and the cells to report."""

    digits: int
    experiment: str
    cells: tuple[CellSpec, ...]
    # Cells the selection lists but compose left out, (cell, reason) each: captions name them.
    not_run: tuple[tuple[str, str], ...] = ()

    def find(self, model: str, corpus: str) -> CellSpec | None:
        """The cell of ``model`` on ``corpus``, or None when the run has no such cell."""
        return next((c for c in self.cells if (c.model, c.corpus) == (model, corpus)), None)


def sort_key(spec: CellSpec) -> tuple[str, int, str, int]:
    """Deterministic cell order: family, base before instruct, model, generation first."""
    return (spec.family, VARIANTS.index(spec.variant), spec.model, METHODS.index(spec.method))


def parse_cell_spec(raw: Any, where: str) -> CellSpec:
    """One entry of ``cells``, checked (``where`` names it in errors)."""
    if not isinstance(raw, dict):
        raise EmovecInputError(f"{where} must be a mapping; got {type(raw).__name__}")
    missing = [k for k in CELL_KEYS if k not in raw]
    if missing:
        raise EmovecInputError(f"{where}: missing key(s) {missing}")
    cell = require_str(raw["cell"], f"{where}.cell")
    if not SAFE_NAME.match(cell):
        raise EmovecInputError(f"{where}.cell={cell!r} must match {SAFE_NAME.pattern} (used in file names)")
    method = require_str(raw["method"], f"{where}.method")
    if method not in METHODS:
        raise EmovecInputError(f"{where}.method={method!r}; expected one of {list(METHODS)}")
    variant = require_str(raw["variant"], f"{where}.variant")
    if variant not in VARIANTS:
        raise EmovecInputError(f"{where}.variant={variant!r}; expected one of {list(VARIANTS)}")
    partner = raw["partner"]
    if partner is not None:
        partner = require_str(partner, f"{where}.partner")
    n_layers = require_int(raw["n_layers"], f"{where}.n_layers", minimum=1)
    layer = require_int(raw["layer"], f"{where}.layer", minimum=0)
    if layer >= n_layers:
        raise EmovecInputError(f"{where}.layer={layer} is out of range for n_layers={n_layers}")
    if not isinstance(raw["normalised"], bool):
        raise EmovecInputError(f"{where}.normalised must be true/false; got {raw['normalised']!r}")
    return CellSpec(
        cell=cell, model=require_str(raw["model"], f"{where}.model"),
        corpus=require_str(raw["corpus"], f"{where}.corpus"), method=method, variant=variant,
        family=require_str(raw["family"], f"{where}.family"), partner=partner,
        n_layers=n_layers, layer=layer, pooling=require_str(raw["pooling"], f"{where}.pooling"),
        baseline=require_str(raw["baseline"], f"{where}.baseline"), normalised=raw["normalised"],
    )


def parse_separation_spec(raw: Mapping[str, Any], path: Path) -> PaperSpec:
    """The separation part of the paper config ``raw`` (read from ``path``, which errors name)."""
    for key in ("digits", "experiment", "cells"):
        if key not in raw:
            raise EmovecInputError(f"{path}: missing key {key!r}")
    digits = require_digits(raw["digits"], str(path))
    experiment = require_str(raw["experiment"], f"{path}: experiment")
    if not isinstance(raw["cells"], list) or not raw["cells"]:
        raise EmovecInputError(f"{path}: cells must be a non-empty list")
    cells = tuple(parse_cell_spec(c, f"{path}: cells[{i}]") for i, c in enumerate(raw["cells"]))
    seen: set[str] = set()
    by_model_method: dict[tuple[str, str], str] = {}
    for c in cells:
        if c.cell in seen:
            raise EmovecInputError(f"{path}: cell {c.cell!r} is listed twice")
        seen.add(c.cell)
        key = (c.model, c.method)
        if key in by_model_method:
            raise EmovecInputError(
                f"{path}: cells {by_model_method[key]!r} and {c.cell!r} are both "
                f"{c.method} cells of model {c.model!r}; the per-model tables need one per method")
        by_model_method[key] = c.cell
    return PaperSpec(digits=digits, experiment=experiment, cells=cells, not_run=parse_not_run(raw, path, seen))


def parse_not_run(raw: Mapping[str, Any], path: Path, run: set[str]) -> tuple[tuple[str, str], ...]:
    """``not_run`` (may be absent): the cells compose left out, each ``{cell, reason}``; a cell
    cannot be both run and not run."""
    entries = raw.get("not_run") or []
    if not isinstance(entries, list):
        raise EmovecInputError(f"{path}: not_run must be a list of {{cell, reason}}; got {entries!r}")
    out = []
    for i, e in enumerate(entries):
        where = f"{path}: not_run[{i}]"
        if not isinstance(e, dict) or set(e) != {"cell", "reason"}:
            raise EmovecInputError(f"{where} must hold exactly cell and reason; got {e!r}")
        cell, reason = require_str(e["cell"], f"{where}.cell"), require_str(e["reason"], f"{where}.reason")
        if cell in run:
            raise EmovecInputError(f"{where}: cell {cell!r} is also listed under cells")
        out.append((cell, reason))
    return tuple(out)
