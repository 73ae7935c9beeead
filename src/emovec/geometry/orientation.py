"""Rules fixing the sign of each principal component, registered by name.

PCA signs are arbitrary; a rule picks them from the PC scores and the emotion names, never from
the human ratings the scores are then correlated with, so a positive r cannot be manufactured by
the sign choice (METHODS). ``valence.orientation`` names a rule; adding one is a function plus
``@register_orientation``. This module imports numpy only, so validating a config's rule name
(at compose) does not load the analysis stack.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emovec.errors import EmovecInputError
from emovec.registry import Registry

__all__ = ["ORIENTATIONS", "OrientationRule", "register_orientation"]

# (scores [n, k], emotions, anchors) -> signs [k] of +-1. A rule must never see the ratings.
OrientationRule = Callable[[np.ndarray, tuple[str, ...], tuple[str, ...]], np.ndarray]

ORIENTATIONS: Registry[OrientationRule] = Registry("orientation")
register_orientation = ORIENTATIONS.register  # decorator adding a sign rule under a name


@register_orientation("max_abs_score")
def _max_abs_score(
    scores: np.ndarray, emotions: tuple[str, ...], anchors: tuple[str, ...]
) -> np.ndarray:
    """The emotion with the largest |score| on each PC gets a positive score (first on ties)."""
    del emotions, anchors  # the rule uses the scores alone
    extreme = scores[np.argmax(np.abs(scores), axis=0), np.arange(scores.shape[1])]
    return np.where(extreme < 0, -1.0, 1.0)


@register_orientation("anchor")
def _anchor(scores: np.ndarray, emotions: tuple[str, ...], anchors: tuple[str, ...]) -> np.ndarray:
    """PC j is flipped so that emotion ``anchors[j]`` has a positive score.

    An anchor scoring exactly 0 carries no sign; that PC falls back to ``max_abs_score``.
    """
    k = scores.shape[1]
    if len(anchors) != k:
        raise EmovecInputError(
            f"orientation 'anchor' needs one anchor emotion per PC (k={k}); "
            f"got anchors={list(anchors)}"
        )
    missing = [a for a in anchors if a not in emotions]
    if missing:
        raise EmovecInputError(
            f"anchor emotion(s) {missing} not among the emotions {list(emotions)}"
        )
    fallback = _max_abs_score(scores, emotions, anchors)
    anchor_scores = scores[[emotions.index(a) for a in anchors], np.arange(k)]
    return np.where(anchor_scores == 0, fallback, np.where(anchor_scores < 0, -1.0, 1.0))
