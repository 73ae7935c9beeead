"""What a steering strength means in each model, and the regime under each norm reference: per
model and run (Jeong's reference; the steering check's), the reference a strength multiplies in
typical-token norms (the median token of the prompt) over the steered layers, what the low and
high strengths add, and the regime at them. The numbers are the analyses stage's
(``build/analyses/regime_check.json``)."""

from __future__ import annotations

from emovec.analysis.regime_records import RegimeCheck, RegimeStats
from emovec.analysis.steering import norm_ratio_scale
from emovec.readers.paper_inputs import PaperInputs
from emovec.report.latex import DASH, fmt_num, latex_escape, table_row, tabular, wrap_table
from emovec.report.registry import register_table
from emovec.report.table_defs.steering_text import table_label

__all__ = ["build", "steering_norm_scale_table"]


def steering_norm_scale_table(rc: RegimeCheck, digits: int) -> str:
    """One row per model and run: reference, ratio median [min, max] over layers, what the low and
    high strengths add (typical-token norms, at the median ratio), distinct-2 at high, regime."""
    runs: list[tuple[str, str, tuple[RegimeStats, ...]]] = [("main", "Jeong", rc.main)]
    if rc.check:
        runs.append(("check", latex_escape(rc.check_label), rc.check))
    refs = {(n.model, n.run): n.norm_reference for n in rc.norms}
    body = []
    for model in rc.models:
        for run, name, rows in runs:
            stats = next((r for r in rows if r.model == model), None)
            med, lo, hi = norm_ratio_scale(rc.norms, model, run) or (float("nan"),) * 3
            body.append(table_row([
                latex_escape(model), name, latex_escape(refs.get((model, run), DASH)),
                f"{fmt_num(med, 1)} [{fmt_num(lo, 1)}, {fmt_num(hi, 1)}]",
                fmt_num(rc.low_strength * med, digits), fmt_num(rc.high_strength * med, digits),
                fmt_num(stats.distinct2_high if stats else float("nan"), digits), stats.regime if stats else DASH,
            ]))
    low, high = f"{rc.low_strength:g}", f"{rc.high_strength:g}"
    header = [table_row(["Model", "Run", "Norm reference", "Reference / typical token", f"Added@{low}",
                         f"Added@{high}", f"Distinct-2@{high}", "Regime"])]
    check = (f" The check ({latex_escape(rc.check_label)}) steers the same models with the same vectors, "
             "prompts and decoding under the selection's steering\\_check overrides." if rc.check else
             " The run has no steering check.")
    caption = (
        "What a steering strength adds in each model. A strength $s$ adds $s$ times the norm reference at every "
        "steered block; Reference / typical token: that reference over the median token norm of the prompt (the "
        "typical token, which the massive norm real models put on the first position cannot move), mean over the "
        "run's distinct prompts, median [min, max] over the steered blocks. Added@$s$: $s$ times the median "
        f"ratio, in typical-token norms. Distinct-2@{high} and regime: as in the regime table, for each run."
        + check + " Unit of analysis: distinct prompts (ratios) and generations (distinct-2); descriptive "
        "statistics of one run: no confidence interval, no multiple-comparison correction."
    )
    tab = tabular("lllrrrrl", header, body)
    return wrap_table(caption, table_label("norm-scale"), [(tab, 8)])


@register_table("steering_norm_scale.tex", "steering")
def build(inputs: PaperInputs) -> str:
    """The table from the paper stage's inputs (registered in ``emovec.report.tables``)."""
    assert inputs.steering is not None  # registered for the steering experiment only
    return steering_norm_scale_table(inputs.analysis("regime_check"), inputs.steering.spec.digits)
