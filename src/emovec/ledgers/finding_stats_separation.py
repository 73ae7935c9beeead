"""Findings statistics on the separation study (Jeong 2026 §3-4): per separation cell, from
the separation stage's CSV and resampling record and the analyses stage's ``gen_vs_comp``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from emovec.artefacts.declarations import RESAMPLING_RECORD
from emovec.ledgers.finding_core import (
    Estimate,
    FindingsContext,
    Outcome,
    cell_subject,
    register_statistic,
    separation_table,
)
from emovec.readers.checked import read_json_artefact
from emovec.readers.paper_separation import CellSpec
from emovec.stats.multiple import percentile_ci


@register_statistic("gen_minus_comp")
def gen_minus_comp(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per model: generation minus comprehension mean pairwise cosine at the reported layer
    (negative = generation separates better), per-emotion paired, bootstrap CI over stimuli within
    emotion (the analyses stage's ``gen_vs_comp``). With ``null_referenced: true`` each method's
    cosine is first referenced to its own shuffled-label null mean (cosine minus null mean), so the
    difference is what generation gains beyond its null; the null means come from 999+ label
    permutations and are treated as fixed (their Monte Carlo error is ~1e-3)."""
    from emovec.analysis.catalogue import read_analysis

    cells = {(c.model, c.method): c for c in ctx.paper.separation.cells}
    models = list(dict.fromkeys(m for m, _ in cells))
    result = read_analysis(ctx.analyses_dir, "gen_vs_comp")
    comps = {c.model: c for c in result.comparisons}
    out: list[Outcome] = []
    for m in models:
        subject = cell_subject(cells.get((m, "generation")) or cells[(m, "comprehension")], False)
        if (m, "generation") not in cells or (m, "comprehension") not in cells or m not in comps:
            missing = [k for k in ("generation", "comprehension") if (m, k) not in cells]
            out.append(Outcome(subject, not_applicable=f"needs both a generation and a comprehension cell; "
                                                       f"{m} has no {' or '.join(missing) or 'gen_vs_comp entry'} cell"))
            continue
        c = comps[m]
        shift = 0.0
        detail = f"raw: {c.diff:+.3f}"
        if args.get("null_referenced"):
            g, k = cells[(m, "generation")], cells[(m, "comprehension")]
            null_g = float(separation_table(ctx, g).iloc[g.layer]["null_mean"])
            null_c = float(separation_table(ctx, k).iloc[k.layer]["null_mean"])
            shift = -(null_g - null_c)
            detail = f"raw {c.diff:+.3f}; null means gen {null_g:.3f}, comp {null_c:.3f}"
        out.append(Outcome(subject, Estimate(
            value=c.diff + shift, ci_low=c.diff_ci[0] + shift, ci_high=c.diff_ci[1] + shift,
            n=c.n_emotions, unit_of_analysis="emotions (paired)", unit="mean cosine",
            ci_method=f"bootstrap over stimuli within emotion ({c.n_boot} draws, {result.level:.0%})",
            detail=detail)))
    return out


def _anisotropy_cell(ctx: FindingsContext, c: CellSpec) -> tuple[pd.Series, float, dict[str, Any]] | str:
    """(reported-layer CSV row, anisotropy baseline, resampling record) of a cell, or why not."""
    row = separation_table(ctx, c).iloc[c.layer]
    aniso = float(row["anisotropy"])
    if not np.isfinite(aniso):
        return "the cell has no anisotropy sentences"
    return row, aniso, read_json_artefact(ctx.separation_dir / f"{c.cell}.resampling.json", RESAMPLING_RECORD)


@register_statistic("cosine_minus_anisotropy")
def cosine_minus_anisotropy(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per cell: mean pairwise cosine of the emotion vectors minus the anisotropy baseline (mean
    cosine of unrelated sentences' activations) at the reported layer; negative = the vectors are
    less alike than arbitrary activations. CI: the cell's bootstrap replicates of the mean cosine
    (stimuli resampled within emotion) minus the baseline, which is treated as fixed."""
    level = float(args.get("level", 0.95))
    out = []
    for c in ctx.paper.separation.cells:
        subject = cell_subject(c, True)
        found = _anisotropy_cell(ctx, c)
        if isinstance(found, str):
            out.append(Outcome(subject, not_applicable=found))
            continue
        row, aniso, res = found
        boot = np.asarray(res["bootstrap"], dtype=float)
        lo, hi = np.subtract(percentile_ci(boot, level), aniso)
        out.append(Outcome(subject, Estimate(
            value=row["mean_cosine"] - aniso, ci_low=float(lo), ci_high=float(hi), n=len(res["emotions"]),
            unit_of_analysis="emotions (vectors from resampled stimuli)", unit="cosine",
            ci_method=f"bootstrap over stimuli within emotion ({boot.size} draws, percentile, {level:.0%})",
            detail=f"mean cosine {row['mean_cosine']:.3f}, anisotropy {aniso:.3f}")))
    return out


def _layer_bootstrap(ctx: FindingsContext, c: CellSpec) -> tuple[np.ndarray, np.ndarray, int] | str:
    """(observed mean cosine per layer [L] from the separation CSV, bootstrap draws [n_boot, L]
    from the resampling record, the stimuli behind them), or the reason they are unavailable."""
    res = read_json_artefact(ctx.separation_dir / f"{c.cell}.resampling.json", RESAMPLING_RECORD)
    if not res["bootstrap_by_layer"]:
        return "the resampling record has no per-layer bootstrap (zero draws)"
    observed = separation_table(ctx, c)["mean_cosine"].to_numpy(dtype=float)
    return observed, np.asarray(res["bootstrap_by_layer"], dtype=float), n_stimuli(res)


def n_stimuli(res: Mapping[str, Any], emotions: Sequence[str] | None = None) -> int:
    """Stimuli behind a resampling record (its ``n_per_emotion``), of ``emotions`` or of all."""
    per = res["n_per_emotion"]
    return int(sum(per[e] for e in (emotions if emotions is not None else per)))


@register_statistic("middle_minus_depth")
def middle_minus_depth(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per separation cell: mean pairwise cosine at the reported (middle) layer minus at the layer
    at relative depth ``args.depth`` (layer = round(depth (L - 1))); negative = the middle separates
    better. CI: the difference draw by draw over the stimulus-level bootstrap at every layer
    (stimuli resampled within emotion; the same draws at both layers), percentile."""
    from emovec.geometry.rsa_study import layer_at_depth

    depth, level = float(args["depth"]), float(args.get("level", 0.95))
    out = []
    for c in ctx.paper.separation.cells:
        subject = cell_subject(c, True)
        data = _layer_bootstrap(ctx, c)
        if isinstance(data, str):
            out.append(Outcome(subject, not_applicable=data))
            continue
        observed, boot, n = data
        mid, other = c.layer, layer_at_depth(c.n_layers, depth)
        diff = boot[:, mid] - boot[:, other]
        lo, hi = percentile_ci(diff, level)
        out.append(Outcome(subject, Estimate(
            value=float(observed[mid] - observed[other]), ci_low=float(lo), ci_high=float(hi), n=n,
            unit_of_analysis="stimuli (resampled within emotion)", unit="mean cosine",
            ci_method=f"percentile bootstrap, paired across layers ({boot.shape[0]} draws, {level:.0%})",
            detail=f"layer {mid} ({observed[mid]:.3f}) vs layer {other} ({observed[other]:.3f}) of {c.n_layers}")))
    return out


@register_statistic("best_layer_depth")
def best_layer_depth(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per separation cell: relative depth layer / (L - 1) of the layer with the lowest mean
    pairwise cosine (the best separation); CI: percentile of the same over the stimulus-level
    bootstrap at every layer."""
    level = float(args.get("level", 0.95))
    out = []
    for c in ctx.paper.separation.cells:
        subject = cell_subject(c, True)
        data = _layer_bootstrap(ctx, c)
        if isinstance(data, str):
            out.append(Outcome(subject, not_applicable=data))
            continue
        observed, boot, n = data
        last = c.n_layers - 1
        best = np.argmin(boot, axis=1) / last
        lo, hi = percentile_ci(best, level)
        out.append(Outcome(subject, Estimate(
            value=float(np.argmin(observed) / last), ci_low=float(lo), ci_high=float(hi), n=n,
            unit_of_analysis="stimuli (resampled within emotion)", unit="relative depth (0 first, 1 last)",
            ci_method=f"percentile bootstrap of the argmin layer ({boot.shape[0]} draws, {level:.0%})",
            detail=f"best layer {int(np.argmin(observed))} of {c.n_layers}")))
    return out


@register_statistic("opposite_pair_cosine")
def opposite_pair_cosine(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per separation cell and opposite pair (Jeong §4.5: happy-sad, calm-desperate, loving-hostile,
    proud-guilty; ``args.pairs`` to choose): the cosine of the pair's two emotion vectors at the
    reported layer (the CSV's ``cos_<a>-<b>``), CI: percentile over the stimulus-level bootstrap
    (stimuli resampled within emotion; the resampling record's ``pair_bootstrap``, the same draws as
    its ``bootstrap``)."""
    from emovec.emotions import OPPOSITE_PAIRS

    pairs = [str(p) for p in args.get("pairs", [f"{a}-{b}" for a, b in OPPOSITE_PAIRS])]
    level = float(args.get("level", 0.95))
    out = []
    for c in ctx.paper.separation.cells:
        base = cell_subject(c, True)
        row = separation_table(ctx, c).iloc[c.layer]
        res = read_json_artefact(ctx.separation_dir / f"{c.cell}.resampling.json", RESAMPLING_RECORD)
        for pair in pairs:
            subject = dataclasses.replace(base, label=f"{base.label}: {pair}")
            draws = res["pair_bootstrap"].get(pair)
            if draws is None:
                out.append(Outcome(subject, not_applicable=f"the resampling record has no pair {pair!r}"))
                continue
            boot = np.asarray(draws, dtype=float)
            lo, hi = percentile_ci(boot, level)
            out.append(Outcome(subject, Estimate(
                value=float(row[f"cos_{pair}"]), ci_low=float(lo), ci_high=float(hi),
                n=n_stimuli(res, pair.split("-")),
                unit_of_analysis="stimuli of the pair's two emotions (resampled within emotion)", unit="cosine",
                ci_method=f"percentile bootstrap over stimuli within emotion ({boot.size} draws, {level:.0%})",
                detail=f"layer {c.layer} of {c.n_layers}")))
    return out


def _anisotropy_pooling(pooling: str) -> str:
    """The anisotropy sentences have no generated part: under mid_generation they are pooled at
    their last token (emovec.activations.cache.cell_activations)."""
    return "last_token" if pooling == "mid_generation" else pooling


@register_statistic("anisotropy_baseline")
def anisotropy_baseline_stat(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per separation cell: the anisotropy baseline at the reported layer (the CSV's ``anisotropy``:
    mean cosine over pairs of distinct neutral factual sentences' raw pooled activations,
    :func:`emovec.geometry.separation.anisotropy_baseline`); CI: percentile over the sentences
    resampled with replacement (the resampling record's ``anisotropy_bootstrap``; a sentence is
    never paired with its own copy). A draw of one sentence only (no pair) is dropped and counted
    in ``detail``."""
    level = float(args.get("level", 0.95))
    out = []
    for c in ctx.paper.separation.cells:
        subject = cell_subject(c, True)
        found = _anisotropy_cell(ctx, c)
        if isinstance(found, str):
            out.append(Outcome(subject, not_applicable=found))
            continue
        row, aniso, res = found
        if not res["anisotropy_bootstrap"]:
            out.append(Outcome(subject, not_applicable="the resampling record has no anisotropy bootstrap "
                                                       "(the cell has no anisotropy sentences)"))
            continue
        boot = np.asarray(res["anisotropy_bootstrap"], dtype=float)
        kept = boot[np.isfinite(boot)]
        lo, hi = percentile_ci(kept, level)
        dropped = f"; {boot.size - kept.size} single-sentence draw(s) dropped" if kept.size < boot.size else ""
        out.append(Outcome(subject, Estimate(
            value=float(aniso), ci_low=float(lo), ci_high=float(hi), n=int(res["n_anisotropy"]),
            unit_of_analysis="neutral sentences (resampled)", unit="cosine",
            ci_method=f"percentile bootstrap over sentences ({kept.size} draws, {level:.0%})",
            detail=f"{res['n_anisotropy']} sentences at layer {c.layer} of {c.n_layers}, pooled at "
                   f"{_anisotropy_pooling(c.pooling)}{dropped}")))
    return out
