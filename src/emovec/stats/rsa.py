"""Representational similarity between two emotion geometries: Spearman of the cosine matrices,
the Mantel label-permutation test and a bootstrap CI over emotions.

A geometry is the n x n cosine matrix of n emotion vectors. Two geometries are compared on the
same emotions, in the same order, by Spearman's rho over the n(n-1)/2 entries above the diagonal
(Jeong's follow-up, arXiv 2604.11050, compares raw-cosine RDMs this way). Those entries are not
independent (each emotion appears in n-1 of them), so a p-value from the usual rho test is
anti-conservative; the null here permutes the emotion labels of one matrix jointly over its rows
and columns (Mantel 1967), which keeps each matrix's own structure and breaks only the
correspondence. The CI resamples emotions with replacement and recomputes rho on the entries
between distinct drawn emotions (a pair drawn twice is one emotion with itself: no information).

Units: rho and its CI are rank correlations (dimensionless); p is one-sided, for rho > 0 (the
claim tested is that the geometries are shared, i.e. positively related).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emovec.errors import EmovecInputError
from emovec.stats.multiple import percentile_ci

__all__ = ["RSAResult", "average_ranks", "cosine_matrix", "mantel_test", "rsa_bootstrap_ci", "rsa_compare", "upper_triangle"]


def cosine_matrix(vectors: np.ndarray) -> np.ndarray:
    """float64 [n, n] cosines between the rows of ``vectors`` [n, d].

    Raises:
        EmovecInputError: not 2-D, fewer than 3 rows, or a zero row (its cosine is undefined).
    """
    v = np.asarray(vectors, dtype=np.float64)
    if v.ndim != 2 or v.shape[0] < 3:
        raise EmovecInputError(f"vectors must be [n >= 3, d]; got shape {v.shape}")
    norms = np.linalg.norm(v, axis=1)
    if np.any(norms == 0) or not np.all(np.isfinite(norms)):
        raise EmovecInputError("a vector is zero or not finite: its cosines are undefined")
    u = v / norms[:, None]
    return np.clip(u @ u.T, -1.0, 1.0)


def upper_triangle(m: np.ndarray) -> np.ndarray:
    """The n(n-1)/2 entries of the square matrix ``m`` above the diagonal, row by row."""
    i, j = np.triu_indices(m.shape[0], k=1)
    return m[i, j]


def average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks along the last axis, ties sharing the mean of their positions: float64, the
    values of ``scipy.stats.rankdata(x, axis=-1)`` (method "average") for finite ``x``.

    Each rank is a half-integer (first + last position of its tie group) / 2 + 1, exact in
    float64, so the two agree bit for bit; this one skips scipy's per-call checks, which
    dominate when the RSA bootstrap ranks a few hundred entries tens of thousands of times.
    """
    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise EmovecInputError("cannot rank non-finite values")
    m = x.shape[-1]
    if x.ndim == 1:  # the bootstrap's case: few numpy calls, as it runs tens of thousands of times
        order = np.argsort(x, kind="stable")
        xs = x[order]
        first = np.flatnonzero(np.concatenate(([True], xs[1:] != xs[:-1])))
        last = np.concatenate((first[1:], [m])) - 1
        ranks = np.empty(m)
        ranks[order] = np.repeat((first + last) / 2 + 1, last - first + 1)
        return ranks
    order = np.argsort(x, axis=-1, kind="stable")
    xs = np.take_along_axis(x, order, axis=-1)
    pos = np.broadcast_to(np.arange(m), xs.shape)
    starts = np.ones(xs.shape, dtype=bool)  # sorted position opens a tie group
    starts[..., 1:] = xs[..., 1:] != xs[..., :-1]
    ends = np.ones(xs.shape, dtype=bool)  # sorted position closes a tie group
    ends[..., :-1] = starts[..., 1:]
    first = np.maximum.accumulate(np.where(starts, pos, 0), axis=-1)
    last = np.flip(np.minimum.accumulate(np.flip(np.where(ends, pos, m - 1), axis=-1), axis=-1), axis=-1)
    ranks = np.empty_like(xs)
    np.put_along_axis(ranks, order, (first + last) / 2 + 1, axis=-1)
    return ranks


def _rank_rows(x: np.ndarray) -> np.ndarray:
    """Ranks along the last axis, centred and scaled to unit norm (Pearson of these = Spearman)."""
    r = average_ranks(x)
    r = r - r.mean(axis=-1, keepdims=True)
    return r / np.linalg.norm(r, axis=-1, keepdims=True)


def _check_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape != b.shape or a.shape[0] < 3:
        raise EmovecInputError(f"need two square matrices of one shape [n >= 3, n]; got {a.shape} and {b.shape}")
    if not (np.allclose(a, a.T) and np.allclose(b, b.T)):
        raise EmovecInputError("similarity matrices must be symmetric")
    return a, b


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ua, ub = upper_triangle(a), upper_triangle(b)
    if np.ptp(ua) == 0 or np.ptp(ub) == 0:
        return float("nan")  # a constant geometry has no ranks to correlate
    return float(np.dot(_rank_rows(ua), _rank_rows(ub)))


def mantel_test(a: np.ndarray, b: np.ndarray, n_perm: int, seed: int) -> tuple[float, float]:
    """Spearman rho between the upper triangles of ``a`` and ``b`` [n, n] (rows/columns are the
    same emotions in the same order) and its one-sided Mantel p: the share of ``n_perm`` joint
    row/column relabellings of ``b`` (plus the observed one) whose rho is at least the observed.

    The smallest possible p is 1 / (n_perm + 1). Deterministic for a fixed ``seed``.
    """
    a, b = _check_pair(a, b)
    if n_perm < 1:
        raise EmovecInputError(f"n_perm must be >= 1; got {n_perm}")
    rho = _spearman(a, b)
    if not np.isfinite(rho):
        return rho, float("nan")
    n = a.shape[0]
    rng = np.random.default_rng(seed)
    perms = np.argsort(rng.random((n_perm, n)), axis=1)  # n_perm uniform permutations
    i, j = np.triu_indices(n, k=1)
    permuted = b[perms[:, i], perms[:, j]]  # [n_perm, n(n-1)/2]: b relabelled, upper triangle
    null = _rank_rows(permuted) @ _rank_rows(upper_triangle(a))
    # rho is compared with a tolerance: a relabelling that reproduces b exactly must count as >=.
    p = (1 + int(np.sum(null >= rho - 1e-12))) / (n_perm + 1)
    return rho, p


def rsa_bootstrap_ci(vectors_a: np.ndarray, vectors_b: np.ndarray, n_boot: int, seed: int,
                     level: float = 0.95) -> tuple[float, float, int]:
    """Percentile CI of the RSA rho over emotions resampled with replacement.

    Args:
        vectors_a, vectors_b: [n, d_a] and [n, d_b]: the same n emotions, in the same order.
        n_boot: resamples; a resample with fewer than 3 distinct emotions is skipped.

    Returns:
        (low, high, n_valid): the CI bounds and the number of resamples they come from.
    """
    ca, cb = cosine_matrix(vectors_a), cosine_matrix(vectors_b)
    n = ca.shape[0]
    if cb.shape[0] != n:
        raise EmovecInputError(f"the two vector sets hold {n} and {cb.shape[0]} emotions; they must match")
    if not 0 < level < 1 or n_boot < 1:
        raise EmovecInputError(f"need 0 < level < 1 and n_boot >= 1; got level={level}, n_boot={n_boot}")
    rng = np.random.default_rng(seed)
    i, j = np.triu_indices(n, k=1)
    rhos = []
    for _ in range(n_boot):
        idx = rng.integers(0, n, size=n)
        distinct = idx[i] != idx[j]
        if len(np.unique(idx)) < 3:
            continue
        xa, xb = ca[idx[i], idx[j]][distinct], cb[idx[i], idx[j]][distinct]
        if np.ptp(xa) == 0 or np.ptp(xb) == 0:
            continue
        rhos.append(float(np.dot(_rank_rows(xa), _rank_rows(xb))))
    lo, hi = percentile_ci(np.asarray(rhos, dtype=float), level, too_few="nan")
    return lo, hi, len(rhos)


@dataclass(frozen=True)
class RSAResult:
    """One comparison of two geometries on ``n_emotions`` shared emotions: Spearman ``rho`` of the
    cosine matrices, one-sided Mantel ``p`` (``n_perm`` relabellings), bootstrap CI over emotions
    (``n_boot_valid`` of ``n_boot`` resamples, percentile, ``level``)."""

    rho: float
    p_mantel: float
    ci_low: float
    ci_high: float
    n_emotions: int
    n_pairs: int
    n_perm: int
    n_boot: int
    n_boot_valid: int
    level: float


def rsa_compare(vectors_a: np.ndarray, vectors_b: np.ndarray, *, n_perm: int, n_boot: int, seed: int,
                level: float = 0.95) -> RSAResult:
    """Every statistic of one RSA comparison of two vector sets [n, d_a], [n, d_b] (same emotions,
    same order)."""
    ca, cb = cosine_matrix(vectors_a), cosine_matrix(vectors_b)
    rho, p = mantel_test(ca, cb, n_perm, seed)
    lo, hi, n_valid = rsa_bootstrap_ci(vectors_a, vectors_b, n_boot, seed + 1, level)
    n = ca.shape[0]
    return RSAResult(rho=rho, p_mantel=p, ci_low=lo, ci_high=hi, n_emotions=n, n_pairs=n * (n - 1) // 2,
                     n_perm=n_perm, n_boot=n_boot, n_boot_valid=n_valid, level=level)
