"""The valence/arousal statistics of one layer (see :mod:`emovec.geometry.affect`): a 2-PC PCA
of the emotion vectors, oriented without the ratings, and the correlations of PC1 with valence and
PC2 with arousal, observed, over bootstrap refits and under permuted ratings.

Units: scores are in the units of the vectors; eigenvalues are variances (units^2);
correlations are dimensionless; angles in degrees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from emovec.geometry.pca import PCAFit, bootstrap_scores, fit_pca, orient

# (target, 0-based PC index): valence is read off PC1, arousal off PC2.
TARGETS: tuple[tuple[str, int], ...] = (("valence", 0), ("arousal", 1))


# ---- correlations -----------------------------------------------------------------------------


def pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r along the last axis of broadcastable [..., n] arrays; NaN where a row is constant.

    Constancy is tested exactly (max == min) because a float mean of equal values need not
    equal them, which would turn a constant row into a noise correlation instead of NaN.
    """
    a, b = np.broadcast_arrays(a, b)
    constant = (np.ptp(a, axis=-1) == 0) | (np.ptp(b, axis=-1) == 0)
    ac = a - a.mean(axis=-1, keepdims=True)
    bc = b - b.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.sum(ac * bc, axis=-1) / np.sqrt(np.sum(ac * ac, axis=-1) * np.sum(bc * bc, axis=-1))
    return np.where(constant, np.nan, np.clip(r, -1.0, 1.0))


def _ranks(a: np.ndarray) -> np.ndarray:
    """Average ranks along the last axis (Spearman = Pearson of ranks); NaN rows stay NaN."""
    return rankdata(a, axis=-1)


# ---- one layer --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Ratings:
    """Ratings and their resampled / permuted copies, shared by every layer.

    Attributes:
        values, ranks: [2, n] valence and arousal ratings and their average ranks.
        boot_values, boot_ranks: [2, B, n] ratings of each bootstrap resample (ranks recomputed
            within the resample, which has ties).
        perm_values, perm_ranks: [2, P, n] ratings under each permutation (permuting ranks
            equals ranking permuted values).
        boot_idx: int [B, n] resampled emotion indices.
    """

    values: np.ndarray
    ranks: np.ndarray
    boot_values: np.ndarray
    boot_ranks: np.ndarray
    perm_values: np.ndarray
    perm_ranks: np.ndarray
    boot_idx: np.ndarray


def prepare_ratings(ratings: np.ndarray, boot_idx: np.ndarray, perm_idx: np.ndarray) -> Ratings:
    """The ratings [2, n] (valence, arousal) with their copies under the bootstrap indices
    int [B, n] and the permutations int [P, n] drawn once for every layer."""
    ranks = _ranks(ratings)
    boot_values = ratings[:, boot_idx]
    return Ratings(
        values=ratings,
        ranks=ranks,
        boot_values=boot_values,
        boot_ranks=_ranks(boot_values),
        perm_values=ratings[:, perm_idx],
        perm_ranks=ranks[:, perm_idx],
        boot_idx=boot_idx,
    )


@dataclass(frozen=True, eq=False)
class LayerStats:
    """Statistics of one layer; index 0 = (PC1, valence), 1 = (PC2, arousal).

    Attributes:
        fit: oriented 2-PC ``PCAFit``.
        r, rho: [2] observed Pearson r and Spearman rho.
        r_boot, rho_boot: [B, 2]; NaN in resamples where any of the four is undefined.
        r_null, rho_null: [P, 2] |r| and |rho| under permuted ratings.
        big_r, big_r_boot: [2] and [B, 2] the multiple correlation R of each target with the
            PC1 and PC2 scores together (rotation-invariant in their plane).
        angle: [2] degrees (0-90) between the axis of each target's best direction in the PC1-PC2
            plane and the target's own PC (valence: PC1, arousal: PC2).
        swapped: bool [B], resamples whose PC1 lies nearer the full-sample PC2 (swapped back under
            order matching).
        lambda_ratio_boot: [B] each refit's lambda1 / lambda2.
    """

    fit: PCAFit
    r: np.ndarray
    rho: np.ndarray
    r_boot: np.ndarray
    rho_boot: np.ndarray
    r_null: np.ndarray
    rho_null: np.ndarray
    big_r: np.ndarray
    big_r_boot: np.ndarray
    angle: np.ndarray
    swapped: np.ndarray
    lambda_ratio_boot: np.ndarray

    @property
    def n_boot_valid(self) -> int:
        """Number of resamples where every statistic of the layer is defined."""
        return int(np.count_nonzero(np.isfinite(self.r_boot[:, 0])))

    @property
    def swap_rate(self) -> float:
        """Share of the valid resamples whose PC1 was matched to the full-sample PC2."""
        valid = np.isfinite(self.r_boot[:, 0])
        return float(self.swapped[valid].mean()) if valid.any() else float("nan")


def _multiple_r(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """R of each target on the two score rows together: scores [2, ..., n] (PC1, PC2, which are
    uncorrelated by construction, so R^2 = r1^2 + r2^2), targets [2, ..., n] -> [2, ...]."""
    r = pearson_rows(scores[None], targets[:, None])  # [target, pc, ...]
    return np.sqrt(r[:, 0] ** 2 + r[:, 1] ** 2)


def _best_direction_angle(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Degrees (0-90) between each target's best axis in the PC1-PC2 plane and its own PC.

    With uncorrelated PC scores the least-squares weights are b_j = r_j / sd_j (up to one factor
    per target); the best direction is b_1 loading_1 + b_2 loading_2 (loadings orthonormal).
    scores [2, n], targets [2, n] -> [2]."""
    r = pearson_rows(scores[None], targets[:, None])  # [target, pc]
    b = np.abs(r / scores.std(axis=-1)[None, :])
    own = np.array([b[j, pc] for j, (_, pc) in enumerate(TARGETS)])
    other = np.array([b[j, 1 - pc] for j, (_, pc) in enumerate(TARGETS)])
    return np.degrees(np.arctan2(other, own))


def analyse_layer(
    x: np.ndarray,
    emotions: tuple[str, ...],
    ratings: Ratings,
    orientation: str,
    anchors: tuple[str, ...],
    matching: str,
) -> LayerStats:
    """PCA, orientation, observed correlations, bootstrap and permutation null for x [n, d]."""
    fit = orient(fit_pca(x, k=2), emotions, orientation, anchors)
    scores = fit.scores.T  # [2, n]: row j is PC j+1, paired with target j
    score_ranks = _ranks(scores)
    fits = bootstrap_scores(x, fit, ratings.boot_idx, matching)
    boot = np.moveaxis(fits.scores, -1, 0)  # [2, B, n]
    r_boot = pearson_rows(boot, ratings.boot_values).T  # [B, 2]
    rho_boot = pearson_rows(_ranks(boot), ratings.boot_ranks).T
    big_r_boot = _multiple_r(boot, ratings.boot_values).T  # [B, 2]
    # One valid set for all statistics, so every CI of a layer rests on the same resamples.
    invalid = ~np.isfinite(np.concatenate([r_boot, rho_boot, big_r_boot], axis=1)).all(axis=1)
    r_boot[invalid] = np.nan
    rho_boot[invalid] = np.nan
    big_r_boot[invalid] = np.nan
    # Permutation null: the PCA does not depend on the ratings, so only the ratings move.
    r_null = np.abs(pearson_rows(scores[:, None, :], ratings.perm_values)).T  # [P, 2]
    rho_null = np.abs(pearson_rows(score_ranks[:, None, :], ratings.perm_ranks)).T
    return LayerStats(
        fit=fit,
        r=pearson_rows(scores, ratings.values),
        rho=pearson_rows(score_ranks, ratings.ranks),
        r_boot=r_boot,
        rho_boot=rho_boot,
        r_null=r_null,
        rho_null=rho_null,
        big_r=_multiple_r(scores, ratings.values),
        big_r_boot=big_r_boot,
        angle=_best_direction_angle(scores, ratings.values),
        swapped=fits.swapped & ~invalid,
        lambda_ratio_boot=np.where(invalid, np.nan, fits.lambda_ratio),
    )
