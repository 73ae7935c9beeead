"""Base versus instruction-tuned (RLHF) separation at the reported layer."""

from __future__ import annotations

from collections.abc import Mapping

from emovec.analysis.separation import ordered_cells, rlhf_delta, rlhf_pairs
from emovec.readers.paper_inputs import PaperInputs
from emovec.readers.paper_separation import PaperSpec
from emovec.readers.separation import CellData
from emovec.report.latex import fmt_num, fmt_signed, latex_escape, table_row, tabular, wrap_table
from emovec.report.registry import register_table
from emovec.report.table_defs.separation_text import common_caption, table_label

__all__ = ["build", "rlhf_separation_table"]


def rlhf_separation_table(spec: PaperSpec, cells: Mapping[str, CellData]) -> str:
    """Base vs instruct: instruct minus base mean cosine per family and method."""
    d = spec.digits
    pairs = rlhf_pairs(cells)
    head = ["Family", "Method", "Base", "Instruct", "Layer (B/I)", "Base cos.", "Instr.\\ cos.",
            "$\\Delta$ (I$-$B)", "$n$ (B/I)"]
    body = []
    for base, inst in pairs:
        rb, ri = base.reported, inst.reported
        delta = rlhf_delta(base, inst)
        body.append(table_row([
            latex_escape(inst.spec.family), inst.spec.method, latex_escape(base.spec.model),
            latex_escape(inst.spec.model), f"{base.spec.layer}/{inst.spec.layer}",
            fmt_num(rb["mean_cosine"], d), fmt_num(ri["mean_cosine"], d), fmt_signed(delta, d),
            f"{int(rb['n_stimuli'])} ({int(rb['min_n_per_emotion'])}) / "
            f"{int(ri['n_stimuli'])} ({int(ri['min_n_per_emotion'])})",
        ]))
    if not body:
        body = [table_row([f"\\multicolumn{{{len(head)}}}{{c}}{{No family has both a base and an instruct cell "
                      "for the same method.}"])]
    involved = [c for pair in pairs for c in pair] or ordered_cells(cells)
    caption = (
        "Base versus instruction-tuned (RLHF) variants at the reported layer "
        f"(experiment {latex_escape(spec.experiment)}). "
        + common_caption(involved)
        + " $\\Delta$ = instruct $-$ base mean pairwise cosine; negative = the instruct variant "
        "separates better (Jeong's $\\Delta$(RLHF) column reports base minus instruct). Each cosine is "
        "a single number per cell, so $\\Delta$ is a descriptive difference with no confidence interval "
        "or test. $n$: emotion stimuli per cell, with the smallest effective $n$ per emotion in "
        "parentheses. Pairs share family and method and are matched by the models' partner field."
    )
    tab = tabular("llll" + "c" + "rrr" + "c", [table_row(head)], body)
    return wrap_table(caption, table_label(spec, "rlhf-separation"), [(tab, len(head))])


@register_table("rlhf_separation.tex", "separation")
def build(inputs: PaperInputs) -> str:
    """The table from the paper stage's inputs (registered in ``emovec.report.tables``)."""
    assert inputs.separation is not None  # registered for the separation experiment only
    return rlhf_separation_table(inputs.separation.spec, inputs.separation.cells)
