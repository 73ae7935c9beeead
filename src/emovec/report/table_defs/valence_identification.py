"""Are PC1 and PC2 identified at each peak? Swap rate, lambda1/lambda2 with its CI, and the
rotation-invariant R beside the PC correlation, one row per (model, story corpus)."""

from __future__ import annotations

from collections.abc import Mapping

from emovec.readers.paper_inputs import PaperInputs
from emovec.readers.paper_valence import ValenceSpec
from emovec.readers.valence import TARGETS, ValenceCellData
from emovec.report.latex import fmt_num, latex_escape, table_row, tabular, wrap_table
from emovec.report.registry import register_table
from emovec.report.table_defs.valence_text import corpus_label, methods_caption, ordered_cells, per_cell, value_with_ci

__all__ = ["build", "valence_identification_table"]


def valence_identification_table(spec: ValenceSpec, cells: Mapping[str, ValenceCellData]) -> str:
    """Per cell and target, at the target's peak layer: swap rate, lambda1/lambda2 [CI], R [CI] of
    the ratings on PC1 and PC2 together, and the angle of their best axis from the target's PC."""
    d = spec.digits
    ordered = ordered_cells(cells)
    body = []
    for cd in ordered:
        row = [latex_escape(cd.spec.model), corpus_label(cd)]
        for t in TARGETS:
            pk = cd.peak(t)
            swap = fmt_num(pk["swap_rate"], 3) + ("" if pk["identified"] else "$^{\\dagger}$")
            row += [f"{int(pk['layer'])}/{cd.spec.n_layers}", swap, value_with_ci(pk, "lambda_ratio", d),
                    value_with_ci(pk, "R", d), fmt_num(pk["angle"], 0)]
        body.append(table_row(row))
    heads = ["Layer", "Swap", "$\\lambda_1/\\lambda_2$ [CI]", "$R$ [CI]", "Angle"]
    header = [
        table_row(["", "", "\\multicolumn{5}{c}{Valence (PC1)}", "\\multicolumn{5}{c}{Arousal (PC2)}"]),
        "\\cmidrule(lr){3-7}\\cmidrule(lr){8-12}",
        table_row(["Model", "Corpus (generator)", *heads, *heads]),
    ]
    limit = per_cell(ordered, lambda c: fmt_num(c.summary["max_swap_rate"], 2))
    caption = (
        "Are the principal components identified at each peak layer (the layer of Table~\\ref{tab:valence-arousal})? "
        "Swap: the share of bootstrap resamples whose refitted PC1 lies nearer the full-sample PC2 than PC1 "
        f"(larger total $|\\cos|$ between loadings when swapped); $^{{\\dagger}}$: above {limit}, the PC is not "
        "identified and its own $r$ mixes two axes. $\\lambda_1/\\lambda_2$: the full sample's ratio with the "
        "percentile CI of the resamples' own ratios (each $\\geq 1$). $R$: multiple correlation of the ratings "
        "with the PC1 and PC2 scores together (rotation-invariant within their plane: the best direction in it, "
        "whatever the PCs' order; $R \\geq |r|$); Angle: degrees between that best direction's axis and the "
        "target's own PC (valence PC1, arousal PC2). " + methods_caption(ordered)
    )
    tab = tabular("ll" + "crrrr" * 2, header, body)
    return wrap_table(caption, "tab:valence-identification", [(tab, 12)])


@register_table("valence_identification.tex", "valence")
def build(inputs: PaperInputs) -> str:
    """The table from the paper stage's inputs (registered in ``emovec.report.tables``)."""
    assert inputs.valence is not None  # registered for the valence experiment only
    return valence_identification_table(inputs.valence.spec, inputs.valence.cells)
