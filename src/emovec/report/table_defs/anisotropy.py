"""Representational anisotropy beside emotion-vector separation (Jeong 2026, Table 3 analogue)."""

from __future__ import annotations

from collections.abc import Mapping

from emovec.analysis.separation import ordered_cells
from emovec.emotions import OPPOSITE_PAIRS
from emovec.readers.paper_inputs import PaperInputs
from emovec.readers.paper_separation import PaperSpec
from emovec.readers.separation import PAIR_COLUMNS, CellData
from emovec.report.latex import DASH, fmt_num, fmt_signed, latex_escape, table_row, tabular, wrap_table
from emovec.report.registry import register_table
from emovec.report.table_defs.separation_text import common_caption, table_label

__all__ = ["build", "anisotropy_table"]


def anisotropy_table(spec: PaperSpec, cells: Mapping[str, CellData]) -> str:
    """Jeong Table 3 analogue: anisotropy baseline, emotion cosine, gap and opposite pairs."""
    d = spec.digits
    ordered = ordered_cells(cells)
    pair_heads = [f"{a}--{b}" for a, b in OPPOSITE_PAIRS]
    header = [table_row(["Model", "Variant", "Method", "Layer", "Anisotropy", "Emotion cos.", "Gap", *pair_heads])]
    body = []
    for cd in ordered:
        r = cd.reported
        body.append(table_row([
            latex_escape(cd.spec.model), cd.spec.variant, cd.spec.method,
            f"{cd.spec.layer}/{cd.spec.n_layers}", fmt_num(r["anisotropy"], d), fmt_num(r["mean_cosine"], d),
            fmt_signed(r["gap_to_anisotropy"], d), *(fmt_num(r[c], d) for c in PAIR_COLUMNS),
        ]))
    mid_gen = any(cd.spec.pooling == "mid_generation" for cd in ordered)
    caption = (
        "Representational anisotropy and emotion-vector separation at each cell's reported layer "
        f"(analogue of Jeong 2026, Table 3; experiment {latex_escape(spec.experiment)}). "
        + common_caption(ordered, spec)
        + " Anisotropy: mean pairwise cosine of the raw (uncentred) pooled activations of neutral "
        "factual sentences, i.e.\\ how aligned unrelated inputs already are. Emotion cos.: mean pairwise "
        "cosine of the $N$ emotion vectors. Gap = anisotropy $-$ emotion cos.\\ (positive = emotion "
        "vectors less aligned than raw activations). The two are not on one footing: emotion vectors are "
        "baseline-subtracted contrasts bounded below by $-1/(N-1)$, the anisotropy baseline is raw "
        "activations. Last four columns: cosine between the vectors of semantically opposite emotions. "
        f"{DASH}: no neutral sentences for this cell."
        + (" Under mid\\_generation pooling the neutral sentences have no generated part and are "
           "pooled at their last token." if mid_gen else "")
    )
    tab = tabular("lll" + "r" * (4 + len(PAIR_COLUMNS)), header, body)
    return wrap_table(caption, table_label(spec, "anisotropy"), [(tab, 7 + len(PAIR_COLUMNS))])


@register_table("anisotropy.tex", "separation")
def build(inputs: PaperInputs) -> str:
    """The table from the paper stage's inputs (registered in ``emovec.report.tables``)."""
    assert inputs.separation is not None  # registered for the separation experiment only
    return anisotropy_table(inputs.separation.spec, inputs.separation.cells)
