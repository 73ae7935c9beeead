"""The statistics the findings ledger (``paper/findings.yaml``) tests the papers' general claims
with, one registered function each, read from tracked outputs only.

A statistic is ``fn(ctx, args) -> list[Outcome]``: one outcome per subject it applies to (a model,
a model's cell, or a pair of models), each an :class:`Estimate` (value, CI, n, unit of analysis)
or a reason it cannot be computed. Which subjects a claim applies to (e.g. only instruct models)
is the ledger's business (:mod:`emovec.paper.findings`); a statistic reports every subject the
run has.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emovec.errors import EmovecInputError
from emovec.registry import Registry

__all__ = ["FINDING_STATISTICS", "Estimate", "FindingsContext", "Outcome", "Subject"]


@dataclass(frozen=True)
class Subject:
    """What one outcome is about: ``models`` (one, or two for a comparison between models) with
    their family and variant, and a ``label`` for tables (``model``, ``model / corpus``, ``a x b``)."""

    label: str
    models: tuple[str, ...]
    families: tuple[str, ...]
    variants: tuple[str, ...]


@dataclass(frozen=True)
class Estimate:
    """A statistic with its CI: ``value`` in ``unit``; [ci_low, ci_high] by ``ci_method``; ``n``
    units of analysis (``unit_of_analysis``); ``detail``: anything a reader needs beside it."""

    value: float
    ci_low: float
    ci_high: float
    n: int
    unit_of_analysis: str
    ci_method: str
    unit: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Outcome:
    """One subject's result: an ``estimate``, or ``not_applicable`` saying why there is none."""

    subject: Subject
    estimate: Estimate | None = None
    not_applicable: str = ""


@dataclass(frozen=True)
class FindingsContext:
    """Where the tracked outputs are, and the composed paper config (``paper.yaml`` as a dict)."""

    paper_config: Mapping[str, Any]
    separation_dir: Path
    analyses_dir: Path
    valence_dir: Path
    rsa_rows: Sequence[Mapping[str, Any]] = field(default_factory=tuple)


StatisticFn = Callable[[FindingsContext, Mapping[str, Any]], list[Outcome]]
FINDING_STATISTICS: Registry[StatisticFn] = Registry("finding statistic")
register_statistic = FINDING_STATISTICS.register


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise EmovecInputError(f"{path} is missing: run the stage that writes it (dvc repro)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EmovecInputError(f"{path}: not valid JSON ({exc})") from None


def _cell_subject(c: Mapping[str, Any], with_corpus: bool) -> Subject:
    label = f"{c['model']} / {c['corpus']}" if with_corpus else str(c["model"])
    return Subject(label=label, models=(c["model"],), families=(c["family"],), variants=(c["variant"],))


def _number_or_text(value: str) -> float | str:
    try:
        return float(value)
    except ValueError:
        return value  # labels, booleans and empty cells stay text


def _reported_row(path: Path, layer: int) -> dict[str, float | str]:
    """The separation CSV's row of ``layer``, numbers parsed (an empty cell stays "")."""
    import csv

    if not path.is_file():
        raise EmovecInputError(f"{path} is missing: run the separation stage of that cell")
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if int(row["layer"]) == layer:
                return {k: _number_or_text(v) for k, v in row.items()}
    raise EmovecInputError(f"{path}: no row for the reported layer {layer}")


# ---------------------------------------------------------------------------------- separation


@register_statistic("gen_minus_comp")
def gen_minus_comp(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per model: generation minus comprehension mean pairwise cosine at the reported layer
    (negative = generation separates better), per-emotion paired, bootstrap CI over stimuli within
    emotion (the analyses stage's ``gen_vs_comp``). With ``null_referenced: true`` each method's
    cosine is first referenced to its own shuffled-label null mean (cosine minus null mean), so the
    difference is what generation gains beyond its null; the null means come from 999+ label
    permutations and are treated as fixed (their Monte Carlo error is ~1e-3)."""
    cells = {(c["model"], c["method"]): c for c in ctx.paper_config.get("cells", [])}
    models = list(dict.fromkeys(m for m, _ in cells))
    node = _read_json(ctx.analyses_dir / "gen_vs_comp.json")["result"]
    comps = {c["model"]: c for c in node["comparisons"]}
    out: list[Outcome] = []
    for m in models:
        subject = _cell_subject(cells.get((m, "generation")) or cells[(m, "comprehension")], False)
        if (m, "generation") not in cells or (m, "comprehension") not in cells or m not in comps:
            missing = [k for k in ("generation", "comprehension") if (m, k) not in cells]
            out.append(Outcome(subject, not_applicable=f"needs both a generation and a comprehension cell; "
                                                       f"{m} has no {' or '.join(missing) or 'gen_vs_comp entry'} cell"))
            continue
        c = comps[m]
        shift = 0.0
        detail = f"raw: {c['diff']:+.3f}"
        if args.get("null_referenced"):
            g, k = cells[(m, "generation")], cells[(m, "comprehension")]
            null_g = _reported_row(ctx.separation_dir / f"{g['cell']}.csv", int(g["layer"]))["null_mean"]
            null_c = _reported_row(ctx.separation_dir / f"{k['cell']}.csv", int(k["layer"]))["null_mean"]
            shift = -(null_g - null_c)
            detail = f"raw {c['diff']:+.3f}; null means gen {null_g:.3f}, comp {null_c:.3f}"
        out.append(Outcome(subject, Estimate(
            value=c["diff"] + shift, ci_low=c["diff_ci"][0] + shift, ci_high=c["diff_ci"][1] + shift,
            n=int(c["n_emotions"]), unit_of_analysis="emotions (paired)", unit="mean cosine",
            ci_method=f"bootstrap over stimuli within emotion ({c['n_boot']} draws, {node['level']:.0%})",
            detail=detail)))
    return out


@register_statistic("cosine_minus_anisotropy")
def cosine_minus_anisotropy(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per cell: mean pairwise cosine of the emotion vectors minus the anisotropy baseline (mean
    cosine of unrelated sentences' activations) at the reported layer; negative = the vectors are
    less alike than arbitrary activations. CI: the cell's bootstrap replicates of the mean cosine
    (stimuli resampled within emotion) minus the baseline, which is treated as fixed."""
    level = float(args.get("level", 0.95))
    out = []
    for c in ctx.paper_config.get("cells", []):
        subject = _cell_subject(c, True)
        row = _reported_row(ctx.separation_dir / f"{c['cell']}.csv", int(c["layer"]))
        aniso = row.get("anisotropy")
        if not isinstance(aniso, float) or not np.isfinite(aniso):
            out.append(Outcome(subject, not_applicable="the cell has no anisotropy sentences"))
            continue
        res = _read_json(ctx.separation_dir / f"{c['cell']}.resampling.json")
        boot = np.asarray(res["bootstrap"], dtype=float)
        lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2]) - aniso
        out.append(Outcome(subject, Estimate(
            value=row["mean_cosine"] - aniso, ci_low=float(lo), ci_high=float(hi), n=len(res["emotions"]),
            unit_of_analysis="emotions (vectors from resampled stimuli)", unit="cosine",
            ci_method=f"bootstrap over stimuli within emotion ({boot.size} draws, percentile, {level:.0%})",
            detail=f"mean cosine {row['mean_cosine']:.3f}, anisotropy {aniso:.3f}")))
    return out


# ---------------------------------------------------------------------------------- valence


@register_statistic("affect_peak_r")
def affect_peak_r(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per valence cell: Pearson r of the target's PC (PC1 valence, PC2 arousal) with the human
    ratings at the layer of peak |r|, with its bootstrap CI over emotions (PCA refitted per
    resample, aligned) and the max-statistic p over layers (``args.target``)."""
    target = str(args.get("target", "valence"))
    if target not in ("valence", "arousal"):
        raise EmovecInputError(f"affect_peak_r: target must be valence or arousal; got {target!r}")
    out = []
    for c in ctx.paper_config.get("valence_cells", []):
        subject = _cell_subject(c, True)
        summary = _read_json(ctx.valence_dir / c["cell"] / "summary.json")
        peak = summary["peaks"][target]
        out.append(Outcome(subject, Estimate(
            value=float(peak["r"]), ci_low=float(peak["r_ci_low"]), ci_high=float(peak["r_ci_high"]),
            n=int(summary["n_emotions"]), unit_of_analysis="emotions", unit="Pearson r",
            ci_method=f"bootstrap over emotions, PCA refitted ({summary['n_boot']} draws, {summary['ci_level']:.0%})",
            detail=f"layer {peak['layer']} of {c['n_layers']}; max-statistic p {peak['p_max']:.3g}")))
    return out


# ---------------------------------------------------------------------------------- cross-model


@register_statistic("rsa_rho")
def rsa_rho(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per model pair of a corpus (``args.kind``: cross_model or base_instruct; ``args.depth``,
    default the reported layers): Spearman rho of the two models' emotion cosine matrices, bootstrap
    CI over emotions, one-sided Mantel p (:mod:`emovec.geometry.rsa_study`)."""
    kind, depth = str(args.get("kind", "cross_model")), str(args.get("depth", "reported"))
    cells = ctx.paper_config.get("cells", [])
    info = {m["model"]: m for m in cells}
    method = {c["corpus"]: c["method"] for c in cells}
    out = []
    for r in ctx.rsa_rows:
        if r["kind"] != kind or r["depth"] != depth:
            continue
        a, b = info[r["model_a"]], info[r["model_b"]]
        subject = Subject(label=f"{r['model_a']} x {r['model_b']} / {r['corpus']}", models=(a["model"], b["model"]),
                          families=(a["family"], b["family"]), variants=(a["variant"], b["variant"]))
        # Generation stimuli are written by each model itself: the two geometries come from different texts.
        own_text = "; each model read its own generated stimuli" if method.get(r["corpus"]) == "generation" else ""
        out.append(Outcome(subject, Estimate(
            value=float(r["rho"]), ci_low=float(r["ci_low"]), ci_high=float(r["ci_high"]), n=int(r["n_emotions"]),
            unit_of_analysis=f"emotions ({r['n_pairs']} cosines per matrix, not independent)", unit="Spearman rho",
            ci_method=f"bootstrap over emotions ({r['n_boot_valid']} draws, percentile, {float(r['level']):.0%})",
            detail=f"layers {r['layer_a']}/{r['layer_b']}; Mantel p {float(r['p_mantel']):.3g} "
                   f"({r['n_perm']} relabellings){own_text}")))
    if not out:
        models = ", ".join(f"{m} ({c['family']} {c['variant']})" for m, c in info.items())
        need = "a base and an instruct model of one family" if kind == "base_instruct" else "two models on one corpus"
        out.append(Outcome(Subject("(run)", (), (), ()), not_applicable=f"needs {need}; the selection has {models}"))
    return out


# ---------------------------------------------------------------------------------- steering


@register_statistic("steering_minus_random")
def steering_minus_random(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per steered model: how much more the emotion vector moves the target-emotion projection
    than a random direction of matched norm, at the protocol strength. Per scenario s:
    direction_s x (emotion delta_s - random delta_s) (deltas from the analyses stage's
    ``protocol_deltas``: means over samples, and over random directions; direction -1 scenarios
    steer away, so the sign makes "toward the target" positive). Statistic: the mean over
    scenarios; CI: percentile bootstrap over scenarios (``args.n_boot``, default 2000, seed
    ``args.seed``, default 0)."""
    n_boot, seed, level = int(args.get("n_boot", 2000)), int(args.get("seed", 0)), float(args.get("level", 0.95))
    steering = ctx.paper_config.get("steering") or {}
    models = steering.get("models") or []
    if not models:
        return []
    node = _read_json(ctx.analyses_dir / "protocol_deltas.json")["result"]
    per_model = {m["model"]: m["rows"] for m in node["per_model"]}
    out = []
    for m in models:
        subject = Subject(label=str(m["model"]), models=(m["model"],), families=(m["family"],), variants=(m["variant"],))
        rows = [r for r in per_model.get(m["model"], [])
                if np.isfinite(r["emotion_delta"]) and np.isfinite(r["random_delta"])]
        if len(rows) < 2:
            out.append(Outcome(subject, not_applicable=f"{len(rows)} scenario(s) with both deltas; need 2 or more"))
            continue
        d = np.array([r["direction"] * (r["emotion_delta"] - r["random_delta"]) for r in rows], dtype=float)
        rng = np.random.default_rng(seed)
        boot = d[rng.integers(0, d.size, size=(n_boot, d.size))].mean(axis=1)
        lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
        out.append(Outcome(subject, Estimate(
            value=float(d.mean()), ci_low=float(lo), ci_high=float(hi), n=int(d.size),
            unit_of_analysis="scenarios (paired: vector vs random at one strength)",
            unit="projection change toward the target (activation units)",
            ci_method=f"percentile bootstrap over scenarios ({n_boot} draws, {level:.0%})",
            detail=f"scenarios positive: {int((d > 0).sum())} of {d.size}")))
    return out


def _layer_bootstrap(ctx: FindingsContext, c: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray] | str:
    """(observed mean cosine per layer [L] from the separation CSV, bootstrap draws [n_boot, L]
    from the resampling record), or the reason they are unavailable."""
    import csv

    res = _read_json(ctx.separation_dir / f"{c['cell']}.resampling.json")
    if "bootstrap_by_layer" not in res:
        return "the resampling record has no per-layer bootstrap (written by an older separation stage)"
    with open(ctx.separation_dir / f"{c['cell']}.csv", encoding="utf-8", newline="") as fh:
        by_layer = {int(r["layer"]): float(r["mean_cosine"]) for r in csv.DictReader(fh)}
    observed = np.array([by_layer[layer] for layer in range(int(c["n_layers"]))])
    return observed, np.asarray(res["bootstrap_by_layer"], dtype=float)


@register_statistic("middle_minus_depth")
def middle_minus_depth(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per separation cell: mean pairwise cosine at the reported (middle) layer minus at the layer
    at relative depth ``args.depth`` (layer = round(depth (L - 1))); negative = the middle separates
    better. CI: the difference draw by draw over the stimulus-level bootstrap at every layer
    (stimuli resampled within emotion; the same draws at both layers), percentile."""
    from emovec.geometry.rsa_study import layer_at_depth

    depth, level = float(args["depth"]), float(args.get("level", 0.95))
    out = []
    for c in ctx.paper_config.get("cells", []):
        subject = _cell_subject(c, True)
        data = _layer_bootstrap(ctx, c)
        if isinstance(data, str):
            out.append(Outcome(subject, not_applicable=data))
            continue
        observed, boot = data
        mid, other = int(c["layer"]), layer_at_depth(int(c["n_layers"]), depth)
        diff = boot[:, mid] - boot[:, other]
        lo, hi = np.quantile(diff, [(1 - level) / 2, (1 + level) / 2])
        out.append(Outcome(subject, Estimate(
            value=float(observed[mid] - observed[other]), ci_low=float(lo), ci_high=float(hi), n=boot.shape[0],
            unit_of_analysis="stimuli resampled within emotion (n = draws)", unit="mean cosine",
            ci_method=f"percentile bootstrap, paired across layers ({boot.shape[0]} draws, {level:.0%})",
            detail=f"layer {mid} ({observed[mid]:.3f}) vs layer {other} ({observed[other]:.3f}) of {c['n_layers']}")))
    return out


@register_statistic("best_layer_depth")
def best_layer_depth(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per separation cell: relative depth layer / (L - 1) of the layer with the lowest mean
    pairwise cosine (the best separation); CI: percentile of the same over the stimulus-level
    bootstrap at every layer."""
    level = float(args.get("level", 0.95))
    out = []
    for c in ctx.paper_config.get("cells", []):
        subject = _cell_subject(c, True)
        data = _layer_bootstrap(ctx, c)
        if isinstance(data, str):
            out.append(Outcome(subject, not_applicable=data))
            continue
        observed, boot = data
        last = int(c["n_layers"]) - 1
        best = np.argmin(boot, axis=1) / last
        lo, hi = np.quantile(best, [(1 - level) / 2, (1 + level) / 2])
        out.append(Outcome(subject, Estimate(
            value=float(np.argmin(observed) / last), ci_low=float(lo), ci_high=float(hi), n=boot.shape[0],
            unit_of_analysis="stimuli resampled within emotion (n = draws)", unit="relative depth (0 first, 1 last)",
            ci_method=f"percentile bootstrap of the argmin layer ({boot.shape[0]} draws, {level:.0%})",
            detail=f"best layer {int(np.argmin(observed))} of {c['n_layers']}")))
    return out
