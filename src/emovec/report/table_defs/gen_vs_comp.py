"""Generation versus comprehension: Jeong's (2026, §4.2) LOO procedure beside the corrected
analysis, one row per model. The statistics are the analyses stage's (``build/analyses/
gen_vs_comp.json``, computed by ``emovec.analysis.gen_vs_comp``); this module formats them."""

from __future__ import annotations

import math

from emovec.analysis.gen_vs_comp import GenVsComp
from emovec.readers.paper_inputs import PaperInputs
from emovec.readers.paper_separation import PaperSpec
from emovec.report.latex import fmt_num, fmt_p, fmt_signed, latex_escape, table_row, tabular, wrap_table
from emovec.report.registry import register_table
from emovec.report.table_defs.separation_text import table_label

__all__ = ["build", "gen_vs_comp_table"]


def _loo_cell(stats: tuple[float, float, int], digits: int) -> str:
    mean, sd, n = stats
    if math.isnan(mean):
        return f"--- ({n})"
    return f"{fmt_num(mean, digits)} $\\pm$ {fmt_num(sd, digits)} ({n})"


def gen_vs_comp_table(spec: PaperSpec, result: GenVsComp) -> str:
    """The LaTeX table: one row per model with both methods, then the sign test over models."""
    dg = spec.digits
    comps, p_bh = result.comparisons, result.wilcoxon_p_bh
    head = [
        " & \\multicolumn{5}{c}{Jeong's procedure (LOO replicates)} & \\multicolumn{6}{c}{Corrected "
        "(independent units)} \\\\",
        "\\cmidrule(lr){2-6}\\cmidrule(lr){7-12}",
        table_row(["Model", "Gen.\\ LOO ($n$)", "Comp.\\ LOO ($n$)", "$U$", "$p$", "$d_{\\mathrm{LOO}}$",
              "G$-$C", f"{int(result.level * 100)}\\% CI", "Paired $\\bar\\delta$", "$p$ (BH)",
              "$d$", f"{int(result.level * 100)}\\% CI"]),
    ]
    body = []
    for x, pb in zip(comps, p_bh):
        body.append(table_row([
            latex_escape(x.model), _loo_cell(x.loo_gen, dg), _loo_cell(x.loo_comp, dg),
            fmt_num(x.mwu_u, 1), fmt_p(x.mwu_p, dg) if not math.isnan(x.mwu_p) else "---", fmt_num(x.d_loo, 1),
            fmt_signed(x.diff, dg), f"[{fmt_signed(x.diff_ci[0], dg)}, {fmt_signed(x.diff_ci[1], dg)}]",
            fmt_signed(x.per_emotion_diff, dg), f"{fmt_p(x.wilcoxon_p, dg)} ({fmt_p(float(pb), dg)})",
            fmt_signed(x.d, 2), f"[{fmt_signed(x.d_ci[0], 2)}, {fmt_signed(x.d_ci[1], 2)}]",
        ]))
    if not body:
        body = [table_row([f"\\multicolumn{{{12}}}{{c}}{{No model has both a generation and a comprehension cell.}}"])]
    k, n = result.n_gen_better, len(comps)
    footer = [table_row([f"\\multicolumn{{12}}{{l}}{{Sign test over models: generation separates better (G$-$C $<$ 0) "
                    f"in {k} of {n}; two-sided exact binomial $p$ = "
                    f"{fmt_p(result.sign_p, dg) if n else '---'}.}}"])]
    n_loo = "; ".join(f"{latex_escape(x.model)}: $n$ = {x.loo_gen[2]} (gen.), {x.loo_comp[2]} (comp.)"
                      for x in comps) or "---"
    methods = sorted({x.mwu_method for x in comps if x.mwu_method != "not run"}) or ["---"]
    n_boot = sorted({x.n_boot for x in comps})
    caption = (
        "Generation versus comprehension separation: Jeong's (2026, \\S4.2) procedure beside the corrected "
        f"analysis (experiment {latex_escape(spec.experiment)}). All numbers at each model's reported layer; "
        "cosines are mean pairwise cosines of the emotion vectors (lower = better separation); G$-$C = "
        "generation $-$ comprehension (negative = generation separates better). "
        "Jeong's procedure: replicate $k$ drops the $k$-th stimulus of every emotion and recomputes the "
        "mean cosine (mean $\\pm$ SD over the $n$ replicates); Mann-Whitney $U$ of the generation replicates "
        f"(two-sided, {', '.join(methods)}), and Cohen's $d_{{\\mathrm{{LOO}}}}$ with the pooled SD of the replicates. "
        "LOO replicates are not independent: dropping one of $n$ items moves a mean by $1/(n-1)$ of that "
        "item's deviation, so a $d$ computed on LOO replicates is $(n-1)$ times the per-item $d$ "
        "(exact for a mean of $n$ items with equal $n$ per group; METHODS \\S2.2), and with 10 versus 3 "
        "replicates no two-sided exact $p$ can be below $2/286 = 0.007$. ---: fewer than 2 replicates (every "
        "emotion has one stimulus). $n$ used here: "
        f"{n_loo}. "
        "Corrected: unit of analysis = emotions ($N$ = "
        f"{_distinct([x.n_emotions for x in comps])} per method, paired by emotion); each emotion's value is its "
        "mean cosine to the other $N-1$ vectors (these average to the mean pairwise cosine). "
        f"{int(result.level * 100)}\\% CI of G$-$C: stimulus-level bootstrap (stimuli resampled with replacement "
        f"within each emotion and neutral, independently per method; {_distinct(n_boot)} draws; bias-corrected "
        "percentile). Paired $\\bar\\delta$: mean per-emotion difference, Wilcoxon signed-rank $p$ (two-sided), "
        f"BH-adjusted over the {n} model(s) in parentheses. $d$: pooled-SD Cohen's $d$ of the per-emotion "
        f"values (generation vs comprehension) with its normal-theory {int(result.level * 100)}\\% CI "
        "(Hedges \\& Olkin; it ignores the pairing). Sign test: unit = models, no correction."
    )
    tab = tabular("l" + "ll" + "rrr" + "rc" + "rc" + "rc", head, body, footer)
    return wrap_table(caption, table_label(spec, "gen-vs-comp"), [(tab, 12)])


def _distinct(values: list[int]) -> str:
    """The distinct values, sorted and comma-separated; ``---`` when there are none."""
    uniq = sorted(set(values))
    return ", ".join(str(v) for v in uniq) if uniq else "---"


@register_table("gen_vs_comp.tex", "separation")
def build(inputs: PaperInputs) -> str:
    """The table from the paper stage's inputs (registered in ``emovec.report.tables``)."""
    assert inputs.separation is not None  # registered for the separation experiment only
    return gen_vs_comp_table(inputs.separation.spec, inputs.analysis("gen_vs_comp"))
