"""Generation vs comprehension separation: Jeong's own procedure beside the corrected analysis.

Jeong (2026, §4.2) compares the two extraction methods on SmolLM2 with leave-one-out (LOO)
replicates (10 stories, 3 passages), a Mann-Whitney U test on them and Cohen's d on them
(d = -107.5). The LOO replicates are not independent samples: dropping one of n items moves a
mean by only 1/(n-1) of that item's deviation, so a d on LOO replicates is (n-1) times the
per-item d (METHODS trap 2), and with 10 vs 3 replicates the smallest two-sided exact p is
2/286 = 0.007 whatever the effect. ``compare_methods`` reproduces that procedure per model and
sets beside it an analysis whose units are independent:

- per-emotion paired comparison: each emotion's mean cosine to the other N-1 vectors, under
  generation and under comprehension (the N per-emotion values average to the mean pairwise
  cosine), compared with a Wilcoxon signed-rank test over the N emotions, BH-adjusted across
  the models in the table (``compare_models``);
- the difference in mean pairwise cosine (generation - comprehension) with a stimulus-level
  bootstrap CI (stimuli resampled within each emotion and neutral, independently per method;
  bias-corrected percentile interval);
- pooled-SD Cohen's d of the per-emotion values with its normal-theory CI;
- a sign test over models of the sign of the difference (Jeong's "7 of 7").

Inputs: the separation stage's ``<cell>.resampling.json`` of a model's generation and
comprehension cells (``emovec.readers.separation.load_resampling``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from emovec.analysis.separation import method_pairs
from emovec.errors import EmovecInputError
from emovec.readers.separation import CellData
from emovec.stats.effect_size import cohens_d, cohens_d_ci, mann_whitney, paired_wilcoxon, sign_test
from emovec.stats.multiple import bh_adjust, bias_corrected_ci

__all__ = ["CI_LEVEL", "GenVsComp", "MethodComparison", "compare_methods", "compare_models"]

CI_LEVEL = 0.95


@dataclass(frozen=True)
class MethodComparison:
    """One model's generation-vs-comprehension comparison (generation minus comprehension).

    Jeong's procedure: loo_* (mean, SD, n of the LOO replicates per method), mwu_u / mwu_p /
    mwu_method (Mann-Whitney on the replicates) and d_loo (pooled-SD d on the replicates).
    Corrected: diff (difference of mean pairwise cosines), diff_ci (stimulus bootstrap, BC),
    per_emotion_diff (mean paired difference), wilcoxon_p (n_emotions pairs), d / d_ci
    (pooled-SD d of the per-emotion values), n_emotions. ``generation_corpus`` and
    ``comprehension_corpus`` name the two cells compared.
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
    generation_corpus: str
    comprehension_corpus: str


def compare_methods(model: str, gen: Mapping[str, Any], comp: Mapping[str, Any], corpora: tuple[str, str],
                    level: float = CI_LEVEL) -> MethodComparison:
    """Both analyses for one model from its two resampling records, of the (generation,
    comprehension) corpora named by ``corpora``."""
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
        generation_corpus=corpora[0], comprehension_corpus=corpora[1],
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


@dataclass(frozen=True)
class GenVsComp:
    """Every model's comparison, with the corrections across models.

    Attributes:
        comparisons: one per model with both a generation and a comprehension cell, in table order.
        wilcoxon_p_bh: the comparisons' Wilcoxon p, Benjamini-Hochberg adjusted across them.
        n_gen_better: models whose generation cosine is lower (G-C < 0).
        sign_p: two-sided exact binomial p of n_gen_better out of len(comparisons); NaN without models.
        level: the CI level of every interval.
    """

    comparisons: tuple[MethodComparison, ...]
    wilcoxon_p_bh: tuple[float, ...]
    n_gen_better: int
    sign_p: float
    level: float


def compare_models(cells: Mapping[str, CellData], resampling: Mapping[str, Mapping[str, Any]],
                   level: float = CI_LEVEL) -> GenVsComp:
    """``compare_methods`` for every model with both methods, BH across models and the sign test."""
    comps = tuple(compare_methods(g.spec.model, resampling[g.spec.cell], resampling[c.spec.cell],
                                  (g.spec.corpus, c.spec.corpus), level)
                  for g, c in method_pairs(cells))
    p_bh = bh_adjust(np.array([x.wilcoxon_p for x in comps])) if comps else np.array([])
    k = sum(1 for x in comps if x.diff < 0)
    return GenVsComp(comparisons=comps, wilcoxon_p_bh=tuple(float(p) for p in p_bh), n_gen_better=k,
                     sign_p=sign_test(k, len(comps)) if comps else math.nan, level=level)
