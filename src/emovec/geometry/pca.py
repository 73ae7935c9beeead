"""PCA of emotion vectors across emotions, its sign rule, and its bootstrap refits.

The emotion vectors of one layer [n_emotions, d] are reduced by PCA (``fit_pca``); each PC's
sign is fixed by a registered orientation rule that never sees the ratings (``orient``); a
bootstrap resample of emotions is refitted in emotion space and matched to the full-sample PCs
by order and sign (``bootstrap_scores``), so neither sign flips nor swapped axes smear a CI
(METHODS; issue 26). Used by
:mod:`emovec.geometry.affect`.

Units: scores are in the units of the vectors; eigenvalues are variances (units^2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from emovec.config.schema import PC_MATCHINGS
from emovec.errors import EmovecInputError
from emovec.geometry.orientation import ORIENTATIONS

__all__ = ["PC_MATCHINGS", "BootstrapFits", "PCAFit", "bootstrap_scores", "fit_pca", "orient"]


# ---- PCA ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PCAFit:
    """Top-k principal components of n row vectors.

    Attributes:
        loadings: [k, d] orthonormal rows, the PC directions in feature space.
        scores: [n, k] the mean-centred rows projected on the loadings (vector units).
        eigenvalues: [k] variance along each PC, s^2 / (n - 1) (vector units^2).
        explained_ratio: [k] each eigenvalue over the total variance of the centred rows.
    """

    loadings: np.ndarray
    scores: np.ndarray
    eigenvalues: np.ndarray
    explained_ratio: np.ndarray


def _rank_rtol(n: int, d: int) -> float:
    """Relative size below which a squared singular value counts as zero.

    The Gram route squares the data, so its eigenvalues carry absolute error ~ n eps s1^2;
    one threshold on s_j^2 / s_1^2 for both routes keeps them agreeing on what is rank-deficient.
    """
    return max(n, d) * np.finfo(np.float64).eps


def _top_gram(xc: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k squared singular values [k] and left singular vectors [n, k] via the n x n Gram.

    For wide data (d = 4096 >> n) this is an n x n problem instead of an n x d SVD.
    """
    eigvals, eigvecs = np.linalg.eigh(xc @ xc.T)  # ascending
    top = slice(-1, -k - 1, -1)
    return np.clip(eigvals[top], 0.0, None), eigvecs[:, top]


def _top_svd(xc: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k squared singular values [k] and left singular vectors [n, k] via a thin SVD."""
    u, s, _ = np.linalg.svd(xc, full_matrices=False)
    sq = np.zeros(k)
    m = min(k, s.size)  # d < k: the missing components have zero variance
    sq[:m] = s[:m] ** 2
    left = np.zeros((xc.shape[0], k))
    left[:, :m] = u[:, :m]
    return sq, left


def _check_rank(sq: np.ndarray, n: int, d: int, k: int) -> None:
    threshold = _rank_rtol(n, d) * sq[0]
    rank = int(np.count_nonzero(sq > threshold)) if sq[0] > 0 else 0
    if rank < k:
        raise EmovecInputError(
            f"fit_pca: the centred data has rank {rank} < k={k} (e.g. all vectors equal, or "
            f"fewer than {k + 1} distinct rows); PC{rank + 1} is undefined"
        )


def fit_pca(x: np.ndarray, k: int = 2) -> PCAFit:
    """PCA of the rows of x (centred on their mean), top k components.

    Uses the n x n Gram eigendecomposition when d > n and a thin SVD otherwise; both give the
    plain SVD result up to the sign of each PC (signs are arbitrary: see ``orient``).

    Args:
        x: [n, d] finite; n >= k + 1 (the centred rank is at most n - 1).
        k: number of components, >= 1.

    Returns:
        ``PCAFit`` with loadings [k, d], scores [n, k], eigenvalues [k], explained_ratio [k].
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise EmovecInputError(f"fit_pca: x must be a 2-D [n, d] array; got shape {x.shape}")
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise EmovecInputError(f"fit_pca: k must be an integer >= 1; got {k!r}")
    n, d = x.shape
    if n < k + 1:
        raise EmovecInputError(
            f"fit_pca: k={k} components need at least {k + 1} rows (centred rank is n-1); got n={n}"
        )
    if not np.isfinite(x).all():
        raise EmovecInputError("fit_pca: x contains NaN or inf")
    xc = x - x.mean(axis=0)
    sq, left = _top_gram(xc, k) if d > n else _top_svd(xc, k)
    _check_rank(sq, n, d, k)
    s = np.sqrt(sq)
    # x_c = U S V^T  =>  scores = U S and loadings V^T = S^-1 U^T x_c (both routes).
    loadings = (left.T @ xc) / s[:, None]
    total = float(np.sum(xc * xc))
    return PCAFit(
        loadings=loadings,
        scores=left * s[None, :],
        eigenvalues=sq / (n - 1),
        explained_ratio=sq / total,
    )


# ---- orientation (the rules live in emovec.geometry.orientation) ---------------------------


def orient(
    fit: PCAFit, emotions: Sequence[str], orientation: str = "anchor", anchors: Sequence[str] = ()
) -> PCAFit:
    """Fix the sign of each PC with a registered rule; flips loadings and scores together.

    Args:
        fit: a ``PCAFit`` whose score rows are ordered as ``emotions``.
        emotions: [n] emotion names.
        orientation: a key of ``ORIENTATIONS``.
        anchors: emotion names, one per PC, for the ``"anchor"`` rule.

    Returns:
        A new ``PCAFit`` (eigenvalues unchanged).
    """
    if orientation not in ORIENTATIONS:
        raise EmovecInputError(
            f"unknown orientation {orientation!r}; known rules: {sorted(ORIENTATIONS)}"
        )
    signs = np.asarray(
        ORIENTATIONS[orientation](fit.scores, tuple(emotions), tuple(anchors)), dtype=np.float64
    )
    if signs.shape != (fit.scores.shape[1],) or not np.isin(signs, (-1.0, 1.0)).all():
        raise EmovecInputError(
            f"orientation {orientation!r} must return {fit.scores.shape[1]} signs of +-1; "
            f"got {signs!r}"
        )
    return PCAFit(
        loadings=fit.loadings * signs[:, None],
        scores=fit.scores * signs[None, :],
        eigenvalues=fit.eigenvalues,
        explained_ratio=fit.explained_ratio,
    )


# ---- bootstrap in emotion space ---------------------------------------------------------------

# How a bootstrap refit's two PCs are matched to the full-sample PCs (``valence.pc_matching``):
#   order: the assignment of the refit's PC1/PC2 to the full-sample PC1/PC2 with the larger total
#          |cosine| between loadings (a swap when the refit's PC1 lies nearer the full PC2), then
#          each sign; when lambda1 ~ lambda2 the refit often swaps the two axes, and reading its PC1
#          as "PC1" would mix two different axes into one interval;
#   sign:  the refit's PC j is read as PC j, only its sign aligned (the pre-issue-26 behaviour, kept
#          to show what matching changes).


@dataclass(frozen=True, eq=False)
class BootstrapFits:
    """Matched PC scores of every bootstrap resample of one layer.

    Attributes:
        scores: float64 [B, n, 2] scores of the resampled rows (``idx`` order) on the refit PCs
            matched to full-sample PC1 and PC2; NaN where that PC does not exist in the resample.
        swapped: bool [B], the refit's PC1 lies nearer the full-sample PC2 (by the order rule; under
            ``order`` matching these refits were swapped back, under ``sign`` they were not);
            False where PC2 is undefined.
        lambda_ratio: float64 [B] the refit's lambda1 / lambda2 (its own top two eigenvalues, so
            >= 1); NaN where PC2 is undefined.
    """

    scores: np.ndarray
    swapped: np.ndarray
    lambda_ratio: np.ndarray


def _resample_scores(
    gram: np.ndarray, full_scores: np.ndarray, idx: np.ndarray, zero_below: float, matching: str
) -> tuple[np.ndarray, bool, float]:
    """Matched 2-PC scores of one bootstrap resample, from the full-sample Gram alone.

    Refitting PCA on n resampled d-dim rows is replaced by an eigenproblem in emotion space.
    A row drawn w times contributes w identical rows, so the resample covariance is
    sum_u w_u (x_u - mu)(x_u - mu)^T over the m distinct rows u; the m x m matrix
    D^1/2 C D^1/2 (C_uv = (x_u - mu).(x_v - mu), D = diag(w)) has the same nonzero
    eigenvalues as the n x n centred Gram H G[idx][:, idx] H, but is ~(0.63)^3 the cost, and
    duplicated rows get bit-identical scores (which Spearman's tie handling needs).

    The cosine between refit loading j and full-sample loading i needs no d-dim vector: with
    s_j the refit scores (||s_j||^2 = its eigenvalue) and ref_i the full-sample scores of the
    resampled rows re-centred on the resample, cos_ji = s_j . ref_i / ||s_j||^2.

    Args:
        gram: [n, n] x_c x_c^T of the full-sample-centred vectors (re-centring below makes
            the earlier centring irrelevant).
        full_scores: [n, 2] oriented full-sample scores, used only to match the refit's PCs.
        idx: int [n] resampled emotion indices.
        zero_below: squared singular values at or below this are treated as 0 (PC undefined).
        matching: one of ``PC_MATCHINGS``.

    Returns:
        (scores [n, 2] in ``idx`` order, swapped, lambda1 / lambda2 of the refit); a score
        column is NaN when that PC does not exist in the resample (PC1 needs 2 distinct rows,
        PC2 needs 3).
    """
    n = idx.size
    counts = np.bincount(idx, minlength=gram.shape[0])
    uniq = np.flatnonzero(counts)
    w = counts[uniq].astype(np.float64)
    g = gram[np.ix_(uniq, uniq)]
    x_dot_mu = g @ w / n  # x_u . mu, with mu the resample mean
    centred = g - x_dot_mu[:, None] - x_dot_mu[None, :] + (w @ x_dot_mu) / n
    sqrt_w = np.sqrt(w)
    m = uniq.size
    n_pc = min(2, m)
    # 'evx' (bisection + inverse iteration for the requested pair only) is ~3x faster than a
    # full eigendecomposition at m ~ 100 and this call dominates the run time.
    eigvals, eigvecs = scipy.linalg.eigh(
        centred * sqrt_w[:, None] * sqrt_w[None, :],
        subset_by_index=[m - n_pc, m - 1],
        driver="evx",
    )
    out = np.full((n, 2), np.nan)
    lams = np.full(2, np.nan)
    for j in range(n_pc):
        lam, vec = eigvals[-1 - j], eigvecs[:, -1 - j]
        if lam <= zero_below:
            continue  # PC j+1 does not exist in this resample: leave NaN
        # score of distinct row u: (x_u - mu) . loading = sqrt(lam) v_u / sqrt(w_u)
        per_row = np.sqrt(lam) * vec / sqrt_w
        out[:, j] = per_row[np.searchsorted(uniq, idx)]
        lams[j] = lam
    ref = full_scores[idx] - full_scores[idx].mean(axis=0)
    cos = (out.T @ ref) / lams[:, None]  # [refit PC j, full PC i]
    swapped = bool(np.isfinite(cos).all() and abs(cos[0, 1]) + abs(cos[1, 0]) > abs(cos[0, 0]) + abs(cos[1, 1]))
    if swapped and matching == "order":
        out, cos = out[:, ::-1], cos[::-1]
    # align each matched PC's sign with its full-sample PC, so a flipped eigenvector is not read
    # as a sign change of the effect
    signs = np.where(np.diag(cos) < 0, -1.0, 1.0)
    return out * signs[None, :], swapped, float(lams[0] / lams[1])


def bootstrap_scores(x: np.ndarray, fit: PCAFit, boot_idx: np.ndarray, matching: str = "order") -> BootstrapFits:
    """Matched bootstrap scores of every resample (see ``_resample_scores`` and ``PC_MATCHINGS``).

    Args:
        x: [n, d] the vectors of one layer.
        fit: their oriented full-sample 2-PC ``PCAFit``.
        boot_idx: int [B, n] resampled emotion indices.
        matching: ``order`` (match by order and sign, the default) or ``sign`` (sign only).

    Returns:
        ``BootstrapFits`` with scores [B, n, 2], swapped [B], lambda_ratio [B].
    """
    if matching not in PC_MATCHINGS:
        raise EmovecInputError(f"unknown PC matching {matching!r}; known: {list(PC_MATCHINGS)}")
    n, d = x.shape
    xc = x - x.mean(axis=0)
    gram = xc @ xc.T
    # Same zero threshold as fit_pca, relative to the full-sample s_1^2 = (n-1) lambda1.
    zero_below = _rank_rtol(n, d) * fit.eigenvalues[0] * (n - 1)
    fits = [_resample_scores(gram, fit.scores, idx, zero_below, matching) for idx in boot_idx]
    return BootstrapFits(scores=np.stack([f[0] for f in fits]), swapped=np.array([f[1] for f in fits], dtype=bool),
                         lambda_ratio=np.array([f[2] for f in fits], dtype=np.float64))
