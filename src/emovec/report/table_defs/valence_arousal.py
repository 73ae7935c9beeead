"""Valence (PC1) and arousal (PC2) peaks, one row per (model, story corpus)."""

from __future__ import annotations

from collections.abc import Mapping

from emovec.readers.paper_inputs import PaperInputs
from emovec.readers.paper_valence import ValenceSpec
from emovec.readers.valence import TARGETS, ValenceCellData
from emovec.report.latex import DASH, fmt_num, fmt_p_or_dash, fmt_ratio, latex_escape, table_row, tabular, wrap_table
from emovec.report.registry import register_table
from emovec.report.table_defs.valence_text import (
    corpus_label,
    methods_caption,
    ordered_cells,
    r_with_ci,
    settings_caption,
)

__all__ = ["build", "valence_arousal_table"]


def valence_arousal_table(spec: ValenceSpec, cells: Mapping[str, ValenceCellData]) -> str:
    """One row per (model, corpus): valence (PC1) and arousal (PC2) peaks side by side.

    Per target: peak layer l/L, Pearson r [CI] signed by the anchor rule, |r| (the authors'
    convention), p_FDR at the peak, max-statistic p_max and lambda1/lambda2 at the peak. A peak whose correlated PC is not the default (PC1 for valence,
    PC2 for arousal) says so in its layer column.
    """
    d = spec.digits
    ordered = ordered_cells(cells)
    default_pc = {"valence": 1, "arousal": 2}
    body = []
    for cd in ordered:
        row = [latex_escape(cd.spec.model), corpus_label(cd), str(cd.n_emotions)]
        for t in TARGETS:
            pk = cd.peak(t)
            layer = f"{int(pk['layer'])}/{cd.spec.n_layers}"
            if int(pk["pc"]) != default_pc[t]:
                layer += f" (PC{int(pk['pc'])})"
            row += [layer, r_with_ci(pk, d), fmt_num(pk["abs_r"], d), fmt_p_or_dash(pk["p_fdr"], d),
                    fmt_p_or_dash(pk["p_max"], d), fmt_ratio(pk["lambda_ratio"], d)]
        body.append(table_row(row))
    stat_heads = ["Layer", "$r$ (anchor) [CI]", "$|r|$", "$p_{\\mathrm{FDR}}$", "$p_{\\max}$", "$\\lambda_1/\\lambda_2$"]
    header = [
        table_row(["", "", "", "\\multicolumn{6}{c}{Valence (PC1)}", "\\multicolumn{6}{c}{Arousal (PC2)}"]),
        "\\cmidrule(lr){4-9}\\cmidrule(lr){10-15}",
        table_row(["Model", "Corpus (generator)", "$n$", *stat_heads, *stat_heads]),
    ]
    caption = (
        "Valence and arousal in the principal components of emotion vectors, per model and story corpus "
        "(analogue of van der Ben et al.\\ 2026). Valence: Pearson $r$ between the PC1 scores of the emotions "
        "and their valence ratings; arousal: $r$ between PC2 scores and arousal ratings, each at its peak "
        "layer. Layer: 0-based block $l$ / number of blocks $L$. "
        + methods_caption(ordered) + settings_caption(ordered)
        + " Spearman $\\rho$ with its CI and $p$ is in each cell's layers.csv. "
        f"{DASH}: value not defined."
    )
    tab = tabular("llr" + "crrrrr" * 2, header, body)
    return wrap_table(caption, "tab:valence-arousal", [(tab, 15)])


@register_table("valence_arousal.tex", "valence")
def build(inputs: PaperInputs) -> str:
    """The table from the paper stage's inputs (registered in ``emovec.report.tables``)."""
    assert inputs.valence is not None  # registered for the valence experiment only
    return valence_arousal_table(inputs.valence.spec, inputs.valence.cells)
