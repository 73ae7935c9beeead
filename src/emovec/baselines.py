"""The baselines an emotion's mean activation is contrasted against (:mod:`emovec.vectors`), in
one registry: adding one is a function plus ``@register_baseline("<name>")``.

A baseline receives the per-emotion means float64 [..., n_emotions, n_layers, d_model] (leading
axes are a batch, e.g. shuffled-label permutations) and a :class:`BaselineContext` holding the
neutral stimuli; it returns contrast vectors of the same shape and, per layer, how many
components it removed (or None).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

import numpy as np

from emovec.emotions import NEUTRAL
from emovec.errors import EmovecInputError
from emovec.registry import Registry

__all__ = ["BASELINES", "BaselineContext", "BaselineFn", "register_baseline"]


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
