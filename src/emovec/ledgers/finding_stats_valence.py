"""Findings statistics on the valence study (van der Ben et al. 2026): per valence cell, per pair
of models on one story corpus, and per model across its story corpora, from the valence stage's
summaries and its bootstrap draws (``bootstrap.npz``: r per draw and layer, and the resampled
emotion indices, so two cells' draws can be compared draw by draw when they resample the same
emotions). Every draw's PCs were matched to the full-sample PCs by order and sign (the stage's
``valence.pc_matching``), so no statistic here reads a swapped axis as PC1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from emovec.artefacts.declarations import VALENCE_SUMMARY
from emovec.errors import EmovecInputError
from emovec.ledgers.finding_core import (
    Estimate,
    FindingsContext,
    Outcome,
    Subject,
    cell_subject,
    register_statistic,
)
from emovec.readers.checked import read_json_artefact
from emovec.readers.paper_valence import ValenceCellSpec
from emovec.stats.multiple import percentile_ci


def _peak_outcomes(ctx: FindingsContext, target: str, key: str, unit: str, how: Callable[[Mapping[str, Any]], str],
                   detail: Callable[[Mapping[str, Any]], str]) -> list[Outcome]:
    """Per valence cell: the summary's ``key`` (r or R) at the target's peak with its CI over emotions;
    ``how`` names the bootstrap's PC handling, ``detail`` what a reader needs beside the number."""
    out = []
    for c in ctx.paper.valence.cells:
        summary = read_json_artefact(ctx.valence_dir / c.cell / "summary.json", VALENCE_SUMMARY)
        peak = summary["peaks"][target]
        out.append(Outcome(cell_subject(c, True), Estimate(
            value=float(peak[key]), ci_low=float(peak[f"{key}_ci_low"]), ci_high=float(peak[f"{key}_ci_high"]),
            n=int(summary["n_emotions"]), unit_of_analysis="emotions", unit=unit,
            ci_method=f"bootstrap over emotions, PCA refitted, {how(summary)} ({summary['n_boot']} draws, "
                      f"{summary['ci_level']:.0%})",
            detail=f"layer {peak['layer']} of {c.n_layers}; {detail(peak)}; {_identification(peak, summary)}")))
    return out


def _identification(peak: Mapping[str, Any], summary: Mapping[str, Any]) -> str:
    word = "identified" if peak["identified"] else "NOT identified"
    return (f"PC {word} (swap rate {peak['swap_rate']:.3f}, limit {summary['max_swap_rate']:g}; lambda1/lambda2 "
            f"{peak['lambda_ratio']:.2f} [{peak['lambda_ratio_ci_low']:.2f}, {peak['lambda_ratio_ci_high']:.2f}])")


@register_statistic("affect_peak_r")
def affect_peak_r(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per valence cell: Pearson r of the target's PC (PC1 valence, PC2 arousal) with the human
    ratings at the layer of peak |r|, signed by the anchor rule, with its bootstrap CI over emotions
    (PCA refitted per resample, matched by order and sign) and the max-statistic p over layers
    (``args.target``); the detail gives |r|, the swap rate and whether the PC is identified."""
    return _peak_outcomes(ctx, _target(args, "affect_peak_r"), "r", "Pearson r",
                          lambda s: f"PCs matched by {s['pc_matching']}",
                          lambda p: f"max-statistic p {p['p_max']:.3g}; |r| {p['abs_r']:.3f}")


@register_statistic("affect_peak_multiple_r")
def affect_peak_multiple_r(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per valence cell: the rotation-invariant R of the target's ratings on the PC1 and PC2 scores
    together, at the layer where the target's own PC r peaks (``args.target``), with its bootstrap
    CI over emotions (PCA refitted per resample; R does not depend on how the refits are matched).
    R >= |r| of either PC: it reads the best direction in the PC1-PC2 plane, so it stays meaningful
    when lambda1 ~ lambda2 and the PCs' order is not identified."""
    return _peak_outcomes(ctx, _target(args, "affect_peak_multiple_r"), "R", "multiple correlation R (PC1 and PC2)",
                          lambda s: "percentile",
                          lambda p: f"best direction {p['angle']:.0f} degrees from PC{p['pc']}; PC r {p['r']:+.3f}")


# ---- the bootstrap draw by draw (bootstrap.npz of the valence stage) --------------------------

_TARGET_INDEX = {"valence": 0, "arousal": 1}  # the last axis of bootstrap.npz's r (emovec.geometry.affect_layer.TARGETS)


@dataclass(frozen=True)
class CellDraws:
    """One valence cell's bootstrap over emotions, draw by draw: ``r`` [n_boot, n_layers, 2]
    (PC1-valence, PC2-arousal; NaN where a resample is invalid), ``boot_idx`` [n_boot, n_emotions]
    (resampled rows of ``emotions``)."""

    r: np.ndarray
    boot_idx: np.ndarray
    emotions: tuple[str, ...]


def _target(args: Mapping[str, Any], name: str) -> str:
    target = str(args.get("target", "valence"))
    if target not in _TARGET_INDEX:
        raise EmovecInputError(f"{name}: target must be valence or arousal; got {target!r}")
    return target


def read_cell_draws(ctx: FindingsContext, c: ValenceCellSpec) -> CellDraws | str:
    """The cell's ``bootstrap.npz``, or the reason it is unavailable."""
    path = ctx.valence_dir / c.cell / "bootstrap.npz"
    if not path.is_file():
        return "the valence output has no bootstrap.npz (written by an older valence stage): re-run the valence stage"
    with np.load(path) as z:
        return CellDraws(r=np.asarray(z["r"], dtype=float), boot_idx=np.asarray(z["boot_idx"]),
                         emotions=tuple(str(e) for e in z["emotions"]))


def draws_aligned(a: CellDraws, b: CellDraws) -> bool:
    """Whether the two cells' bootstrap draws resample the same emotions, draw by draw: the same
    emotions in the same order and identical resampled indices (the valence stage draws them
    first from ``default_rng(seed)``, so equal seed, n_boot and emotion list give equal draws).
    Only then is a draw-by-draw difference a paired bootstrap."""
    return a.emotions == b.emotions and np.array_equal(a.boot_idx, b.boot_idx)


def draw_peak_depths(r: np.ndarray) -> np.ndarray:
    """[n_boot, n_layers] r per draw and layer -> [n_boot] relative depth layer / (L - 1) of each
    draw's own peak |r| (the first layer on ties, as the observed peak); NaN for a draw invalid at
    any layer (its peak over all layers is undefined)."""
    if r.ndim != 2 or r.shape[1] < 2:
        raise EmovecInputError(f"draw_peak_depths: need [n_boot, n_layers >= 2]; got shape {r.shape}")
    ok = np.isfinite(r).all(axis=1)
    peak = np.argmax(np.abs(np.where(ok[:, None], r, 0.0)), axis=1) / (r.shape[1] - 1)
    return np.where(ok, peak, np.nan)


def difference_interval(a: np.ndarray, b: np.ndarray, paired: bool, level: float) -> tuple[float, float, int]:
    """Percentile CI of a - b from two cells' per-draw statistics [n_boot]: paired draw by draw
    (draws where both are finite) when the cells resample the same emotions, else over every
    combination of a finite draw of a with a finite draw of b (the bootstrap distribution of a
    difference of two independent estimates). Returns (low, high, number of differences)."""
    if paired:
        if a.shape != b.shape:
            raise EmovecInputError(f"paired draws need equal shapes; got {a.shape} and {b.shape}")
        d = a - b
    else:
        d = (a[np.isfinite(a)][:, None] - b[np.isfinite(b)][None, :]).ravel()
    d = d[np.isfinite(d)]
    lo, hi = percentile_ci(d, level, too_few="nan")
    return lo, hi, int(d.size)


def _diff_method(paired: bool, n_draws: int, n_diffs: int, level: float) -> str:
    if paired:
        return f"percentile bootstrap, paired draw by draw over the same emotion resamples ({n_diffs} draws, {level:.0%})"
    return (f"percentile bootstrap, independent draws: every pair of the two cells' draws ({n_draws} each, "
            f"{n_diffs} differences, {level:.0%})")


@register_statistic("affect_peak_depth")
def affect_peak_depth(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per valence cell: relative depth layer / (L - 1) of the layer of peak |r| of the target's PC
    (PC1 valence, PC2 arousal; ``args.target``) with the ratings; CI: percentile over the valence
    stage's bootstrap over emotions (PCA refitted per resample) of each draw's own peak layer, so
    the layer selection is resampled too (draws invalid at any layer left out)."""
    target, level = _target(args, "affect_peak_depth"), float(args.get("level", 0.95))
    out = []
    for c in ctx.paper.valence.cells:
        subject = cell_subject(c, True)
        draws = read_cell_draws(ctx, c)
        if isinstance(draws, str):
            out.append(Outcome(subject, not_applicable=draws))
            continue
        summary = read_json_artefact(ctx.valence_dir / c.cell / "summary.json", VALENCE_SUMMARY)
        last = int(summary["n_layers"]) - 1
        depths = draw_peak_depths(draws.r[:, :, _TARGET_INDEX[target]])
        lo, hi = percentile_ci(depths, level, too_few="nan")
        peak = summary["peaks"][target]
        n_ok = int(np.count_nonzero(np.isfinite(depths)))
        out.append(Outcome(subject, Estimate(
            value=peak["layer"] / last, ci_low=lo, ci_high=hi, n=int(summary["n_emotions"]),
            unit_of_analysis="emotions", unit="relative depth (0 first, 1 last)",
            ci_method=f"bootstrap over emotions, PCA refitted, each draw's own peak layer ({n_ok} of "
                      f"{depths.size} draws valid at every layer, percentile, {level:.0%})",
            detail=f"peak layer {peak['layer']} of {summary['n_layers']} (r {peak['r']:+.3f})")))
    return out


@register_statistic("affect_peak_depth_difference")
def affect_peak_depth_difference(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per pair of models on the same story corpus (valence cells in config order, a before b):
    relative peak depth of a minus that of b (see ``affect_peak_depth``). CI: paired draw by draw
    when the two cells resample the same emotions (``draws_aligned``), else from independent draws
    (every pair of draws); the CI method says which."""
    target, level = _target(args, "affect_peak_depth_difference"), float(args.get("level", 0.95))
    cells = ctx.paper.valence.cells
    out: list[Outcome] = []
    for i, a in enumerate(cells):
        for b in cells[i + 1:]:
            if a.corpus != b.corpus or a.model == b.model:
                continue
            subject = Subject(label=f"{a.model} x {b.model} / {a.corpus}", models=(a.model, b.model),
                              families=(a.family, b.family), variants=(a.variant, b.variant))
            da, db = read_cell_draws(ctx, a), read_cell_draws(ctx, b)
            if isinstance(da, str) or isinstance(db, str):
                out.append(Outcome(subject, not_applicable=da if isinstance(da, str) else str(db)))
                continue
            sa = read_json_artefact(ctx.valence_dir / a.cell / "summary.json", VALENCE_SUMMARY)
            sb = read_json_artefact(ctx.valence_dir / b.cell / "summary.json", VALENCE_SUMMARY)
            j = _TARGET_INDEX[target]
            depth_a, depth_b = draw_peak_depths(da.r[:, :, j]), draw_peak_depths(db.r[:, :, j])
            paired = draws_aligned(da, db)
            lo, hi, n_diffs = difference_interval(depth_a, depth_b, paired, level)
            pa, pb = sa["peaks"][target], sb["peaks"][target]
            obs_a, obs_b = pa["layer"] / (int(sa["n_layers"]) - 1), pb["layer"] / (int(sb["n_layers"]) - 1)
            out.append(Outcome(subject, Estimate(
                value=obs_a - obs_b, ci_low=lo, ci_high=hi, n=int(sa["n_emotions"]),
                unit_of_analysis="emotions (paired)" if paired else "emotions (independent resamples)",
                unit="relative depth difference", ci_method=_diff_method(paired, depth_a.size, n_diffs, level),
                detail=f"{a.model} layer {pa['layer']} of {sa['n_layers']} ({obs_a:.2f}); {b.model} layer "
                       f"{pb['layer']} of {sb['n_layers']} ({obs_b:.2f})"
                       + ("" if paired else "; the two cells' draws resample different emotions"))))
    if not out:
        models = ", ".join(f"{c.model} / {c.corpus}" for c in cells)
        out.append(Outcome(Subject("(run)", (), (), ()),
                           not_applicable=f"needs two models on one story corpus; the selection has {models or 'none'}"))
    return out


@register_statistic("affect_baseline_difference")
def affect_baseline_difference(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per valence cell with a comparison baseline (``valence.compare_baseline``, e.g. neutral_pca):
    peak r of the target's PC under the cell's baseline minus under the comparison baseline, each at
    its own observed peak layer (signed r: both oriented by the same anchor rule). CI: percentile,
    paired draw by draw (the two analyses resample the same emotions: the same seed), from
    ``bootstrap.npz``'s ``r`` and ``compare_r``."""
    target, level = _target(args, "affect_baseline_difference"), float(args.get("level", 0.95))
    out = []
    for c in ctx.paper.valence.cells:
        subject = cell_subject(c, True)
        summary = read_json_artefact(ctx.valence_dir / c.cell / "summary.json", VALENCE_SUMMARY)
        if summary.get("compare") is None:
            out.append(Outcome(subject, not_applicable="the cell ran no comparison baseline (valence.compare_baseline)"))
            continue
        path = ctx.valence_dir / c.cell / "bootstrap.npz"
        with np.load(path) as z:
            if "compare_r" not in z:
                raise EmovecInputError(f"{path}: no 'compare_r' although summary.json has a comparison; re-run the "
                                       "valence stage")
            r, compare_r = np.asarray(z["r"], float), np.asarray(z["compare_r"], float)
        pa, pb = summary["peaks"][target], summary["compare"]["peaks"][target]
        j = _TARGET_INDEX[target]
        lo, hi, n_diffs = difference_interval(r[:, int(pa["layer"]), j], compare_r[:, int(pb["layer"]), j],
                                              True, level)
        removed = summary["compare"]["removed_k"]
        k = "" if removed is None else f"; k = {removed[int(pb['layer'])]} neutral PCs removed at layer {pb['layer']}"
        out.append(Outcome(subject, Estimate(
            value=float(pa["r"]) - float(pb["r"]), ci_low=lo, ci_high=hi, n=int(summary["n_emotions"]),
            unit_of_analysis="emotions (paired)", unit="Pearson r difference",
            ci_method=_diff_method(True, r.shape[0], n_diffs, level),
            detail=f"{summary['baseline']}: r {pa['r']:+.3f} at layer {pa['layer']}; {summary['compare']['baseline']}: "
                   f"r {pb['r']:+.3f} [{pb['r_ci_low']:+.3f}, {pb['r_ci_high']:+.3f}] at layer {pb['layer']}{k}")))
    if not out:
        out.append(Outcome(Subject("(run)", (), (), ()), not_applicable="the selection has no valence cell"))
    return out


@register_statistic("affect_corpus_difference")
def affect_corpus_difference(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per model with two or more story corpora (each pair of its valence cells in config order,
    a before b): peak r of the target's PC on corpus a minus on corpus b (signed r: the PC's sign
    is fixed by a rule that never sees the ratings, as in ``affect_peak_r``). Each cell's r is at
    its own observed peak layer, per draw too (the summary's CI; the layer choice is not
    resampled). CI: paired draw by draw when the two cells resample the same emotions, else from
    independent draws (every pair of draws); the CI method says which."""
    target, level = _target(args, "affect_corpus_difference"), float(args.get("level", 0.95))
    cells = ctx.paper.valence.cells
    by_model: dict[str, list[Mapping[str, Any]]] = {}
    for c in cells:
        by_model.setdefault(c.model, []).append(c)
    out: list[Outcome] = []
    for model, these in by_model.items():
        if len(these) < 2:
            out.append(Outcome(cell_subject(these[0], False),
                               not_applicable=f"needs two story corpora; {model} has only {these[0].corpus}"))
            continue
        for i, a in enumerate(these):
            for b in these[i + 1:]:
                s = cell_subject(a, False)
                subject = Subject(label=f"{model}: {a.corpus} - {b.corpus}", models=s.models,
                                  families=s.families, variants=s.variants)
                da, db = read_cell_draws(ctx, a), read_cell_draws(ctx, b)
                if isinstance(da, str) or isinstance(db, str):
                    out.append(Outcome(subject, not_applicable=da if isinstance(da, str) else str(db)))
                    continue
                sa = read_json_artefact(ctx.valence_dir / a.cell / "summary.json", VALENCE_SUMMARY)
                sb = read_json_artefact(ctx.valence_dir / b.cell / "summary.json", VALENCE_SUMMARY)
                pa, pb = sa["peaks"][target], sb["peaks"][target]
                j = _TARGET_INDEX[target]
                ra, rb = da.r[:, int(pa["layer"]), j], db.r[:, int(pb["layer"]), j]
                paired = draws_aligned(da, db)
                lo, hi, n_diffs = difference_interval(ra, rb, paired, level)
                same = "" if paired else (
                    "; emotion sets differ" if da.emotions != db.emotions else "; the draws differ")
                out.append(Outcome(subject, Estimate(
                    value=float(pa["r"]) - float(pb["r"]), ci_low=lo, ci_high=hi,
                    n=min(int(sa["n_emotions"]), int(sb["n_emotions"])),
                    unit_of_analysis="emotions (paired)" if paired else
                    f"emotions ({sa['n_emotions']} and {sb['n_emotions']}, independent resamples)",
                    unit="Pearson r difference", ci_method=_diff_method(paired, ra.size, n_diffs, level),
                    detail=f"r {pa['r']:+.3f} [{pa['r_ci_low']:+.3f}, {pa['r_ci_high']:+.3f}] at layer {pa['layer']} "
                           f"on {a.corpus} ({sa['n_emotions']} emotions) vs {pb['r']:+.3f} "
                           f"[{pb['r_ci_low']:+.3f}, {pb['r_ci_high']:+.3f}] at layer {pb['layer']} on {b.corpus} "
                           f"({sb['n_emotions']} emotions){same}")))
    if not out:
        out.append(Outcome(Subject("(run)", (), (), ()), not_applicable="the selection has no valence cell"))
    return out
