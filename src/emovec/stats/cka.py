"""Centred kernel alignment (CKA) between two representations of the same n items.

Linear CKA (Kornblith et al. 2019) compares the n x n similarity structure of two feature
matrices, invariant to orthogonal transforms and isotropic scaling of either. Its plain
(biased) estimator is badly inflated when features outnumber items: two unrelated random
matrices with n=20 rows already score ~0.9 (METHODS trap). The debiased estimator replaces
HSIC by its unbiased U-statistic (Song et al. 2012; Nguyen et al. 2021), which is ~0 on
unrelated data; prefer it for any n in the tens.

Everything is computed from n x n Gram matrices, so d = 4096-wide activations cost O(n^2 d)
once and O(n^2) per comparison. CKA values are dimensionless (1 = identical geometry).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emovec.errors import EmovecInputError

__all__ = ["centred_gram", "cka_matrix", "debiased_linear_cka", "gram_cka", "linear_cka"]


@dataclass(frozen=True, eq=False)
class _Gram:
    """What the HSIC estimators need from one representation.

    Attributes:
        gram: [n, n] K = Xc Xc^T of the column-centred features; diagonal set to 0 when
            debiased (the U-statistic excludes i == j pairs).
        row_sums: [n] K 1.
        total: 1^T K 1.
    """

    gram: np.ndarray
    row_sums: np.ndarray
    total: float


def _centred_features(x: np.ndarray, name: str, min_rows: int) -> np.ndarray:
    """x as float64 [n, p] with every column centred; checks shape, finiteness and variance."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise EmovecInputError(f"{name} must be a 2-D [n, features] array; got shape {x.shape}")
    if x.shape[0] < min_rows:
        raise EmovecInputError(f"{name} needs at least {min_rows} rows; got shape {x.shape}")
    if not np.isfinite(x).all():
        raise EmovecInputError(f"{name} contains NaN or inf")
    xc = x - x.mean(axis=0)
    if not np.any(xc):
        raise EmovecInputError(
            f"{name} has zero variance (all {x.shape[0]} rows identical); CKA is undefined"
        )
    return xc


def _gram(x: np.ndarray, name: str, debiased: bool) -> _Gram:
    # The debiased estimator divides by n(n-3) and (n-1)(n-2): it needs n >= 4.
    xc = _centred_features(x, name, min_rows=4 if debiased else 2)
    k = xc @ xc.T
    if debiased:
        np.fill_diagonal(k, 0.0)
    row_sums = k.sum(axis=1)
    return _Gram(gram=k, row_sums=row_sums, total=float(row_sums.sum()))


def _hsic(a: _Gram, b: _Gram, debiased: bool) -> float:
    """HSIC of two linear kernels, up to a factor that cancels in CKA.

    Biased: tr(K L) with K, L from column-centred features (already double-centred), i.e.
    ||Yc^T Xc||_F^2. Debiased (zero-diagonal K, L):
    tr(KL) + (1^T K 1)(1^T L 1)/((n-1)(n-2)) - 2/(n-2) 1^T K L 1, divided by n(n-3).
    """
    # tr(K L) = sum_ij K_ij L_ij for symmetric K, L: O(n^2) instead of a matrix product.
    trace = float(np.sum(a.gram * b.gram))
    if not debiased:
        return trace
    n = a.gram.shape[0]
    pair_term = a.total * b.total / ((n - 1) * (n - 2))
    cross_term = 2.0 / (n - 2) * float(a.row_sums @ b.row_sums)
    return (trace + pair_term - cross_term) / (n * (n - 3))


def _self_hsic(a: _Gram, name: str, debiased: bool) -> float:
    value = _hsic(a, a, debiased)
    # The unbiased estimate of HSIC(X, X) >= 0 can still come out <= 0 at tiny n.
    if value <= 0.0:
        raise EmovecInputError(
            f"HSIC of {name} with itself is {value!r} <= 0 (n={a.gram.shape[0]} rows); "
            "CKA is undefined: use more rows"
        )
    return value


def _cka(a: _Gram, b: _Gram, self_a: float, self_b: float, debiased: bool) -> float:
    return _hsic(a, b, debiased) / np.sqrt(self_a * self_b)


def _pair(x: np.ndarray, y: np.ndarray, debiased: bool) -> float:
    a, b = _gram(x, "x", debiased), _gram(y, "y", debiased)
    if a.gram.shape[0] != b.gram.shape[0]:
        raise EmovecInputError(
            "x and y must have the same number of rows; "
            f"got {a.gram.shape[0]} and {b.gram.shape[0]}"
        )
    return float(_cka(a, b, _self_hsic(a, "x", debiased), _self_hsic(b, "y", debiased), debiased))


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA (biased HSIC estimator): ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F).

    Args:
        x: [n, p] features of n items (rows), any units; n >= 2, not all rows equal.
        y: [n, q] features of the same n items in the same order.

    Returns:
        CKA in [0, 1]; inflated towards 1 when p, q >> n (see module docstring).
    """
    return _pair(x, y, debiased=False)


def debiased_linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA with the unbiased HSIC estimator (Kornblith's demo, ``debiased=True``).

    Features are column-centred first; K = Xc Xc^T and L = Yc Yc^T get zero diagonals and
    CKA = HSIC_u(K, L) / sqrt(HSIC_u(K, K) HSIC_u(L, L)) (see ``_hsic``).

    Args:
        x: [n, p], n >= 4.
        y: [n, q], same rows as ``x``.

    Returns:
        Debiased CKA: ~0 for unrelated data, 1 for identical geometry; can be slightly
        negative.
    """
    return _pair(x, y, debiased=True)


def cka_matrix(mats: Sequence[np.ndarray], debiased: bool = True) -> np.ndarray:
    """Pairwise CKA between k representations of the same n items (e.g. one per layer).

    Each Gram matrix and self-HSIC is computed once, so the cost is O(k n^2 d + k^2 n^2).

    Args:
        mats: k arrays [n, p_i] with the same n rows in the same order.
        debiased: use the debiased estimator (recommended; needs n >= 4).

    Returns:
        float64 [k, k], symmetric, diagonal exactly 1.0.
    """
    if len(mats) == 0:
        raise EmovecInputError("mats must hold at least one matrix; got none")
    grams = [_gram(m, f"mats[{i}]", debiased) for i, m in enumerate(mats)]
    n0 = grams[0].gram.shape[0]
    for i, g in enumerate(grams):
        if g.gram.shape[0] != n0:
            raise EmovecInputError(
                f"mats[{i}] has {g.gram.shape[0]} rows but mats[0] has {n0}; rows must match"
            )
    selfs = [_self_hsic(g, f"mats[{i}]", debiased) for i, g in enumerate(grams)]
    k = len(grams)
    out = np.eye(k)  # the diagonal is exactly 1 by definition, not up to rounding
    for i in range(k):
        for j in range(i + 1, k):
            out[i, j] = out[j, i] = _cka(grams[i], grams[j], selfs[i], selfs[j], debiased)
    return out


def centred_gram(x: np.ndarray) -> np.ndarray:
    """K = Xc Xc^T of the column-centred features x [n, p]: [n, n], all linear CKA needs."""
    xc = _centred_features(x, "x", min_rows=2)
    return xc @ xc.T


def _from_centred_gram(k: np.ndarray, name: str, debiased: bool) -> _Gram:
    k = np.array(k, dtype=np.float64)  # a copy: the diagonal may be zeroed below
    if k.ndim != 2 or k.shape[0] != k.shape[1]:
        raise EmovecInputError(f"{name} must be a square [n, n] Gram matrix; got shape {k.shape}")
    n = k.shape[0]
    if n < (4 if debiased else 2):
        raise EmovecInputError(f"{name} needs at least {4 if debiased else 2} rows; got {n}")
    if not np.isfinite(k).all():
        raise EmovecInputError(f"{name} contains NaN or inf")
    scale = max(float(np.abs(k).max()), 1.0)
    # A Gram matrix of centred features has zero row sums; anything else is not what CKA expects.
    if np.abs(k.sum(axis=1)).max() > 1e-8 * scale * n or np.abs(k - k.T).max() > 1e-8 * scale:
        raise EmovecInputError(f"{name} is not the symmetric Gram matrix of column-centred features "
                               "(rows must sum to 0); centre with centred_gram()")
    if debiased:
        np.fill_diagonal(k, 0.0)
    row_sums = k.sum(axis=1)
    return _Gram(gram=k, row_sums=row_sums, total=float(row_sums.sum()))


def gram_cka(k: np.ndarray, l: np.ndarray, debiased: bool = True) -> float:
    """Linear CKA from two centred Gram matrices K = Xc Xc^T, L = Yc Yc^T ([n, n] each).

    Equal to ``debiased_linear_cka(X, Y)`` (or ``linear_cka`` with ``debiased=False``), but the
    features never need to be stored: a pipeline can keep [n, n] per layer instead of [n, d].
    """
    a, b = _from_centred_gram(k, "k", debiased), _from_centred_gram(l, "l", debiased)
    if a.gram.shape != b.gram.shape:
        raise EmovecInputError(f"k and l must have the same shape; got {a.gram.shape} and {b.gram.shape}")
    return float(_cka(a, b, _self_hsic(a, "k", debiased), _self_hsic(b, "l", debiased), debiased))
