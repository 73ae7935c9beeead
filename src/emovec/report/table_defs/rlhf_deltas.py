"""Base versus instruction-tuned (RLHF) variants: emotion-vector separation and steering sensitivity
(the analyses stage's ``build/analyses/rlhf_steering.json``)."""

from __future__ import annotations

from collections.abc import Mapping

from emovec.analysis.steering import ordered_models
from emovec.analysis.steering_records import RLHFTable
from emovec.readers.paper_inputs import PaperInputs
from emovec.readers.paper_steering import SteeringSpec
from emovec.readers.steering import SteeringData
from emovec.report.latex import DASH, fmt_num, fmt_signed, latex_escape, table_row, tabular, wrap_table
from emovec.report.registry import register_table
from emovec.report.table_defs.steering_text import settings_caption, table_label

__all__ = ["build", "rlhf_deltas_table"]


def rlhf_deltas_table(spec: SteeringSpec, data: Mapping[str, SteeringData], rlhf: RLHFTable) -> str:
    """Base vs instruct: separation (mean pairwise cosine at the reported layer) per method
    with separation cells and steering sensitivity (mean ratio of |mean delta|, instruct over
    base, over shared scenarios at the protocol strength); ``rlhf``: the ``rlhf_steering`` analysis."""
    dg = spec.digits
    methods, pairs = rlhf.methods, rlhf.pairs
    head = ["Family", "Base", "Instruct"]
    for m in methods:
        head += [f"{m.capitalize()}: base", "instr.", "$\\Delta$ (I$-$B)"]
    head += ["Sensitivity (I/B)", "[min, max]", "$n$"]
    body, dropped = [], []
    for pair in pairs:
        row = [latex_escape(pair.family), latex_escape(pair.base), latex_escape(pair.instruct)]
        for sep in pair.separation:
            b, i, delta = sep.base, sep.instruct, sep.delta
            row += [fmt_num(b, dg), fmt_num(i, dg), fmt_signed(delta, dg) if delta is not None else DASH]
        s = pair.sensitivity
        mean, lo, hi, n, n_drop = s.mean, s.low, s.high, s.n, s.n_dropped
        row += [fmt_num(mean, dg), f"[{fmt_num(lo, dg)}, {fmt_num(hi, dg)}]" if n else DASH, str(n)]
        if n_drop:
            dropped.append(f"{latex_escape(pair.instruct)} {n_drop}")
        body.append(table_row(row))
    if not body:
        body = [table_row([f"\\multicolumn{{{len(head)}}}{{c}}{{No base/instruct pair is selected.}}"])]
    involved = [data[name] for pair in pairs for name in (pair.base, pair.instruct)] or ordered_models(data)
    caption = (
        "Base versus instruction-tuned (RLHF) variants: emotion-vector separation and steering sensitivity. "
        + (f"Separation ({', '.join(methods)}): mean pairwise cosine of the emotion vectors at each separation "
           "cell's reported layer (lower = better separation); $\\Delta$ = instruct $-$ base (negative = the "
           "instruct variant separates better); one number per cell, so no confidence interval. "
           if methods else "No separation numbers were passed, so only steering sensitivity is shown. ")
        + "Sensitivity: mean over the scenarios both models ran of "
        "$|\\bar\\Delta_{\\mathrm{instruct}}| / |\\bar\\Delta_{\\mathrm{base}}|$, with $\\bar\\Delta$ the mean "
        "target-projection change of the emotion-vector generations at each model's protocol strength "
        "(Jeong 2026, \\S5.5's mean ratio; $>1$ = the instruct variant moves further per unit strength); "
        "[min, max] over scenarios. Unit of analysis: scenarios; $n$ = scenarios in the mean. No confidence "
        "interval (descriptive ratio of means of one run) and no multiple-comparison correction. Pairs: an "
        "instruct model and the base model named as its partner, both steered."
        + (" Scenarios left out for a zero or missing base $\\bar\\Delta$: " + "; ".join(dropped) + "."
           if dropped else "")
        + settings_caption(involved)
        + f" {DASH}: not available."
    )
    colspec = "lll" + "rrr" * len(methods) + "rcr"
    tab = tabular(colspec, [table_row(head)], body)
    return wrap_table(caption, table_label("rlhf-deltas"), [(tab, len(head))])


@register_table("rlhf_deltas.tex", "steering")
def build(inputs: PaperInputs) -> str:
    """The table from the paper stage's inputs (registered in ``emovec.report.tables``)."""
    assert inputs.steering is not None  # registered for the steering experiment only
    return rlhf_deltas_table(inputs.steering.spec, inputs.steering.data, inputs.analysis("rlhf_steering"))
