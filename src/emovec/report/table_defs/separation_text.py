"""Caption sentences and labels shared by the separation tables."""

from __future__ import annotations

import re
from collections.abc import Sequence

from emovec.readers.checked import is_missing
from emovec.readers.paper_separation import METHODS, CellSpec, PaperSpec
from emovec.readers.separation import CellData
from emovec.report.latex import latex_escape, summarise

__all__ = ["METHOD_ABBREV", "cell_label", "common_caption", "layer_rule", "normalisation", "not_run_note",
           "removed_k_note", "table_label"]

METHOD_ABBREV = {"generation": "gen.", "comprehension": "comp."}


def cell_label(spec: CellSpec) -> str:
    """``model/gen.`` or ``model/comp.``: how captions name a cell."""
    return f"{latex_escape(spec.model)}/{METHOD_ABBREV[spec.method]}"


def table_label(spec: PaperSpec, name: str) -> str:
    """The ``\\label`` of a separation table: ``tab:<experiment>-<name>``."""
    # Labels tolerate few characters; keep the experiment name to a safe subset.
    exp = re.sub(r"[^A-Za-z0-9-]+", "-", spec.experiment)
    return f"tab:{exp}-{name}"


def layer_rule(cells: Sequence[CellData]) -> str:
    """How the reported layer was chosen, in words."""
    if all(d.spec.layer == d.spec.n_layers // 2 for d in cells):
        return "the middle block, $\\lfloor L/2 \\rfloor$ of $L$ blocks, as in Jeong"
    return "the layer configured per cell"


def normalisation(flag: bool) -> str:
    """Whether the vectors were unit-normalised, in words."""
    return "unit-normalised" if flag else "raw (not normalised; norms carry anisotropy)"


def not_run_note(spec: PaperSpec) -> str:
    """The cells the selection lists but did not run, with why (Jeong 2026 §7.2), or ""."""
    if not spec.not_run:
        return ""
    reasons: dict[str, list[str]] = {}
    for cell, reason in spec.not_run:
        reasons.setdefault(reason, []).append(f"\\texttt{{{latex_escape(cell)}}}")
    listed = [f"{', '.join(cells)} ({latex_escape(reason)})" for reason, cells in reasons.items()]
    return " Not run: " + "; ".join(listed) + "."


def common_caption(cells: Sequence[CellData], spec: PaperSpec | None = None) -> str:
    """Sentences every table needs: N, baseline, normalisation, pooling per method, and (given
    the paper ``spec``) the cells not run."""
    n = summarise([(cell_label(d.spec), str(int(d.reported["n_emotions"]))) for d in cells])
    baseline = summarise([(cell_label(d.spec), latex_escape(d.reported["baseline"])) for d in cells])
    norm = summarise([(cell_label(d.spec), normalisation(bool(d.reported["normalised"]))) for d in cells])
    pooling = "; ".join(
        f"{m} = {summarise([(cell_label(d.spec), latex_escape(d.spec.pooling)) for d in cells if d.spec.method == m])}"
        for m in METHODS if any(d.spec.method == m for d in cells)
    )
    base_gen = [cell_label(d.spec) for d in cells if d.spec.method == "generation" and d.spec.variant == "base"]
    caveat = (f" Base-model generation cells ({', '.join(base_gen)}) are stories the base model continued from "
              "the plain prompt (it has no chat template), as Jeong's Table 1 ran them; his \\S7.2 guideline uses "
              "comprehension-based extraction for base models, which cannot follow the instruction."
              if base_gen else "")
    return (f"Unit of analysis: emotion vectors, $N$ = {n} per cell. "
            f"Baseline: {baseline}; vectors {norm}. Pooling: {pooling}.{caveat}"
            + (not_run_note(spec) if spec is not None else ""))


def removed_k_note(cells: Sequence[CellData]) -> str:
    """The neutral principal components removed per cell (neutral-PCA baseline), or ""."""
    items = [(d, d.reported["removed_k"]) for d in cells if not is_missing(d.reported["removed_k"])]
    if not items:
        return ""
    ks = ", ".join(f"{cell_label(d.spec)} {int(k)}" for d, k in items)
    return f" Neutral principal components removed at the reported layer: {ks}."
