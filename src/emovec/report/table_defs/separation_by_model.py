"""Separation of emotion vectors by model and extraction method (Jeong 2026, Table 2 analogue):
mean cosine beside the floor -1/(N-1), the shuffled-label null and p_null, and G-C."""

from __future__ import annotations

from collections.abc import Mapping

from emovec.analysis.separation import by_model, ordered_cells
from emovec.readers.paper_inputs import PaperInputs
from emovec.readers.paper_separation import METHODS, PaperSpec
from emovec.readers.separation import CellData
from emovec.report.latex import (
    DASH,
    fmt_num,
    fmt_p,
    fmt_signed,
    latex_escape,
    summarise,
    table_row,
    tabular,
    wrap_table,
)
from emovec.report.registry import register_table
from emovec.report.table_defs.separation_text import cell_label, common_caption, layer_rule, removed_k_note, table_label

__all__ = ["build", "separation_by_model_table"]


def separation_by_model_table(spec: PaperSpec, cells: Mapping[str, CellData]) -> str:
    """Jeong Table 2 analogue: one row per model, generation and comprehension side by side.

    Per method: reported layer, mean cosine, floor -1/(N-1), shuffled-label null mean
    [2.5%, 97.5%] and one-sided p_null; then G-C = generation - comprehension where both ran.
    """
    d = spec.digits
    ordered = ordered_cells(cells)
    body = []
    for entry in by_model(cells):
        methods = entry.cells
        first = next(iter(methods.values())).spec
        row = [latex_escape(first.family), latex_escape(entry.model), first.variant]
        for m in METHODS:
            cd = methods.get(m)
            if cd is None:
                row += [DASH] * 5
                continue
            r = cd.reported
            row += [
                f"{cd.spec.layer}/{cd.spec.n_layers}", fmt_num(r["mean_cosine"], d), fmt_num(r["floor"], d),
                f"{fmt_num(r['null_mean'], d)} [{fmt_num(r['null_lo'], d)}, {fmt_num(r['null_hi'], d)}]",
                fmt_p(float(r["p_null"]), d),
            ]
        row.append(DASH if entry.gen_minus_comp is None else fmt_signed(entry.gen_minus_comp, d))
        body.append(table_row(row))
    header = [
        table_row(["", "", ""] + [f"\\multicolumn{{5}}{{c}}{{{m.capitalize()}}}" for m in METHODS] + [""]),
        "\\cmidrule(lr){4-8}\\cmidrule(lr){9-13}",
        table_row(["Family", "Model", "Variant"]
             + ["Layer", "Cos.", "Floor", "Null [2.5\\%, 97.5\\%]", "$p_{\\mathrm{null}}$"] * 2
             + ["G$-$C"]),
    ]
    n_perm = summarise([(cell_label(c.spec), str(int(c.reported["n_permutations"]))) for c in ordered])
    stimuli = "; ".join(
        f"{cell_label(c.spec)} {int(c.reported['n_stimuli'])} ({int(c.reported['min_n_per_emotion'])})"
        for c in ordered)
    caption = (
        "Separation of emotion vectors by model and extraction method "
        f"(analogue of Jeong 2026, Table 2; experiment {latex_escape(spec.experiment)}). "
        + common_caption(ordered, spec)
        + " Cos.: mean pairwise cosine of the $N$ vectors at the cell's reported layer; lower = better "
        f"separation. Layer: reported 0-based transformer block / number of blocks $L$ ({layer_rule(ordered)}). "
        "Floor: $-1/(N-1)$, the lowest mean cosine $N$ vectors can reach (vectors centred on their own "
        "mean sit near it whatever the data). Null: mean [2.5\\%, 97.5\\%] of the mean cosine when "
        f"emotion labels are shuffled among emotion stimuli, same baseline ({n_perm} permutations). "
        "$p_{\\mathrm{null}}$: one-sided, $(1 + \\#\\{\\mathrm{null} \\le \\mathrm{observed}\\}) / "
        f"(1 + n_{{\\mathrm{{perm}}}})$, uncorrected for the {len(ordered)} cells shown. "
        "G$-$C: generation minus comprehension cosine (negative = generation separates better; "
        "Jeong's ``(G--C)'' column reports comprehension minus generation). "
        f"{DASH}: cell not run. Emotion stimuli per cell (smallest effective $n$ per emotion): {stimuli}."
        + removed_k_note(ordered)
    )
    tab = tabular("lll" + "rrrcr" * 2 + "r", header, body)
    return wrap_table(caption, table_label(spec, "separation-by-model"), [(tab, 14)])


@register_table("separation_by_model.tex", "separation")
def build(inputs: PaperInputs) -> str:
    """The table from the paper stage's inputs (registered in ``emovec.report.tables``)."""
    assert inputs.separation is not None  # registered for the separation experiment only
    return separation_by_model_table(inputs.separation.spec, inputs.separation.cells)
