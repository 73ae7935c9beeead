"""Steering regimes (after Jeong 2026, §6): perplexity at a low and a high strength, their ratio,
distinct-2 and repeats, and the regime (surgical / explosive / repetitive collapse). The statistics
are the analyses stage's (``build/analyses/regime_stats.json``)."""

from __future__ import annotations

from collections.abc import Mapping

from emovec.analysis.regime_records import RegimeTable
from emovec.analysis.steering import ordered_models
from emovec.readers.paper_inputs import PaperInputs
from emovec.readers.paper_steering import SteeringSpec
from emovec.readers.steering import SteeringData
from emovec.report.latex import DASH, fmt_num, fmt_ratio, latex_escape, table_row, tabular, wrap_table
from emovec.report.registry import register_table
from emovec.report.table_defs.steering_text import per_model, scoring_model, settings_caption, table_label

__all__ = ["build", "steering_regimes_table"]


def steering_regimes_table(spec: SteeringSpec, data: Mapping[str, SteeringData], regimes: RegimeTable) -> str:
    """Per model: PPL at low and high strength (token-weighted, emotion rows), their ratio, the
    random control's ratio, distinct-2 and median longest repeat at high, and the regime
    (``regimes``: the ``regime_stats`` analysis)."""
    assert spec.regimes is not None
    rg, dg = spec.regimes, spec.digits
    ordered = ordered_models(data)
    body = []
    stats = {d.spec.model: regimes.of(d.spec.model) for d in ordered}
    for d in ordered:
        s = stats[d.spec.model]
        body.append(table_row([
            latex_escape(d.spec.model), d.spec.variant, fmt_num(s.ppl_low, dg), fmt_num(s.ppl_high, dg),
            fmt_ratio(s.ratio, dg), fmt_ratio(s.random_ratio, dg), fmt_num(s.distinct2_high, dg),
            fmt_num(s.distinct2_random_high, dg), fmt_num(s.distinct2_unsteered, dg) + ("$^{*}$" if
                                                                                   s.unsteered_collapsed else ""),
            fmt_num(s.repeat_high, 1), s.regime,
        ]))
    low, high = f"{rg.low_strength:g}", f"{rg.high_strength:g}"
    header = [table_row(["Model", "Variant", f"PPL@{low}", f"PPL@{high}", "Ratio", "Random ratio",
                    f"Distinct-2@{high}", f"Random distinct-2@{high}", "Unsteered distinct-2", f"Repeat@{high}",
                    "Regime"])]
    collapsed = [latex_escape(d.spec.model) for d in ordered if stats[d.spec.model].unsteered_collapsed]
    baseline = (f" $^{{*}}$: the unsteered text already meets the collapse threshold (distinct-2 $\\le$ "
                f"{rg.collapse_max_distinct2:g}) without any steering: {', '.join(collapsed)}; its regime label says "
                "nothing about the vector." if collapsed else
                f" No model's unsteered text meets the collapse threshold (distinct-2 $\\le$ "
                f"{rg.collapse_max_distinct2:g}) on its own.")
    n_gen = per_model(ordered, lambda d: f"{stats[d.spec.model].n_low} at {low} and "
                                          f"{stats[d.spec.model].n_high} at {high}")
    empty = per_model(ordered, lambda d: str(d.summary["n_empty"]))
    caption = (
        "Steering regimes (after Jeong 2026, \\S6). PPL@$s$: perplexity of the emotion-vector generations "
        f"steered at magnitude $s$, token-weighted over all scenarios and samples, "
        "$\\exp(\\sum \\mathrm{NLL} / \\sum n_{\\mathrm{tokens}})$ (natural log; generated tokens only), scored by "
        f"{per_model(ordered, scoring_model)}. Ratio = PPL@{high} / PPL@{low}; random ratio: the same for the "
        "random-direction control. Distinct-2: share of distinct token bigrams, mean over the generations at "
        f"{high}; repeat: median length (tokens) of the longest repeated span at {high}. Regime, first rule that "
        f"applies: repetitive collapse if distinct-2 $\\le$ {rg.collapse_max_distinct2:g} or repeat $\\ge$ "
        f"{rg.collapse_min_repeat:g}; explosive if ratio $\\ge$ {rg.explosive_min_ratio:g}; else surgical "
        "(undetermined when a needed value is missing). The rule has no control, so the same prompts' "
        f"random-direction text at {high} and unsteered text stand beside it; the findings judge each regime "
        "against them, paired by scenario." + baseline + " Unit of analysis: generations; $n$ (emotion "
        f"generations per model, scenarios $\\times$ samples) = {n_gen}. No confidence "
        "interval (descriptive statistics of one run) and no multiple-comparison correction. Generations "
        f"without tokens (all strengths and conditions: {empty}) add no tokens to the PPL and no distinct-2."
        + settings_caption(ordered)
        + f" {DASH}: not defined."
    )
    tab = tabular("llrrrrrrrrl", header, body)
    return wrap_table(caption, table_label("regimes"), [(tab, 11)])


@register_table("steering_regimes.tex", "steering")
def build(inputs: PaperInputs) -> str:
    """The table from the paper stage's inputs (registered in ``emovec.report.tables``)."""
    assert inputs.steering is not None  # registered for the steering experiment only
    return steering_regimes_table(inputs.steering.spec, inputs.steering.data, inputs.analysis("regime_stats"))
