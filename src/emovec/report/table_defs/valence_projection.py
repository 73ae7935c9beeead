"""The neutral projection as a robustness axis: each cell's peaks under its baseline and under
``valence.compare_baseline`` (default neutral_pca: the top neutral PCs projected out), side by side."""

from __future__ import annotations

from collections.abc import Mapping

from emovec.readers.paper_inputs import PaperInputs
from emovec.readers.paper_valence import ValenceSpec
from emovec.readers.valence import ValenceCellData
from emovec.report.latex import DASH, fmt_setting, latex_escape, table_row, tabular, wrap_table
from emovec.report.registry import register_table
from emovec.report.table_defs.valence_text import (
    corpus_label,
    methods_caption,
    ordered_cells,
    per_cell,
    r_with_ci,
    value_with_ci,
)

__all__ = ["build", "valence_projection_table"]


def _peak_cells(peaks: Mapping[str, Mapping] | None, n_layers: int, digits: int) -> list[str]:
    if peaks is None:
        return [DASH] * 5
    pv = peaks["valence"]
    return [f"{int(pv['layer'])}/{n_layers}", r_with_ci(pv, digits), value_with_ci(pv, "R", digits),
            f"{int(peaks['arousal']['layer'])}/{n_layers}", r_with_ci(peaks["arousal"], digits)]


def valence_projection_table(spec: ValenceSpec, cells: Mapping[str, ValenceCellData]) -> str:
    """Per cell: valence peak (layer, r [CI], R [CI]) and arousal peak (layer, r [CI]) under the cell's
    baseline and under the comparison baseline, and k, the neutral PCs removed at the latter's valence peak."""
    d = spec.digits
    ordered = ordered_cells(cells)
    body = []
    for cd in ordered:
        compare = cd.summary["compare"]
        peaks = None if compare is None else compare["peaks"]
        removed = None if compare is None else compare["removed_k"]
        k = DASH if removed is None else str(removed[int(peaks["valence"]["layer"])])
        body.append(table_row([latex_escape(cd.spec.model), corpus_label(cd),
                               *_peak_cells(cd.summary["peaks"], cd.spec.n_layers, d),
                               *_peak_cells(peaks, cd.spec.n_layers, d), k]))
    main = per_cell(ordered, lambda c: fmt_setting(c.summary["baseline"]))
    other = per_cell(ordered, lambda c: fmt_setting(None if c.summary["compare"] is None
                                                    else c.summary["compare"]["baseline"]))
    heads = ["Layer", "Valence $r$ [CI]", "Valence $R$ [CI]", "Layer", "Arousal $r$ [CI]"]
    header = [
        table_row(["", "", f"\\multicolumn{{5}}{{c}}{{Baseline {main}}}",
                   f"\\multicolumn{{5}}{{c}}{{Baseline {other}}}", ""]),
        "\\cmidrule(lr){3-7}\\cmidrule(lr){8-12}",
        table_row(["Model", "Corpus (generator)", *heads, *heads, "$k$"]),
    ]
    threshold = per_cell(ordered, lambda c: fmt_setting(c.summary["compare"]["variance_threshold"])
                         if c.summary["compare"] else DASH)
    caption = (
        "Does the neutral projection matter? Each cell's valence and arousal peaks under its own baseline and "
        "under the comparison baseline (valence.compare\\_baseline), computed from the same stories on the same "
        "bootstrap resamples and permutations. neutral\\_pca: the grand-mean contrast with the top $k$ principal "
        f"components of the neutral texts projected out, $k$ the fewest reaching {threshold} of their variance "
        "(per layer; $k$ shown at the comparison's valence peak). The paper and its commentary describe this "
        "projection; the authors' code did it in its first commits and no longer does at 0dd5b7b, so which "
        "variant produced the paper's $r$ is not known. " + methods_caption(ordered)
        + f" {DASH}: no comparison baseline in this run."
    )
    tab = tabular("ll" + "crrcr" * 2 + "r", header, body)
    return wrap_table(caption, "tab:valence-projection", [(tab, 13)])


@register_table("valence_projection.tex", "valence")
def build(inputs: PaperInputs) -> str:
    """The table from the paper stage's inputs (registered in ``emovec.report.tables``)."""
    assert inputs.valence is not None  # registered for the valence experiment only
    return valence_projection_table(inputs.valence.spec, inputs.valence.cells)
