"""Emotion vectors: per-emotion mean activations contrasted against a named baseline.

Input is the pooled activation cache: ``acts`` [n_stimuli, n_layers, d_model] (one pooled
residual-stream vector per stimulus per layer, in the model's activation units), ``labels``
[n_stimuli] (emotion names or ``"neutral"``) and an explicit emotion order.

Every baseline is applied independently at each layer. Baselines live in a registry so that
adding one is one function plus one ``@register_baseline`` decorator; each baseline receives
the per-emotion means with arbitrary leading batch axes, which lets the shuffled-label null
(``emovec.geometry.separation``) push hundreds of permutations through the same code path
as the observed vectors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from emovec.emotions import NEUTRAL
from emovec.errors import EmovecInputError
from emovec.registry import Registry

__all__ = [
    "BASELINES",
    "BaselineContext",
    "BaselineFn",
    "EmotionVectors",
    "compute_emotion_vectors",
    "contrast_vectors_of_rows",
    "emotion_means",
    "register_baseline",
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


class BaselineContext:
    """What a baseline may use beyond the emotion means: the neutral stimuli.

    Neutral-derived quantities are computed lazily and cached, so a baseline that needs no
    neutral stimuli never complains about their absence, and the shuffled-label null (which
    never permutes neutral labels) reuses one PCA across all permutations.

    Args:
        baseline: name of the baseline being computed (used in error messages).
        neutral_acts: float64 [n_neutral, n_layers, d_model]; n_neutral may be 0.
        variance_threshold: cumulative explained-variance ratio (0, 1] that the removed
            neutral principal components must reach (``neutral_pca``).
    """

    def __init__(self, baseline: str, neutral_acts: np.ndarray, variance_threshold: float):
        self.baseline = baseline
        self.neutral_acts = neutral_acts
        self.variance_threshold = variance_threshold

    def _require_neutral(self, at_least: int) -> None:
        n = self.neutral_acts.shape[0]
        if n < at_least:
            raise EmovecInputError(
                f"baseline {self.baseline!r} needs at least {at_least} stimuli labelled "
                f"{NEUTRAL!r}; found {n}"
            )

    @cached_property
    def neutral_mean(self) -> np.ndarray:
        """Mean neutral activation, float64 [n_layers, d_model]."""
        self._require_neutral(1)
        return self.neutral_acts.mean(axis=0)

    @cached_property
    def neutral_subspace(self) -> tuple[list[np.ndarray], np.ndarray]:
        """Top-k neutral principal directions per layer.

        Returns:
            (bases, k): ``bases[l]`` is float64 [d_model, k[l]] with orthonormal columns (the
            leading right-singular vectors of the centred neutral activations at layer l);
            ``k`` is int [n_layers], the smallest count whose cumulative explained-variance
            ratio reaches ``variance_threshold``.
        """
        # A single point has no variance, so PCA needs two neutral stimuli.
        self._require_neutral(2)
        n_layers = self.neutral_acts.shape[1]
        bases: list[np.ndarray] = []
        ks = np.zeros(n_layers, dtype=int)
        for layer in range(n_layers):
            x = self.neutral_acts[:, layer, :]
            x = x - x.mean(axis=0)
            _, s, vt = np.linalg.svd(x, full_matrices=False)
            var = s**2
            total = var.sum()
            if not total > 0:
                raise EmovecInputError(
                    f"baseline {self.baseline!r}: neutral activations have zero variance at "
                    f"layer {layer}; no principal subspace to remove"
                )
            cum = np.cumsum(var) / total
            # Tolerance so a threshold hit exactly (e.g. 0.5 of two equal PCs) is not missed
            # by rounding in the cumulative sum.
            k = int(np.searchsorted(cum, self.variance_threshold - 1e-12, side="left")) + 1
            k = min(k, len(var))
            ks[layer] = k
            bases.append(vt[:k].T.copy())
        return bases, ks


BaselineFn = Callable[[np.ndarray, BaselineContext], tuple[np.ndarray, np.ndarray | None]]
"""A baseline: (emotion_means [..., n_emotions, n_layers, d_model], context) ->
(vectors of the same shape, removed_k int [n_layers] or None)."""

# A baseline receives emotion means float64 [..., n_emotions, n_layers, d_model] (leading axes
# are a batch, e.g. permutations) and a ``BaselineContext``; it returns the contrast vectors of
# the same shape and the per-layer count of removed components (or None).
BASELINES: Registry[BaselineFn] = Registry("baseline")
register_baseline = BASELINES.register  # decorator: @register_baseline("name")


@register_baseline("neutral_mean")
def _neutral_mean(means: np.ndarray, ctx: BaselineContext) -> tuple[np.ndarray, None]:
    """Emotion mean minus the mean of the neutral stimuli (Jeong generation code)."""
    return means - ctx.neutral_mean, None


@register_baseline("grand_mean")
def _grand_mean(means: np.ndarray, ctx: BaselineContext) -> tuple[np.ndarray, None]:
    """Emotion mean minus the mean of the emotion means (neutral excluded)."""
    if means.shape[-3] < 2:
        # With one emotion the contrast is identically zero: nothing to measure.
        raise EmovecInputError(
            f"baseline {ctx.baseline!r} needs at least 2 emotions; got {means.shape[-3]}"
        )
    return means - means.mean(axis=-3, keepdims=True), None


@register_baseline("grand_mean_with_neutral")
def _grand_mean_with_neutral(means: np.ndarray, ctx: BaselineContext) -> tuple[np.ndarray, None]:
    """Emotion mean minus the mean of the (emotions + neutral) category means.

    Jeong's comprehension code: 21 categories, each weighted equally regardless of its
    number of stimuli.
    """
    n_cat = means.shape[-3] + 1
    centre = (means.sum(axis=-3, keepdims=True) + ctx.neutral_mean) / n_cat
    return means - centre, None


@register_baseline("neutral_pca")
def _neutral_pca(means: np.ndarray, ctx: BaselineContext) -> tuple[np.ndarray, np.ndarray]:
    """Grand-mean contrast with the top-k neutral principal components projected out.

    k per layer is the smallest number of components of the centred neutral activations whose
    cumulative explained-variance ratio reaches ``ctx.variance_threshold``.
    """
    vectors, _ = _grand_mean(means, ctx)
    bases, ks = ctx.neutral_subspace
    out = vectors.copy()
    for layer, basis in enumerate(bases):
        v = vectors[..., layer, :]
        out[..., layer, :] = v - (v @ basis) @ basis.T
    return out, ks.copy()


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
    from emovec.emotions import emotion_set
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
