"""valence/arousal geometry of one (model, story corpus) cell at every layer.

Contrast vectors (per-emotion mean of the mean-from-offset pooled stories, minus the mean across
emotions, optionally with the top-k neutral PCs projected out) -> PCA across emotions per layer
-> PC1 vs valence and PC2 vs arousal, with bootstrap CIs, permutation p-values, BH-FDR over
layers and a max-statistic p for the peak (``emovec.geometry.affect``). The norms come from the
configured source, rescaled to [-1, 1]; the per-emotion record of what was used is written too.

Outputs (one directory, written atomically): ``layers.csv`` (one row per layer), ``summary.json``
(settings, counts and the peaks), ``scores.npz`` (PC scores per layer + ratings), ``norms.csv``
(per emotion: value used, source, fallback) and ``grams.npz`` (centred Gram matrices of the
contrast vectors per layer, [n_layers, n_emotions, n_emotions]: all that linear CKA needs) and
``bootstrap.npz`` (the bootstrap over emotions draw by draw, refits matched to the full-sample PCs
by order and sign: ``r`` [n_boot, n_layers, 2], Pearson r of PC1-valence and PC2-arousal per
resample and layer, NaN where invalid; ``R`` [n_boot, n_layers, 2], the rotation-invariant multiple
correlation of valence and of arousal on PC1 and PC2 together; ``swapped`` [n_boot, n_layers];
``boot_idx`` [n_boot, n_emotions], the resampled rows of ``emotions``; ``emotions``; ``targets``;
and, with ``valence.compare_baseline``, ``compare_r`` and ``compare_R``, the same under that
baseline on the same resamples): what a per-draw peak layer and a draw-by-draw paired comparison
of two cells, or of the two baselines, need.

With ``valence.compare_baseline`` (default ``neutral_pca``: the top neutral PCs reaching
``vectors.variance_threshold`` of their variance projected out, as the paper describes) the whole
analysis runs once more under that baseline: ``compare_layers.csv`` (the same columns) and
``summary.json``'s ``compare`` (baseline, k removed per layer, peaks). Which variant produced the
paper's numbers is not known from the authors' repository (issue 26), so both are reported.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import OmegaConf

from emovec.activations.cache import read_cache
from emovec.artefacts.declarations import VALENCE_LAYERS, VALENCE_NORMS, VALENCE_SUMMARY, csv_text, json_text
from emovec.config.schema import ValenceConfig, VectorsConfig, as_dataclass
from emovec.corpora.emotion_sets import emotion_set
from emovec.corpora.norm_resolution import resolve_norms
from emovec.corpora.upstream_files import verify_upstream_file
from emovec.emotions import NEUTRAL
from emovec.errors import EmovecInputError
from emovec.geometry.affect import AffectResult, affect_by_layer
from emovec.geometry.affect_layer import TARGETS
from emovec.io import atomic_path
from emovec.paths import REPO_ROOT
from emovec.progress import progress_enabled
from emovec.stats.cka import centred_gram
from emovec.vectors import compute_emotion_vectors


def usable_stories(cache_dir: str | Path, pooling: str, mean_offset: int,
                   emotions: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """(acts [n, L, d], labels [n], pooled-token counts [n], stories excluded per label).

    A story with no token at rank >= mean_offset has nothing to average (NaN in the cache): it is
    left out and counted, never silently averaged as zero."""
    pooled, meta = read_cache(cache_dir)
    if pooling not in pooled:
        raise EmovecInputError(f"{cache_dir}: pooling {pooling!r} not in the cache (has {sorted(pooled)})")
    acts = pooled[pooling]
    labels = np.array(meta["emotions"])
    n_pooled = np.maximum(np.array(meta["n_tokens"]) - mean_offset, 0)
    ok = ~np.isnan(acts).any(axis=(1, 2))
    excluded: dict[str, int] = {}
    for lab in labels[~ok]:
        excluded[str(lab)] = excluded.get(str(lab), 0) + 1
    empty = [e for e in emotions if not (ok & (labels == e)).any()]
    if empty:
        raise EmovecInputError(f"{cache_dir}: no story of emotion(s) {empty[:5]} is longer than "
                               f"mean_offset={mean_offset} tokens; lower the corpus's mean_offset")
    return acts[ok], labels[ok], n_pooled[ok], excluded


def centred_grams(vectors: np.ndarray) -> np.ndarray:
    """Gram matrices of the contrast vectors [n_emotions, L, d], centred across emotions, per
    layer: [L, n, n] float64 (what linear CKA needs; far smaller than the vectors)."""
    return np.stack([centred_gram(vectors[:, layer, :]) for layer in range(vectors.shape[1])])


def _npz_bytes(**arrays: Any) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def run_valence(config: str | Path, activations: str | Path, out: str | Path) -> None:
    """The valence stage (see the module docstring): inputs and output as the stage's flags name them."""
    raw = OmegaConf.load(config)
    vc: VectorsConfig = as_dataclass(raw.vectors, VectorsConfig, str(config))
    va: ValenceConfig = as_dataclass(raw.valence, ValenceConfig, str(config))
    for rel, sha in (raw.norms_sha256 or {}).items():
        verify_upstream_file(REPO_ROOT / rel, sha)
    emotions = emotion_set(raw.emotion_set)

    # 1. Norms first: a missing emotion is an error (or a recorded fallback/exclusion) before any work.
    norms = resolve_norms(emotions, va.norms, fallback=va.norms_fallback, on_missing=va.on_missing,
                          data_root=REPO_ROOT / "data")
    kept = norms[norms["status"] != "excluded"]
    kept_emotions = tuple(kept["emotion"])

    # 2. Contrast vectors at every layer from the stories that have tokens past the offset.
    acts, labels, n_pooled, excluded = usable_stories(activations, raw.pooling, int(raw.mean_offset), kept_emotions)
    weights = n_pooled.astype(np.float64) if va.weighting == "token" else None
    ev = compute_emotion_vectors(acts, labels, kept_emotions, vc.baseline, vc.normalise, vc.variance_threshold,
                                 weights=weights)

    # 3. PCA across emotions vs the norms, with the referee's statistics (and once more under the
    #    comparison baseline, on the same resamples and permutations: the same seed).
    def analyse(vectors: np.ndarray) -> AffectResult:
        return affect_by_layer(vectors, kept_emotions, kept["valence"].to_numpy(float),
                               kept["arousal"].to_numpy(float), n_boot=va.n_boot, n_perm=va.n_perm, seed=va.seed,
                               orientation=va.orientation, anchors=tuple(va.anchors), ci_level=va.ci_level,
                               pc_matching=va.pc_matching, max_swap_rate=va.max_swap_rate,
                               progress=progress_enabled())

    res = analyse(ev.vectors)
    compare = None
    if va.compare_baseline and va.compare_baseline != vc.baseline:
        cev = compute_emotion_vectors(acts, labels, kept_emotions, va.compare_baseline, vc.normalise,
                                      vc.variance_threshold, weights=weights)
        compare = (cev, analyse(cev.vectors))
    summary = {
        "cell": raw.cell, "model": raw.model, "corpus": raw.corpus, "generator": raw.generator,
        "norms": va.norms, "norms_fallback": va.norms_fallback, "on_missing": va.on_missing,
        "emotion_set": raw.emotion_set, "n_emotions": len(kept_emotions), "n_layers": ev.n_layers,
        "pooling": raw.pooling, "mean_offset": int(raw.mean_offset), "baseline": ev.baseline,
        "weighting": va.weighting, "normalise": ev.normalised, "n_stories": ev.n_per_emotion,
        "n_neutral": ev.n_neutral, "n_excluded_short": int(sum(excluded.values())),
        "excluded_short_by_label": excluded,
        "removed_k": ev.removed_k.tolist() if ev.removed_k is not None else None,
        **res.to_summary(),
        "compare": None if compare is None else {
            "baseline": compare[0].baseline, "variance_threshold": vc.variance_threshold,
            "removed_k": compare[0].removed_k.tolist() if compare[0].removed_k is not None else None,
            "peaks": compare[1].to_summary()["peaks"]},
    }
    layers_text = csv_text(res.layers.to_dict("records"), VALENCE_LAYERS.names, VALENCE_LAYERS.float_format,
                           f"{out}/layers.csv")
    compare_text = None if compare is None else csv_text(
        compare[1].layers.to_dict("records"), VALENCE_LAYERS.names, VALENCE_LAYERS.float_format,
        f"{out}/compare_layers.csv")
    summary_text = json_text(summary, VALENCE_SUMMARY, f"{out}/summary.json")
    norms_text = csv_text(norms.to_dict("records"), VALENCE_NORMS.names, VALENCE_NORMS.float_format,
                          f"{out}/norms.csv")
    with atomic_path(out) as tmp:
        tmp.mkdir()
        (tmp / "layers.csv").write_text(layers_text, encoding="utf-8")
        if compare_text is not None:
            (tmp / "compare_layers.csv").write_text(compare_text, encoding="utf-8")
        (tmp / "norms.csv").write_text(norms_text, encoding="utf-8")
        (tmp / "summary.json").write_text(summary_text, encoding="utf-8")
        (tmp / "scores.npz").write_bytes(_npz_bytes(scores=res.scores, emotions=np.array(kept_emotions),
                                                    valence=kept["valence"].to_numpy(float),
                                                    arousal=kept["arousal"].to_numpy(float)))
        (tmp / "grams.npz").write_bytes(_npz_bytes(grams=centred_grams(ev.vectors), emotions=np.array(kept_emotions)))
        extra = {} if compare is None else {"compare_r": compare[1].boot_r, "compare_R": compare[1].boot_big_r}
        (tmp / "bootstrap.npz").write_bytes(_npz_bytes(r=res.boot_r, R=res.boot_big_r, swapped=res.boot_swapped,
                                                       boot_idx=res.boot_idx, emotions=np.array(kept_emotions),
                                                       targets=np.array([t for t, _ in TARGETS]), **extra))
    pv, pa = summary["peaks"]["valence"], summary["peaks"]["arousal"]
    print(f"valence {raw.cell}: PC1-valence r={pv['r']:.3f} [{pv['r_ci_low']:.3f}, {pv['r_ci_high']:.3f}] at layer "
          f"{pv['layer']} (p_max {pv['p_max']:.3g}; swap rate {pv['swap_rate']:.3f}; R {pv['R']:.3f} "
          f"[{pv['R_ci_low']:.3f}, {pv['R_ci_high']:.3f}]); PC2-arousal r={pa['r']:.3f} at layer {pa['layer']} "
          f"({len(kept_emotions)} emotions, {NEUTRAL}: {ev.n_neutral})")
