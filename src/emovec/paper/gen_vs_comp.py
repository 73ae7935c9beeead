"""Generation vs comprehension separation: Jeong's own procedure beside the corrected analysis.

Jeong (2026, §4.2) compares the two extraction methods on SmolLM2 with leave-one-out (LOO)
replicates (10 stories, 3 passages), a Mann-Whitney U test on them and Cohen's d on them
(d = -107.5). The LOO replicates are not independent samples: dropping one of n items moves a
mean by only 1/(n-1) of that item's deviation, so a d on LOO replicates is (n-1) times the
per-item d (METHODS trap 2), and with 10 vs 3 replicates the smallest two-sided exact p is
2/286 = 0.007 whatever the effect. This table reproduces that procedure per model and sets
beside it an analysis whose units are independent:

- per-emotion paired comparison: each emotion's mean cosine to the other N-1 vectors, under
  generation and under comprehension (the N per-emotion values average to the mean pairwise
  cosine), compared with a Wilcoxon signed-rank test over the N emotions, BH-adjusted across
  the models in the table;
- the difference in mean pairwise cosine (generation - comprehension) with a stimulus-level
  bootstrap CI (stimuli resampled within each emotion and neutral, independently per method;
  bias-corrected percentile interval);
- pooled-SD Cohen's d of the per-emotion values with its normal-theory CI;
- a sign test over models of the sign of the difference (Jeong's "7 of 7").

Inputs: the separation stage's ``<cell>.resampling.json`` of a model's generation and
comprehension cells (see ``emovec.geometry.resampling``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emovec.errors import EmovecInputError
from emovec.paper.tables import (
    CellData,
    PaperSpec,
    _fmt_p,
    _label,
    _ordered,
    _row,
    _tabular,
    _wrap_table,
    fmt_num,
    fmt_signed,
    latex_escape,
    read_json_object,
)
from emovec.stats.effect_size import cohens_d, cohens_d_ci, mann_whitney, paired_wilcoxon, sign_test
from emovec.stats.multiple import bh_adjust, bias_corrected_ci

__all__ = ["MethodComparison", "compare_methods", "gen_vs_comp_table", "load_resampling"]

_RESAMPLING_KEYS = ("layer", "mean_cosine", "emotions", "per_emotion", "loo", "n_loo", "n_per_emotion",
                    "bootstrap", "seed", "baseline")
_CONSISTENCY_TOL = 5e-4
CI_LEVEL = 0.95


def load_resampling(cells: Mapping[str, CellData], separation_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Read ``<cell>.resampling.json`` for every cell, cross-checked against its separation CSV.

    Raises:
        EmovecInputError: a missing file (all named), a missing key, or a mean cosine or layer
            that disagrees with the CSV's reported row (a stale output).
    """
    separation_dir = Path(separation_dir)
    paths = {name: separation_dir / f"{name}.resampling.json" for name in cells}
    absent = [str(p) for p in paths.values() if not p.is_file()]
    if absent:
        raise EmovecInputError(f"missing resampling file(s) for listed cells: {', '.join(absent)}")
    out = {}
    for name, cell in cells.items():
        rec = read_json_object(paths[name], _RESAMPLING_KEYS)
        if int(rec["layer"]) != cell.spec.layer:
            raise EmovecInputError(f"{paths[name]}: layer {rec['layer']} but the cell reports layer {cell.spec.layer}")
        recorded = float(cell.reported["mean_cosine"])
        if abs(float(rec["mean_cosine"]) - recorded) > _CONSISTENCY_TOL:
            raise EmovecInputError(f"{paths[name]}: mean cosine {float(rec['mean_cosine']):.6f} but the separation "
                                   f"CSV records {recorded:.6f}; one of them is stale")
        if len(rec["emotions"]) != len(rec["per_emotion"]):
            raise EmovecInputError(f"{paths[name]}: {len(rec['emotions'])} emotions but "
                                   f"{len(rec['per_emotion'])} per-emotion values")
        out[name] = rec
    return out


@dataclass(frozen=True)
class MethodComparison:
    """One model's generation-vs-comprehension comparison (generation minus comprehension).

    Jeong's procedure: loo_* (mean, SD, n of the LOO replicates per method), mwu_u / mwu_p /
    mwu_method (Mann-Whitney on the replicates) and d_loo (pooled-SD d on the replicates).
    Corrected: diff (difference of mean pairwise cosines), diff_ci (stimulus bootstrap, BC),
    per_emotion_diff (mean paired difference), wilcoxon_p (n_emotions pairs), d / d_ci
    (pooled-SD d of the per-emotion values), n_emotions.
    """

    model: str
    loo_gen: tuple[float, float, int]
    loo_comp: tuple[float, float, int]
    mwu_u: float
    mwu_p: float
    mwu_method: str
    d_loo: float
    diff: float
    diff_ci: tuple[float, float]
    per_emotion_diff: float
    wilcoxon_p: float
    d: float
    d_ci: tuple[float, float]
    n_emotions: int
    n_boot: int


def compare_methods(model: str, gen: Mapping[str, Any], comp: Mapping[str, Any],
                    level: float = CI_LEVEL) -> MethodComparison:
    """Both analyses for one model from its two resampling records."""
    if list(gen["emotions"]) != list(comp["emotions"]):
        raise EmovecInputError(f"model {model!r}: generation and comprehension vectors cover different emotions "
                               "(or a different order); the per-emotion comparison pairs them by name")
    lg, lc = np.asarray(gen["loo"], float), np.asarray(comp["loo"], float)
    # Jeong's procedure needs >= 2 LOO replicates per method (an SD, a pooled SD); a corpus with
    # one stimulus per emotion has none, and its cells are reported as not available.
    loo_ok = lg.size >= 2 and lc.size >= 2
    mwu = mann_whitney(lg, lc) if loo_ok else None
    bg, bc = np.asarray(gen["bootstrap"], float), np.asarray(comp["bootstrap"], float)
    if bg.size != bc.size:
        raise EmovecInputError(f"model {model!r}: {bg.size} generation vs {bc.size} comprehension bootstrap draws; "
                               "set one separation.n_boot for both cells")
    diff = float(gen["mean_cosine"]) - float(comp["mean_cosine"])
    pg_, pc = np.asarray(gen["per_emotion"], float), np.asarray(comp["per_emotion"], float)
    _, wp = paired_wilcoxon(pg_, pc)
    d = _d_or_nan(pg_, pc)
    return MethodComparison(
        model=model,
        loo_gen=_loo_stats(lg), loo_comp=_loo_stats(lc),
        mwu_u=mwu.u if mwu else math.nan, mwu_p=mwu.p if mwu else math.nan,
        mwu_method=mwu.method if mwu else "not run", d_loo=_d_or_nan(lg, lc) if loo_ok else math.nan,
        diff=diff, diff_ci=_bc_or_nan(bg - bc, diff, level),
        per_emotion_diff=float((pg_ - pc).mean()), wilcoxon_p=wp,
        d=d, d_ci=cohens_d_ci(d, pg_.size, pc.size, level), n_emotions=int(pg_.size), n_boot=int(bg.size),
    )


def _loo_stats(x: np.ndarray) -> tuple[float, float, int]:
    """(mean, SD, n) of LOO replicates; NaN where fewer than 2 (no spread to report)."""
    if x.size < 2:
        return math.nan, math.nan, int(x.size)
    return float(x.mean()), float(x.std(ddof=1)), int(x.size)


def _d_or_nan(x: np.ndarray, y: np.ndarray) -> float:
    """Cohen's d, or NaN when both samples have zero spread (identical replicates)."""
    try:
        return cohens_d(x, y)
    except EmovecInputError:
        return math.nan


def _bc_or_nan(samples: np.ndarray, observed: float, level: float) -> tuple[float, float]:
    """Bias-corrected bootstrap CI, or NaNs when the bootstrap cannot place the observed value
    (every draw on one side of it: degenerate resampling of a tiny corpus)."""
    try:
        return bias_corrected_ci(samples, observed, level)
    except EmovecInputError:
        return math.nan, math.nan


def _model_pairs(cells: Mapping[str, CellData]) -> list[tuple[CellData, CellData]]:
    """(generation, comprehension) cells per model; the first of each method in table order."""
    by_model: dict[str, dict[str, CellData]] = {}
    for c in _ordered(cells):
        by_model.setdefault(c.spec.model, {}).setdefault(c.spec.method, c)
    return [(m["generation"], m["comprehension"]) for m in by_model.values()
            if "generation" in m and "comprehension" in m]


def _loo_cell(stats: tuple[float, float, int], digits: int) -> str:
    mean, sd, n = stats
    if math.isnan(mean):
        return f"--- ({n})"
    return f"{fmt_num(mean, digits)} $\\pm$ {fmt_num(sd, digits)} ({n})"


def gen_vs_comp_table(spec: PaperSpec, cells: Mapping[str, CellData],
                      resampling: Mapping[str, Mapping[str, Any]]) -> str:
    """The LaTeX table: one row per model with both methods, then the sign test over models."""
    dg = spec.digits
    pairs = _model_pairs(cells)
    comps = [compare_methods(g.spec.model, resampling[g.spec.cell], resampling[c.spec.cell]) for g, c in pairs]
    p_bh = bh_adjust(np.array([x.wilcoxon_p for x in comps])) if comps else np.array([])
    head = [
        " & \\multicolumn{5}{c}{Jeong's procedure (LOO replicates)} & \\multicolumn{6}{c}{Corrected "
        "(independent units)} \\\\",
        "\\cmidrule(lr){2-6}\\cmidrule(lr){7-12}",
        _row(["Model", "Gen.\\ LOO ($n$)", "Comp.\\ LOO ($n$)", "$U$", "$p$", "$d_{\\mathrm{LOO}}$",
              "G$-$C", f"{int(CI_LEVEL * 100)}\\% CI", "Paired $\\bar\\delta$", "$p$ (BH)",
              "$d$", f"{int(CI_LEVEL * 100)}\\% CI"]),
    ]
    body = []
    for x, pb in zip(comps, p_bh):
        body.append(_row([
            latex_escape(x.model), _loo_cell(x.loo_gen, dg), _loo_cell(x.loo_comp, dg),
            fmt_num(x.mwu_u, 1), _fmt_p(x.mwu_p, dg) if not math.isnan(x.mwu_p) else "---", fmt_num(x.d_loo, 1),
            fmt_signed(x.diff, dg), f"[{fmt_signed(x.diff_ci[0], dg)}, {fmt_signed(x.diff_ci[1], dg)}]",
            fmt_signed(x.per_emotion_diff, dg), f"{_fmt_p(x.wilcoxon_p, dg)} ({_fmt_p(float(pb), dg)})",
            fmt_signed(x.d, 2), f"[{fmt_signed(x.d_ci[0], 2)}, {fmt_signed(x.d_ci[1], 2)}]",
        ]))
    if not body:
        body = [_row([f"\\multicolumn{{{12}}}{{c}}{{No model has both a generation and a comprehension cell.}}"])]
    k = sum(1 for x in comps if x.diff < 0)
    n = len(comps)
    footer = [_row([f"\\multicolumn{{12}}{{l}}{{Sign test over models: generation separates better (G$-$C $<$ 0) "
                    f"in {k} of {n}; two-sided exact binomial $p$ = "
                    f"{_fmt_p(sign_test(k, n), dg) if n else '---'}.}}"])]
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
        f"{_fmt_ns([x.n_emotions for x in comps])} per method, paired by emotion); each emotion's value is its "
        "mean cosine to the other $N-1$ vectors (these average to the mean pairwise cosine). "
        f"{int(CI_LEVEL * 100)}\\% CI of G$-$C: stimulus-level bootstrap (stimuli resampled with replacement "
        f"within each emotion and neutral, independently per method; {_fmt_ns(n_boot)} draws; bias-corrected "
        "percentile). Paired $\\bar\\delta$: mean per-emotion difference, Wilcoxon signed-rank $p$ (two-sided), "
        f"BH-adjusted over the {n} model(s) in parentheses. $d$: pooled-SD Cohen's $d$ of the per-emotion "
        f"values (generation vs comprehension) with its normal-theory {int(CI_LEVEL * 100)}\\% CI "
        "(Hedges \\& Olkin; it ignores the pairing). Sign test: unit = models, no correction."
    )
    tab = _tabular("l" + "ll" + "rrr" + "rc" + "rc" + "rc", head, body, footer)
    return _wrap_table(caption, _label(spec, "gen-vs-comp"), [(tab, 12)])


def _fmt_ns(values: list[int]) -> str:
    uniq = sorted(set(values))
    return ", ".join(str(v) for v in uniq) if uniq else "---"
