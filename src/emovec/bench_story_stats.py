"""The headline statistics of ``make bench``'s bfloat16 comparison (:func:`emovec.bench_real.bench_bf16`),
computed by the pipeline's own functions on story activations: the emotion vectors
(:func:`emovec.vectors.compute_emotion_vectors`), their mean pairwise cosine
(:func:`emovec.geometry.separation.mean_pairwise_cosine`) and |r| of their PC1 with valence
(:func:`emovec.geometry.affect.affect_by_layer`). Where the bench's choice differs from the
pipeline's valence cell of the upstream stories, it is named by a constant below and passed
explicitly.

Shapes: ``pooled`` [n_stories, n_layers, d_model] pooled activations (activation units),
``labels`` [n_stories] emotion names; cosines and r are dimensionless.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emovec.emotions import NEUTRAL
from emovec.errors import EmovecInputError
from emovec.geometry.affect import affect_by_layer
from emovec.geometry.separation import mean_pairwise_cosine
from emovec.vectors import EmotionVectors, compute_emotion_vectors

__all__ = ["STORY_BASELINE", "STORY_MEAN_OFFSET", "STORY_ORIENTATION", "STORY_POOLING", "STORY_WEIGHTS",
           "separation_cosine", "story_vectors", "valence_pc1_abs_r"]

# The bench's choices, each against the valence cell of the upstream stories
# (build/config/cells/<m>__upstream-gemma-stories):
STORY_BASELINE = "grand_mean"
"""Emotion mean minus the mean across emotions: the upstream-stories cells' ``vectors.baseline``
(the stories have no neutral ones; the stimulus cells' separation uses ``neutral_mean``)."""
STORY_WEIGHTS = None
"""Story-weighted emotion means, each story once (the valence cell: ``weighting: token``)."""
STORY_ORIENTATION = "max_abs_score"
"""The PC sign rule: the bench reports |r|, so the sign cannot matter, and ``anchor`` (the cell's)
would need 'happy' and 'afraid' among the bench's few emotions."""
STORY_POOLING = "mean_from_offset"
"""The pooling the bench extracts (the cell's too): the mean over a story's tokens from an offset."""
STORY_MEAN_OFFSET = 0
"""Tokens skipped before pooling: none, every token of a story is pooled (the cell: ``mean_offset: 50``),
so the short stories of a small draw count too."""


def story_vectors(pooled: np.ndarray, labels: Sequence[str], normalise: bool,
                  emotions: Sequence[str] | None = None) -> EmotionVectors:
    """The pipeline's emotion vectors (:func:`emovec.vectors.compute_emotion_vectors`) of stories
    ``pooled`` [n, n_layers, d] (activation units) labelled ``labels`` [n], under the bench's
    choices (``STORY_BASELINE``, ``STORY_WEIGHTS``); ``emotions`` defaults to the sorted distinct
    non-neutral labels. Vectors float64 [n_emotions, n_layers, d], unit norm when ``normalise``."""
    emotions = sorted(set(map(str, labels)) - {NEUTRAL}) if emotions is None else list(emotions)
    return compute_emotion_vectors(pooled, labels, emotions, baseline=STORY_BASELINE, normalise=normalise,
                                   weights=STORY_WEIGHTS)


def separation_cosine(pooled: np.ndarray, labels: Sequence[str], layer: int) -> float:
    """The separation statistic on stories: the pipeline's mean pairwise cosine
    (:func:`emovec.geometry.separation.mean_pairwise_cosine`, dimensionless) of
    :func:`story_vectors` at ``layer`` (``pooled``: [n, n_layers, d])."""
    return float(mean_pairwise_cosine(story_vectors(pooled, labels, normalise=False).vectors)[layer])


def valence_pc1_abs_r(pooled: np.ndarray, labels: Sequence[str], layer: int, valence: dict[str, float],
                      arousal: dict[str, float]) -> tuple[float, int]:
    """The pipeline's |r| of PC1 with valence at ``layer`` (:func:`emovec.geometry.affect.affect_by_layer`,
    its peak's ``abs_r`` over that one layer) for the emotions of ``labels`` with a finite valence
    and arousal rating (emotion -> rating; the others are left out before the vectors are made, as
    the valence stage does), under the bench's choices (:func:`story_vectors`, ``STORY_ORIENTATION``).
    The bench reads the point estimate only, so the bootstrap and the null are drawn once.
    Returns (|r|, number of emotions used)."""
    names = sorted(set(map(str, labels)) - {NEUTRAL})
    rated = [n for n in names if np.isfinite(valence.get(n, np.nan)) and np.isfinite(arousal.get(n, np.nan))]
    if len(rated) < 3:
        raise EmovecInputError(f"valence r needs >= 3 emotions with a rating, got {len(rated)} of {names}")
    vectors = story_vectors(pooled, labels, normalise=False, emotions=rated).vectors
    res = affect_by_layer(vectors[:, [layer]], rated, [valence[n] for n in rated], [arousal[n] for n in rated],
                          n_boot=1, n_perm=1, seed=0, orientation=STORY_ORIENTATION, anchors=())
    return float(res.peaks["valence"]["abs_r"]), len(rated)
