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
- ``pair_bootstrap``: the cosine of each opposite pair (Jeong §4.5: happy-sad, calm-desperate,
  loving-hostile, proud-guilty) in the same draws as ``bootstrap_replicates`` (the vectors of
  draw b give both), for a per-pair CI.
- ``anisotropy_bootstrap``: the anisotropy baseline (:func:`~emovec.geometry.separation.anisotropy_baseline`:
  mean cosine over pairs of distinct neutral sentences' raw pooled activations) with the
  sentences resampled with replacement; a pair of a sentence with its own copy is left out, as
  the baseline never pairs a sentence with itself. Its own random stream (seed, 1), so the
  stimulus draws above are untouched.

Cosines are dimensionless in [-1, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from emovec.emotions import NEUTRAL, OPPOSITE_PAIRS
from emovec.errors import EmovecInputError
from emovec.geometry.separation import mean_pairwise_cosine, pair_cosines
from emovec.vectors import compute_emotion_vectors, contrast_vectors_of_rows, validate_inputs

__all__ = ["CellResampling", "anisotropy_bootstrap", "bootstrap_by_layer", "bootstrap_draws", "bootstrap_replicates",
           "bootstrap_with_pairs", "loo_replicates", "per_emotion_cosine", "resample_cell"]

# The anisotropy bootstrap's random stream is np.random.default_rng((seed, _ANISOTROPY_STREAM)),
# independent of the stimulus bootstrap's default_rng(seed).
_ANISOTROPY_STREAM = 1


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


def _grouped_draws(labels: np.ndarray, emotions: Sequence[str], n_boot: int,
                   seed: int) -> list[list[np.ndarray]]:
    """Each draw's stimulus indices, one int array per label group (emotions in order, then
    neutral when present): the draws of :func:`bootstrap_draws` before concatenation."""
    if int(n_boot) < 1:
        raise EmovecInputError(f"n_boot must be >= 1; got {n_boot}")
    labels = np.asarray(labels)
    groups = [np.flatnonzero(labels == e) for e in emotions]
    neutral = np.flatnonzero(labels == NEUTRAL)
    if neutral.size:
        groups.append(neutral)
    rng = np.random.default_rng(seed)
    return [[g[rng.integers(0, g.size, g.size)] for g in groups] for _ in range(int(n_boot))]


def bootstrap_draws(labels: np.ndarray, emotions: Sequence[str], n_boot: int, seed: int) -> list[np.ndarray]:
    """The stimulus indices of each bootstrap draw: n_boot int arrays.

    Draw b resamples, with replacement and within each label (every emotion in order, then
    neutral when present), as many stimuli as the label has; one ``np.random.default_rng(seed)``
    stream serves all draws in order. Every stimulus bootstrap here uses these draws, so a seed
    gives the same resamples to all of them.
    """
    return [np.concatenate(draw) for draw in _grouped_draws(labels, emotions, n_boot, seed)]


def _bootstrap(acts: np.ndarray, labels: np.ndarray, emotions: Sequence[str], baseline: str, n_boot: int, seed: int,
               variance_threshold: float, pairs: Sequence[tuple[str, str]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Mean pairwise cosine [n_boot, n_layers] and each pair's cosine {"a-b": [n_boot, n_layers]} per draw.

    Draw b's vectors are those of ``compute_emotion_vectors(acts[idx], labels[idx], ...)`` with
    ``idx = bootstrap_draws(...)[b]``, computed from the draw's row groups directly
    (:func:`~emovec.vectors.contrast_vectors_of_rows`: same rows, same order, same bits) so
    the inputs are checked and the labels matched once, not n_boot times."""
    if int(n_boot) < 1:
        raise EmovecInputError(f"n_boot must be >= 1; got {n_boot}")
    acts, labels, emotions = validate_inputs(acts, labels, emotions)
    # The full sample once: every error the draws could raise (an emotion without stimuli, a
    # baseline needing neutral stimuli that are missing) is raised here, before any work.
    compute_emotion_vectors(acts, labels, emotions, baseline, False, variance_threshold)
    n_emotions = len(emotions)
    out = np.empty((int(n_boot), acts.shape[1]))
    per_pair = {f"{a}-{b}": np.empty((int(n_boot), acts.shape[1])) for a, b in pairs}
    for b, groups in enumerate(_grouped_draws(labels, emotions, n_boot, seed)):
        neutral_rows = groups[n_emotions] if len(groups) > n_emotions else np.empty(0, dtype=int)
        vectors = contrast_vectors_of_rows(acts, groups[:n_emotions], neutral_rows, baseline, variance_threshold)
        out[b] = mean_pairwise_cosine(vectors)
        for key, values in pair_cosines(vectors, emotions, pairs).items():
            per_pair[key][b] = values
    return out, per_pair


def bootstrap_replicates(acts: np.ndarray, labels: np.ndarray, emotions: Sequence[str], baseline: str,
                         n_boot: int, seed: int, variance_threshold: float = 0.5) -> np.ndarray:
    """Stimulus-level bootstrap of the mean pairwise cosine: float64 [n_boot].

    Each replicate resamples, with replacement and within each label (every emotion, and
    neutral when present), as many stimuli as the label has (:func:`bootstrap_draws`), then
    recomputes the vectors under the same baseline. Deterministic for a seed. ``acts`` is
    [n_stimuli, 1, d] (one layer).
    """
    return bootstrap_with_pairs(acts, labels, emotions, baseline, n_boot, seed, (), variance_threshold)[0]


def bootstrap_with_pairs(acts: np.ndarray, labels: np.ndarray, emotions: Sequence[str], baseline: str, n_boot: int,
                         seed: int, pairs: Sequence[tuple[str, str]] = OPPOSITE_PAIRS,
                         variance_threshold: float = 0.5) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``bootstrap_replicates`` and, from the same vectors of each draw, the cosine of each named
    pair: (float64 [n_boot], {"a-b": float64 [n_boot]} in the order of ``pairs``). ``acts`` is
    [n_stimuli, 1, d] (one layer)."""
    out, per_pair = _bootstrap(acts, labels, emotions, baseline, n_boot, seed, variance_threshold, pairs)
    return out[:, 0], {k: v[:, 0] for k, v in per_pair.items()}


def bootstrap_by_layer(acts: np.ndarray, labels: np.ndarray, emotions: Sequence[str], baseline: str,
                       n_boot: int, seed: int, variance_threshold: float = 0.5) -> np.ndarray:
    """``bootstrap_replicates`` at every layer: float64 [n_boot, n_layers].

    ``acts`` is [n_stimuli, n_layers, d]; draw b resamples the same stimuli at every layer (the
    draws of ``bootstrap_replicates`` with the same seed), so column ``l`` equals
    ``bootstrap_replicates(acts[:, l:l+1], ...)`` up to float rounding (the layers are reduced
    together) and two columns are paired draw by draw.
    """
    return _bootstrap(acts, labels, emotions, baseline, n_boot, seed, variance_threshold, ())[0]


def anisotropy_bootstrap(acts: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Bootstrap of the anisotropy baseline over sentences at one layer: float64 [n_boot].

    ``acts``: [n_sentences, d] raw pooled activations of the neutral sentences (n >= 2). The
    baseline is the mean cosine over pairs of distinct sentences
    (:func:`~emovec.geometry.separation.anisotropy_baseline`). Draw b resamples n sentences with
    replacement and takes the mean cosine over the pairs of resampled positions that hold two
    different sentences (a sentence and its own copy are not a pair of the baseline; counting
    them, at cosine 1, would bias every draw upward by about 1/n of the headroom). With every
    sentence drawn once this is the baseline itself. A draw of one sentence n times has no pair
    and is NaN. Random stream: ``np.random.default_rng((seed, 1))``.
    """
    a = np.asarray(acts, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < 2:
        raise EmovecInputError(f"anisotropy acts must have shape [n >= 2, d]; got {a.shape}")
    if int(n_boot) < 1:
        raise EmovecInputError(f"n_boot must be >= 1; got {n_boot}")
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    if (norms == 0).any():
        raise EmovecInputError(f"anisotropy sentence {int(np.flatnonzero(norms[:, 0] == 0)[0])} has zero norm")
    u = a / norms
    sim = u @ u.T
    n = a.shape[0]
    rng = np.random.default_rng((int(seed), _ANISOTROPY_STREAM))
    idx = rng.integers(0, n, size=(int(n_boot), n))
    counts = np.zeros((int(n_boot), n))
    np.add.at(counts, (np.arange(int(n_boot))[:, None], idx), 1.0)
    # sum over ordered pairs of positions (p != q) holding different sentences i != j: c_i c_j S_ij
    num = np.einsum("bi,ij,bj->b", counts, sim, counts) - (counts**2 * np.diag(sim)).sum(axis=1)
    den = counts.sum(axis=1) ** 2 - (counts**2).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


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
        pair_bootstrap: {"a-b": [n_boot]} each opposite pair's cosine in the draws of ``bootstrap``.
        anisotropy_bootstrap: the anisotropy baseline at ``layer`` over resampled sentences
            (:func:`anisotropy_bootstrap`, seed ``seed``); n_anisotropy the sentences (both empty /
            0 without anisotropy sentences).
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
    pair_bootstrap: dict[str, list[float]] = field(default_factory=dict)
    anisotropy_bootstrap: list[float] = field(default_factory=list)
    n_anisotropy: int = 0


def resample_cell(acts: np.ndarray, labels: np.ndarray, emotions: Sequence[str], layer: int, baseline: str,
                  n_boot: int, seed: int, variance_threshold: float = 0.5,
                  anisotropy_acts: np.ndarray | None = None,
                  pairs: Sequence[tuple[str, str]] | None = None) -> CellResampling:
    """Everything above for one cell at ``layer``; acts is [n_stimuli, n_layers, d], anisotropy_acts
    (the neutral sentences, or None) [n_sentences, n_layers, d]; ``pairs`` None: the opposite pairs
    (``OPPOSITE_PAIRS``) whose two emotions are both in ``emotions``."""
    if pairs is None:
        pairs = tuple((a, b) for a, b in OPPOSITE_PAIRS if a in emotions and b in emotions)
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
    boot, per_pair = bootstrap_with_pairs(at, labels, emotions, baseline, n_boot, seed, pairs, variance_threshold)
    # The same draws at every layer; its reported-layer column equals ``boot`` up to float
    # rounding (1 ulp: the layers are reduced together), so ``boot`` itself stays as it was.
    by_layer = bootstrap_by_layer(acts.astype(np.float64), labels, emotions, baseline, n_boot, seed,
                                  variance_threshold)
    aniso_boot = np.array([])
    if anisotropy_acts is not None:
        anisotropy_acts = np.asarray(anisotropy_acts)
        if anisotropy_acts.ndim != 3 or anisotropy_acts.shape[1:] != acts.shape[1:]:
            raise EmovecInputError(f"anisotropy_acts must have shape [n, {acts.shape[1]}, {acts.shape[2]}]; "
                                   f"got {anisotropy_acts.shape}")
        aniso_boot = anisotropy_bootstrap(anisotropy_acts[:, layer, :], n_boot, seed)
    return CellResampling(layer=int(layer), mean_cosine=float(mean_pairwise_cosine(ev.vectors)[0]),
                          emotions=list(ev.emotions), per_emotion=[float(x) for x in per],
                          loo=[float(x) for x in loo], n_loo=int(n_loo),
                          n_per_emotion={e: int(ev.n_per_emotion[e]) for e in ev.emotions},
                          bootstrap=[float(x) for x in boot], seed=int(seed), baseline=baseline,
                          bootstrap_by_layer=[[float(x) for x in row] for row in by_layer],
                          pair_bootstrap={k: [float(x) for x in v] for k, v in per_pair.items()},
                          anisotropy_bootstrap=[float(x) for x in aniso_boot],
                          n_anisotropy=0 if anisotropy_acts is None else int(anisotropy_acts.shape[0]))
