"""Caption sentences and cell labels shared by the valence tables (van der Ben et al. 2026
analogue): every statistic's unit of analysis (emotions), n, CI method and multiple-comparison
correction, with settings that differ between cells listed per cell, never collapsed."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from emovec.readers.checked import as_float
from emovec.readers.paper_valence import valence_sort_key
from emovec.readers.valence import TARGETS, ValenceCellData
from emovec.report.latex import fmt_num, fmt_percent, fmt_setting, latex_escape, summarise

__all__ = ["cell_label", "corpus_label", "identification_caption", "methods_caption", "ordered_cells", "per_cell",
           "r_with_ci", "settings_caption", "stories", "value_with_ci"]


def ordered_cells(cells: Mapping[str, ValenceCellData]) -> list[ValenceCellData]:
    """The cells in ``valence_sort_key`` order (family, base before instruct, model, corpus)."""
    return sorted(cells.values(), key=lambda d: valence_sort_key(d.spec))


def cell_label(d: ValenceCellData) -> str:
    """``model/corpus``: how captions name a cell."""
    return f"{latex_escape(d.spec.model)}/{latex_escape(d.spec.corpus)}"


def per_cell(cells: Sequence[ValenceCellData], fn: Callable[[ValenceCellData], str]) -> str:
    """One value when all cells agree, else every value with the cells it belongs to."""
    return summarise([(cell_label(d), fn(d)) for d in cells])


def value_with_ci(peak: Mapping[str, Any], key: str, digits: int) -> str:
    """``value [low, high]`` of a summary peak's ``key`` (with ``key_ci_low``, ``key_ci_high``)."""
    v, lo, hi = (as_float(peak[k]) for k in (key, f"{key}_ci_low", f"{key}_ci_high"))
    return f"{fmt_num(v, digits)} [{fmt_num(lo, digits)}, {fmt_num(hi, digits)}]"


def r_with_ci(peak: Mapping[str, Any], digits: int) -> str:
    """``r [low, high]`` of a summary peak."""
    return value_with_ci(peak, "r", digits)


def stories(d: ValenceCellData) -> str:
    """A cell's story counts, in words."""
    counts = list(d.summary["n_stories"].values())
    return (f"{min(counts)}--{max(counts)} per emotion ({sum(counts)} in all), {d.summary['n_neutral']} neutral, "
            f"{d.summary['n_excluded_short']} excluded as too short")


def methods_caption(cells: Sequence[ValenceCellData]) -> str:
    """The shared sentences: unit of analysis, n, CI, tests, corrections, settings."""
    n = per_cell(cells, lambda d: str(d.n_emotions))
    n_boot = per_cell(cells, lambda d: str(d.summary["n_boot"]))
    level = per_cell(cells, lambda d: fmt_percent(float(d.summary["ci_level"])))
    n_perm = per_cell(cells, lambda d: str(d.summary["n_perm"]))
    layers = per_cell(cells, lambda d: str(d.spec.n_layers))
    seed = per_cell(cells, lambda d: fmt_setting(d.summary["seed"]))
    return (
        f"Unit of analysis: emotions; $n$ = {n} emotions per cell (one contrast vector and one rating per "
        f"emotion). CI: {level} percentile bootstrap over emotions (emotions resampled with replacement, "
        f"the PCA refitted and re-oriented on every resample; {n_boot} resamples, seed {seed}). "
        f"$p$: two-sided permutation test, ratings permuted across emotions ({n_perm} permutations). "
        "$p_{\\mathrm{FDR}}$: Benjamini--Hochberg adjusted across the $L$ layers of the cell "
        f"($L$ = {layers}). The peak layer is selected post hoc from all $L$ layers, so its "
        "$p_{\\max}$ is a max-statistic permutation $p$: the share of permutations whose maximum $|r|$ "
        "over all $L$ layers reaches the observed peak $|r|$ (family-wise over layers). "
        "$\\lambda_1/\\lambda_2$: ratio of the first two PCA eigenvalues across emotions at the peak layer; "
        "near 1, PC1 and PC2 are not identified (any rotation within their plane fits as well) and a "
        "PC1 or PC2 correlation must not be read on its own. Each resample's refitted PCs are matched to the "
        f"full-sample PC1 and PC2 by {per_cell(cells, lambda d: fmt_setting(d.summary['pc_matching']))} (order: "
        "the assignment with the larger total $|\\cos|$ between loadings, then the sign; sign: the sign only). "
        "$r$ is signed by the anchor rule below; $|r|$ is the magnitude as the authors print it (their code "
        "flips each PC so that $r > 0$)."
    )


def identification_caption(cells: Sequence[ValenceCellData]) -> str:
    """Which peaks' PCs are not identified: swap rate above the cell's max_swap_rate."""
    flagged = [f"{cell_label(d)} {t} (layer {int(d.peak(t)['layer'])}, swap rate {fmt_num(d.peak(t)['swap_rate'], 3)})"
               for d in cells for t in TARGETS if not d.peak(t)["identified"]]
    limit = per_cell(cells, lambda d: fmt_num(d.summary["max_swap_rate"], 2))
    if not flagged:
        return f" Every peak's PC is identified (swap rate at most {limit})."
    return (f" PC not identified at the peak (more than {limit} of the resamples' PC1 lies nearer the full-sample "
            "PC2; read the rotation-invariant $R$ of Table~\\ref{tab:valence-identification} instead): "
            + "; ".join(flagged) + ".")


def settings_caption(cells: Sequence[ValenceCellData]) -> str:
    """The settings sentences: PC signs, ratings, vector settings, stories and anything unusual at the peak."""
    s = lambda key: per_cell(cells, lambda d: fmt_setting(d.summary[key]))  # noqa: E731
    anchors = per_cell(cells, lambda d: " / ".join(latex_escape(a) for a in d.summary["anchors"]))
    norms = per_cell(cells, lambda d: (f"{fmt_setting(d.summary['norms'])} (fallback "
                                        f"{fmt_setting(d.summary['norms_fallback'])}, missing emotions: "
                                        f"{fmt_setting(d.summary['on_missing'])})"))
    text = (
        f" PC signs: orientation rule {s('orientation')}, anchor emotions {anchors}. "
        f"Ratings: {norms}, rescaled to $[-1, 1]$; emotion set {s('emotion_set')}. "
        f"Vectors: pooling {s('pooling')}; mean offset {s('mean_offset')}; baseline {s('baseline')}; "
        f"weighting {s('weighting')} (token: every pooled token of an emotion's stories counts once, as van der "
        "Ben's code at 0dd5b7b averages them; story: each story's mean counts once); normalised "
        f"{s('normalise')}. Stories: "
        f"{per_cell(cells, stories)}."
    )
    removed = [d for d in cells if d.summary["removed_k"] is not None]
    if removed:
        text += (" Neutral principal components removed at the valence peak layer: "
                 + "; ".join(f"{cell_label(d)} {fmt_setting(d.summary['removed_k'][int(d.peak('valence')['layer'])])}"
                             for d in removed) + ".")
    short = []
    for d in cells:
        for t in TARGETS:
            layer = int(d.peak(t)["layer"])
            valid = int(d.layers["n_boot_valid"].iloc[layer])
            if valid < int(d.summary["n_boot"]):
                short.append(f"{cell_label(d)} {t} {valid}")
    if short:
        text += (" Valid bootstrap resamples at the peak (fewer than requested; degenerate resamples "
                 "dropped): " + "; ".join(short) + ".")
    return text + identification_caption(cells)


def corpus_label(d: ValenceCellData) -> str:
    """``corpus (generator)``."""
    return f"{latex_escape(d.spec.corpus)} ({latex_escape(d.spec.generator)})"
