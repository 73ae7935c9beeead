"""Emotion vectors: per-emotion mean activations contrasted against a named baseline.

Input is the pooled activation cache: ``acts`` [n_stimuli, n_layers, d_model] (one pooled
residual-stream vector per stimulus per layer, in the model's activation units), ``labels``
[n_stimuli] (emotion names or ``"neutral"``) and an explicit emotion order.

Every baseline is applied independently at each layer. Baselines live in a registry
(:mod:`emovec.baselines`) so that adding one is one function plus one ``@register_baseline``
decorator; each baseline receives
the per-emotion means with arbitrary leading batch axes, which lets the shuffled-label null
(``emovec.geometry.separation``) push hundreds of permutations through the same code path
as the observed vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emovec.baselines import BASELINES, BaselineContext, BaselineFn
from emovec.emotions import NEUTRAL
from emovec.errors import EmovecInputError

__all__ = [
    "EmotionVectors",
    "compute_emotion_vectors",
    "contrast_vectors_of_rows",
    "emotion_means",
    "resolve_baseline",
    "validate_inputs",
]


@dataclass(frozen=True, eq=False)
class EmotionVectors:
    """One vector per (emotion, layer), with the method choices that produced it.

    Attributes:
        emotions: emotion names, in the order of ``vectors``' first axis.
        vectors: float64 [n_emotions, n_layers, d_model]; activation units, or unit L2 norm
            per (emotion, layer) when ``normalised``.
        baseline: registry name of the baseline subtracted (see ``BASELINES``).
        normalised: whether every (emotion, layer) vector was divided by its L2 norm.
        n_per_emotion: stimuli averaged per emotion (each stimulus counts once).
        removed_k: int [n_layers], principal components of the neutral activations projected
            out at each layer (``neutral_pca`` only; None otherwise).
        n_neutral: neutral stimuli present in the input (used or not by the baseline).
    """

    emotions: tuple[str, ...]
    vectors: np.ndarray
    baseline: str
    normalised: bool
    n_per_emotion: dict[str, int]
    removed_k: np.ndarray | None
    n_neutral: int = 0

    @property
    def n_layers(self) -> int:
        """Number of layers (second axis of ``vectors``)."""
        return int(self.vectors.shape[1])


def validate_inputs(
    acts: np.ndarray, labels: np.ndarray | Sequence[str], emotions: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Check and canonicalise the activation cache, labels and emotion order.

    Args:
        acts: [n_stimuli, n_layers, d_model], real, finite.
        labels: [n_stimuli] emotion names or ``"neutral"``. Labels outside ``emotions`` and
            not neutral are ignored, so a caller may analyse a subset of emotions.
        emotions: distinct emotion names, not including ``"neutral"``.

    Returns:
        (acts as an ndarray, labels as a str ndarray, emotions as a tuple).
    """
    acts = np.asarray(acts)
    if acts.ndim != 3:
        raise EmovecInputError(
            f"acts must have shape [n_stimuli, n_layers, d_model]; got shape {acts.shape}"
        )
    if not (np.issubdtype(acts.dtype, np.floating) or np.issubdtype(acts.dtype, np.integer)):
        raise EmovecInputError(f"acts must be real numbers; got dtype {acts.dtype}")
    if 0 in acts.shape[1:]:
        raise EmovecInputError(f"acts has an empty layer or model axis: shape {acts.shape}")
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != acts.shape[0]:
        raise EmovecInputError(
            f"labels must have shape [n_stimuli]=[{acts.shape[0]}] to match acts; "
            f"got shape {labels.shape}"
        )
    labels = labels.astype(str)
    emotions = tuple(str(e) for e in emotions)
    if not emotions:
        raise EmovecInputError("emotions is empty")
    seen: set[str] = set()
    for e in emotions:
        if e in seen:
            raise EmovecInputError(f"emotion {e!r} appears more than once in emotions")
        seen.add(e)
    if NEUTRAL in seen:
        raise EmovecInputError(
            f"{NEUTRAL!r} is the baseline label and cannot be one of the emotions"
        )
    bad = ~np.isfinite(acts).all(axis=(1, 2))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise EmovecInputError(
            f"acts has non-finite values for {int(bad.sum())} stimuli (first: stimulus {i}, "
            f"label {labels[i]!r})"
        )
    return acts, labels, emotions


def emotion_means(
    acts: np.ndarray, labels: np.ndarray, emotions: tuple[str, ...], weights: np.ndarray | None = None
) -> tuple[np.ndarray, dict[str, int]]:
    """Mean activation per emotion: story-weighted (each stimulus counts once) by default.

    Args:
        acts: [n_stimuli, n_layers, d_model].
        labels: str [n_stimuli].
        emotions: emotion order of the output.
        weights: optional [n_stimuli] non-negative weights, e.g. the number of tokens each pooled
            stimulus averaged over: the weighted mean of per-stimulus token means is then the
            token-weighted mean (every pooled token counts once).

    Returns:
        (means float64 [n_emotions, n_layers, d_model], stimuli count per emotion).
    """
    counts = {e: int(np.count_nonzero(labels == e)) for e in emotions}
    missing = [e for e, n in counts.items() if n == 0]
    if missing:
        raise EmovecInputError(f"no stimuli labelled with emotion(s) {missing}")
    if weights is None:
        means = np.stack([acts[labels == e].mean(axis=0, dtype=np.float64) for e in emotions])
        return means, counts
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != labels.shape or not np.isfinite(weights).all() or (weights < 0).any():
        raise EmovecInputError(f"weights must be finite, >= 0 and of shape {labels.shape}; got shape {weights.shape}")
    means = []
    for e in emotions:
        w = weights[labels == e]
        if w.sum() <= 0:
            raise EmovecInputError(f"emotion {e!r}: its stimuli have total weight 0")
        means.append(np.tensordot(w / w.sum(), acts[labels == e].astype(np.float64), axes=1))
    return np.stack(means), counts


def resolve_baseline(baseline: str, variance_threshold: float = 0.5) -> BaselineFn:
    """Look up a registered baseline, checking ``variance_threshold`` lies in (0, 1]."""
    if baseline not in BASELINES:
        raise EmovecInputError(
            f"unknown baseline {baseline!r}; known baselines: {sorted(BASELINES)}"
        )
    if not 0.0 < variance_threshold <= 1.0:
        raise EmovecInputError(
            f"variance_threshold must lie in (0, 1]; got {variance_threshold!r}"
        )
    return BASELINES[baseline]


def compute_emotion_vectors(
    acts: np.ndarray,
    labels: np.ndarray | Sequence[str],
    emotions: Sequence[str],
    baseline: str,
    normalise: bool,
    variance_threshold: float = 0.5,
    weights: np.ndarray | None = None,
) -> EmotionVectors:
    """Compute one contrast vector per (emotion, layer) under a named baseline.

    Args:
        acts: pooled activations [n_stimuli, n_layers, d_model] (activation units).
        labels: [n_stimuli] emotion names or ``"neutral"``; other labels are ignored.
        emotions: emotion order of the output; every one needs at least one stimulus.
        baseline: a key of ``BASELINES`` (``neutral_mean``, ``grand_mean``,
            ``grand_mean_with_neutral``, ``neutral_pca``).
        normalise: divide every (emotion, layer) vector by its L2 norm.
        variance_threshold: explained-variance ratio of the neutral PCs to remove
            (``neutral_pca`` only), in (0, 1].
        weights: optional [n_stimuli] weights of the emotion means (see ``emotion_means``);
            neutral statistics always count each neutral text once.

    Returns:
        ``EmotionVectors`` with vectors float64 [n_emotions, n_layers, d_model].

    Raises:
        EmovecInputError: unknown baseline, an emotion without stimuli, a neutral-based
            baseline without neutral stimuli, shape mismatches, or a zero vector when
            normalising.
    """
    fn = resolve_baseline(baseline, variance_threshold)
    acts, labels, emotions = validate_inputs(acts, labels, emotions)
    means, counts = emotion_means(acts, labels, emotions, weights)
    neutral_acts = acts[labels == NEUTRAL].astype(np.float64, copy=False)
    ctx = BaselineContext(baseline, neutral_acts, variance_threshold)
    vectors, removed_k = fn(means, ctx)
    if normalise:
        norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
        zero = norms[..., 0] == 0
        if zero.any():
            ei, li = (int(i[0]) for i in np.nonzero(zero))
            raise EmovecInputError(
                f"vector for emotion {emotions[ei]!r} at layer {li} has zero norm under "
                f"baseline {baseline!r}; cannot unit-normalise"
            )
        vectors = vectors / norms
    return EmotionVectors(
        emotions=emotions,
        vectors=vectors,
        baseline=baseline,
        normalised=bool(normalise),
        n_per_emotion=counts,
        removed_k=removed_k,
        n_neutral=int(neutral_acts.shape[0]),
    )


def contrast_vectors_of_rows(
    acts: np.ndarray,
    emotion_rows: Sequence[np.ndarray],
    neutral_rows: np.ndarray,
    baseline: str,
    variance_threshold: float = 0.5,
) -> np.ndarray:
    """Unnormalised contrast vectors of stimuli given as row indices, one int array per emotion.

    The inner step of ``compute_emotion_vectors`` without its checks and label matching, for
    resampling loops that call it thousands of times on inputs validated once: ``acts`` must
    already have passed ``validate_inputs`` and every ``emotion_rows[i]`` be non-empty. With
    ``emotion_rows[i]`` the rows labelled ``emotions[i]`` (in row order) and ``neutral_rows``
    the neutral ones, the result equals ``compute_emotion_vectors(acts, labels, emotions,
    baseline, False, variance_threshold).vectors`` bit for bit: the same rows are averaged in
    the same order.

    Returns:
        float64 [n_emotions, n_layers, d_model].
    """
    fn = resolve_baseline(baseline, variance_threshold)
    means = np.stack([acts[rows].mean(axis=0, dtype=np.float64) for rows in emotion_rows])
    neutral_acts = acts[neutral_rows].astype(np.float64, copy=False)
    return fn(means, BaselineContext(baseline, neutral_acts, variance_threshold))[0]


def run_vectors(config: str | Path, activations: str | Path, out: str | Path) -> EmotionVectors:
    """The vectors stage: one cell's emotion vectors at every layer, written to ``out`` (.npz).

    ``config`` is the cell's vectors slice (build/config/cells/<cell>/vectors.yaml: ``vectors``,
    ``emotion_set``, ``pooling``); ``activations`` its activation cache. The .npz holds
    ``vectors`` [n_emotions, n_layers, d_model] float32, ``emotions``, ``removed_k`` and ``info``."""
    import io
    import json

    from omegaconf import OmegaConf

    from emovec.activations.cache import cell_activations
    from emovec.config.schema import VectorsConfig, as_dataclass
    from emovec.corpora.emotion_sets import emotion_set
    from emovec.io import atomic_path

    raw = OmegaConf.load(config)
    vc: VectorsConfig = as_dataclass(raw.vectors, VectorsConfig, str(config))
    emotions = emotion_set(raw.emotion_set)
    acts, labels, _, meta = cell_activations(activations, raw.pooling)
    ev = compute_emotion_vectors(acts, labels, emotions, vc.baseline, vc.normalise, vc.variance_threshold)
    info = {"baseline": ev.baseline, "normalised": ev.normalised, "pooling": raw.pooling,
            "n_per_emotion": ev.n_per_emotion, "n_neutral": ev.n_neutral, "axes": meta["axes"]}
    buf = io.BytesIO()
    np.savez(buf, vectors=ev.vectors.astype(np.float32), emotions=np.array(ev.emotions),
             removed_k=ev.removed_k if ev.removed_k is not None else np.array([], dtype=int),
             info=np.array(json.dumps(info, sort_keys=True)))
    with atomic_path(out) as tmp:
        tmp.write_bytes(buf.getvalue())
    print(f"vectors {Path(out).stem}: {len(emotions)} emotions x {ev.vectors.shape[1]} layers ({vc.baseline})")
    return ev
