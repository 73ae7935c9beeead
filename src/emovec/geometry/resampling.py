"""Resampling one cell's separation at its reported layer: the raw material of the
generation-vs-comprehension comparison (Jeong 2026 §4.2, and its correction).

Three things are computed per cell, all from the pooled activations at one layer:

- ``loo_replicates``: Jeong's leave-one-out procedure. Replicate k drops the k-th stimulus of
  every emotion and recomputes the mean pairwise cosine. These replicates are NOT independent
  samples: their spread is about SD/(n-1) of the per-stimulus spread, so an effect size on them
  is inflated (n-1)-fold (METHODS trap 2). Kept so the paper's own procedure can be reproduced.
- ``per_emotion_cosine``: each emotion's mean cosine to the other N-1 vectors. Their mean is
  exactly the mean pairwise cosine, and they pair across methods by emotion: the units of the
  corrected comparison.
- ``bootstrap_replicates``: stimuli resampled with replacement within each label (every
  emotion and neutral), vectors recomputed: the stimulus-level sampling distribution of the
  mean pairwise cosine, for a CI of the generation - comprehension difference.
- ``bootstrap_by_layer``: the same resamples (same seed, same draws) at every layer at once,
  so layers are compared draw by draw: the CI of where the best layer lies and of the
  difference between two layers (the U-curve). Its reported-layer column equals
  ``bootstrap_replicates`` up to float rounding.

Cosines are dimensionless in [-1, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emovec.emotions import NEUTRAL
from emovec.errors import EmovecInputError
from emovec.geometry.separation import mean_pairwise_cosine
from emovec.vectors import compute_emotion_vectors, validate_inputs

__all__ = ["CellResampling", "bootstrap_by_layer", "bootstrap_replicates", "loo_replicates", "per_emotion_cosine",
           "resample_cell"]


def per_emotion_cosine(vectors: np.ndarray) -> np.ndarray:
    """Mean cosine of each vector to the other n-1: [n, d] -> [n].

    The mean of the result equals the mean pairwise cosine of the n vectors.
    """
    v = np.asarray(vectors, dtype=np.float64)
    if v.ndim != 2 or v.shape[0] < 2:
        raise EmovecInputError(f"vectors must have shape [n >= 2, d]; got {v.shape}")
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    if (norms == 0).any():
        raise EmovecInputError(f"vector {int(np.flatnonzero(norms[:, 0] == 0)[0])} has zero norm")
    u = v / norms
    sim = u @ u.T
    return (sim.sum(axis=1) - np.diag(sim)) / (v.shape[0] - 1)


def _cosine_of(acts: np.ndarray, labels: np.ndarray, emotions: Sequence[str], baseline: str,
               variance_threshold: float) -> float:
    ev = compute_emotion_vectors(acts, labels, emotions, baseline, False, variance_threshold)
    return float(mean_pairwise_cosine(ev.vectors)[0])


def loo_replicates(acts: np.ndarray, labels: np.ndarray, emotions: Sequence[str], baseline: str,
                   variance_threshold: float = 0.5) -> tuple[np.ndarray, int]:
    """Jeong's leave-one-out replicates of the mean pairwise cosine.

    Replicate k (k = 0 .. n_max-1, n_max the largest emotion's stimulus count) drops the k-th
    stimulus (in file order) of every emotion that has more than k stimuli and more than one;
    neutral stimuli are always kept. With equal counts n per emotion (Jeong: 10 stories, 3
    passages) this is exactly "drop story k from every emotion", n replicates.

    Args:
        acts: [n_stimuli, 1, d] pooled activations at one layer.
        labels: [n_stimuli] emotion names or "neutral".

    Returns:
        (float64 [n_max] replicates, n_max).
    """
    acts, labels, emotions = validate_inputs(acts, labels, emotions)
    rank = np.full(labels.shape[0], -1)
    counts = {}
    for e in emotions:
        idx = np.flatnonzero(labels == e)
        rank[idx] = np.arange(idx.size)
        counts[e] = idx.size
    n_max = max(counts.values())
    if n_max < 2:
        raise EmovecInputError("leave-one-out needs at least one emotion with 2 or more stimuli")
    droppable = np.array([lab in counts and counts[lab] > 1 for lab in labels])
    out = np.empty(n_max)
    for k in range(n_max):
        keep = ~((rank == k) & droppable)
        out[k] = _cosine_of(acts[keep], labels[keep], emotions, baseline, variance_threshold)
    return out, n_max


def bootstrap_replicates(acts: np.ndarray, labels: np.ndarray, emotions: Sequence[str], baseline: str,
                         n_boot: int, seed: int, variance_threshold: float = 0.5) -> np.ndarray:
    """Stimulus-level bootstrap of the mean pairwise cosine: float64 [n_boot].

    Each replicate resamples, with replacement and within each label (every emotion, and
    neutral when present), as many stimuli as the label has, then recomputes the vectors under
    the same baseline. Deterministic for a seed.
    """
    if int(n_boot) < 1:
        raise EmovecInputError(f"n_boot must be >= 1; got {n_boot}")
    acts, labels, emotions = validate_inputs(acts, labels, emotions)
    groups = [np.flatnonzero(labels == e) for e in emotions]
    neutral = np.flatnonzero(labels == NEUTRAL)
    if neutral.size:
        groups.append(neutral)
    rng = np.random.default_rng(seed)
    out = np.empty(int(n_boot))
    for b in range(int(n_boot)):
        idx = np.concatenate([g[rng.integers(0, g.size, g.size)] for g in groups])
        out[b] = _cosine_of(acts[idx], labels[idx], emotions, baseline, variance_threshold)
    return out


def bootstrap_by_layer(acts: np.ndarray, labels: np.ndarray, emotions: Sequence[str], baseline: str,
                       n_boot: int, seed: int, variance_threshold: float = 0.5) -> np.ndarray:
    """``bootstrap_replicates`` at every layer: float64 [n_boot, n_layers].

    ``acts`` is [n_stimuli, n_layers, d]; draw b resamples the same stimuli at every layer (the
    random stream of ``bootstrap_replicates`` with the same seed), so column ``l`` equals
    ``bootstrap_replicates(acts[:, l:l+1], ...)`` up to float rounding (the layers are reduced
    together) and two columns are paired draw by draw.
    """
    if int(n_boot) < 1:
        raise EmovecInputError(f"n_boot must be >= 1; got {n_boot}")
    acts, labels, emotions = validate_inputs(acts, labels, emotions)
    groups = [np.flatnonzero(labels == e) for e in emotions]
    neutral = np.flatnonzero(labels == NEUTRAL)
    if neutral.size:
        groups.append(neutral)
    rng = np.random.default_rng(seed)
    out = np.empty((int(n_boot), acts.shape[1]))
    for b in range(int(n_boot)):
        idx = np.concatenate([g[rng.integers(0, g.size, g.size)] for g in groups])
        ev = compute_emotion_vectors(acts[idx], labels[idx], emotions, baseline, False, variance_threshold)
        out[b] = mean_pairwise_cosine(ev.vectors)
    return out


@dataclass(frozen=True)
class CellResampling:
    """One cell's resampling record at its reported layer (written as JSON by the stage).

    Attributes:
        layer: 0-based block.
        mean_cosine: the observed mean pairwise cosine there.
        emotions, per_emotion: each emotion's mean cosine to the others (same order).
        loo: Jeong's leave-one-out replicates; n_loo their number (0 when every emotion has a
            single stimulus).
        n_per_emotion: stimuli per emotion (after deduplication).
        bootstrap: stimulus-level bootstrap replicates; seed their seed.
        bootstrap_by_layer: the same draws at every layer, [n_boot][n_layers] (row b is draw b).
        baseline: the vectors' baseline.
    """

    layer: int
    mean_cosine: float
    emotions: list[str]
    per_emotion: list[float]
    loo: list[float]
    n_loo: int
    n_per_emotion: dict[str, int]
    bootstrap: list[float]
    seed: int
    baseline: str
    bootstrap_by_layer: list[list[float]]


def resample_cell(acts: np.ndarray, labels: np.ndarray, emotions: Sequence[str], layer: int, baseline: str,
                  n_boot: int, seed: int, variance_threshold: float = 0.5) -> CellResampling:
    """Everything above for one cell at ``layer``; acts is [n_stimuli, n_layers, d]."""
    acts = np.asarray(acts)
    if acts.ndim != 3 or not 0 <= layer < acts.shape[1]:
        raise EmovecInputError(f"layer {layer} is outside the activations' {acts.shape[1] if acts.ndim == 3 else '?'} layers")
    at = acts[:, layer : layer + 1, :].astype(np.float64)
    labels = np.asarray(labels).astype(str)
    ev = compute_emotion_vectors(at, labels, emotions, baseline, False, variance_threshold)
    per = per_emotion_cosine(ev.vectors[:, 0, :])
    # Leave-one-out needs an emotion with 2+ stimuli; a tiny corpus (greedy duplicates removed)
    # may have none, and then the record says so with no replicates rather than failing the stage.
    if max(ev.n_per_emotion.values()) >= 2:
        loo, n_loo = loo_replicates(at, labels, emotions, baseline, variance_threshold)
    else:
        loo, n_loo = np.array([]), 0
    boot = bootstrap_replicates(at, labels, emotions, baseline, n_boot, seed, variance_threshold)
    # The same draws at every layer; its reported-layer column equals ``boot`` up to float
    # rounding (1 ulp: the layers are reduced together), so ``boot`` itself stays as it was.
    by_layer = bootstrap_by_layer(acts.astype(np.float64), labels, emotions, baseline, n_boot, seed,
                                  variance_threshold)
    return CellResampling(layer=int(layer), mean_cosine=float(mean_pairwise_cosine(ev.vectors)[0]),
                          emotions=list(ev.emotions), per_emotion=[float(x) for x in per],
                          loo=[float(x) for x in loo], n_loo=int(n_loo),
                          n_per_emotion={e: int(ev.n_per_emotion[e]) for e in ev.emotions},
                          bootstrap=[float(x) for x in boot], seed=int(seed), baseline=baseline,
                          bootstrap_by_layer=[[float(x) for x in row] for row in by_layer])
