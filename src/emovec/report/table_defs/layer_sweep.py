"""Layer sweep: mean pairwise cosine of every cell's emotion vectors at every layer."""

from __future__ import annotations

from collections.abc import Mapping

from emovec.analysis.separation import lowest_layer, ordered_cells
from emovec.readers.paper_inputs import PaperInputs
from emovec.readers.paper_separation import PaperSpec
from emovec.readers.separation import CellData
from emovec.report.latex import fmt_num, latex_escape, table_row, tabular, wrap_table
from emovec.report.registry import register_table
from emovec.report.table_defs.separation_text import common_caption, table_label

__all__ = ["build", "layer_sweep_table"]


def layer_sweep_table(spec: PaperSpec, cells: Mapping[str, CellData]) -> str:
    """Mean cosine per layer (rows) per cell (columns), lowest layer per cell in bold.

    Cells are grouped by depth (n_layers) so that a row is one layer and one relative depth;
    each group is its own tabular inside the one float.
    """
    d = spec.digits
    ordered = ordered_cells(cells)
    groups: dict[int, list[CellData]] = {}
    for cd in sorted(ordered, key=lambda c: c.spec.n_layers):
        groups.setdefault(cd.spec.n_layers, []).append(cd)
    tabulars = []
    for n_layers, group in groups.items():
        best = {cd.spec.cell: lowest_layer(cd) for cd in group}
        header = [
            table_row(["", ""] + [latex_escape(cd.spec.model) for cd in group]),
            table_row(["Layer", "Depth"] + [cd.spec.method for cd in group]),
        ]
        body = []
        for layer in range(n_layers):
            depth = 100.0 * layer / max(n_layers - 1, 1)
            row = [str(layer), f"{depth:.0f}\\%"]
            for cd in group:
                value = fmt_num(cd.separation["mean_cosine"].iloc[layer], d)
                if layer == best[cd.spec.cell]:
                    value = f"\\textbf{{{value}}}"
                if layer == cd.spec.layer:
                    value += "$^{\\dagger}$"
                row.append(value)
            body.append(table_row(row))
        footer = [table_row(["Floor", ""] + [fmt_num(cd.reported["floor"], d) for cd in group])]
        n_cols = 2 + len(group)
        tabulars.append((tabular("rr" + "r" * len(group), header, body, footer), n_cols))
    caption = (
        "Layer sweep: mean pairwise cosine of the emotion vectors at every layer "
        f"(experiment {latex_escape(spec.experiment)}); lower = better separation. "
        + common_caption(ordered, spec)
        + " Layer: 0-based transformer block (output of block $i$); depth = layer$/(L-1)$ for $L$ blocks "
        "(Jeong counts depth as layer$/L$ on 1-based layers). Bold: the lowest value per cell; a minimum "
        "over layers is selection-biased, so read it against the floor $-1/(N-1)$ (last row) and the "
        "shuffled-label null of Table~\\ref{" + table_label(spec, "separation-by-model") + "}, not as a "
        "finding on its own. $\\dagger$: the reported layer. Jeong reads this profile as a U-curve: "
        "high cosine in early layers (token features dominate) and in the last layer (next-token "
        "features dominate), lowest at mid depth, where the emotion signal peaks."
    )
    return wrap_table(caption, table_label(spec, "layer-sweep"), tabulars)


@register_table("layer_sweep.tex", "separation")
def build(inputs: PaperInputs) -> str:
    """The table from the paper stage's inputs (registered in ``emovec.report.tables``)."""
    assert inputs.separation is not None  # registered for the separation experiment only
    return layer_sweep_table(inputs.separation.spec, inputs.separation.cells)
