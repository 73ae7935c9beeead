"""emovec.stats.rsa: Spearman of cosine matrices equals scipy's, a geometry against a relabelled
copy of itself is rho = 1 at the smallest p, the Mantel p matches exact enumeration and is uniform
for independent geometries, and the bootstrap CI is deterministic and covers the truth."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import binom, spearmanr

from emovec.errors import EmovecInputError
from emovec.stats.rsa import cosine_matrix, mantel_test, rsa_bootstrap_ci, rsa_compare, upper_triangle


def _vectors(seed: int, n: int = 20, d: int = 32) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d))


def test_cosine_matrix_and_upper_triangle():
    v = np.array([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0], [1.0, 1.0]])
    c = cosine_matrix(v)
    np.testing.assert_allclose(np.diag(c), 1.0)
    assert c[0, 2] == -1.0 and c[0, 1] == 0.0
    np.testing.assert_allclose(c[0, 3], 1 / np.sqrt(2))
    np.testing.assert_array_equal(upper_triangle(np.arange(16.0).reshape(4, 4)), [1, 2, 3, 6, 7, 11])


def test_rho_equals_scipy_spearman_of_the_upper_triangles():
    a, b = cosine_matrix(_vectors(0)), cosine_matrix(_vectors(1) + 0.5 * _vectors(0)[:, :32])
    rho, _ = mantel_test(a, b, n_perm=9, seed=0)
    assert rho == pytest.approx(spearmanr(upper_triangle(a), upper_triangle(b)).statistic, abs=1e-12)


def test_a_relabelled_copy_of_itself_gives_rho_one_at_the_smallest_p():
    v = _vectors(2)
    perm = np.random.default_rng(3).permutation(20)
    relabelled = v[perm]  # the same geometry, emotions listed in another order
    aligned = relabelled[np.argsort(perm)]  # put back in the first set's order (align by emotion name)
    rho, p = mantel_test(cosine_matrix(v), cosine_matrix(aligned), n_perm=999, seed=0)
    assert rho == pytest.approx(1.0, abs=1e-12) and p == 1 / 1000
    # unaligned, the same matrices are no longer the same geometry
    rho_unaligned, _ = mantel_test(cosine_matrix(v), cosine_matrix(relabelled), n_perm=9, seed=0)
    assert rho_unaligned < 0.5


def test_mantel_p_matches_exact_enumeration_of_all_relabellings():
    n = 5
    a, b = cosine_matrix(_vectors(4, n, 6)), cosine_matrix(_vectors(4, n, 6) + _vectors(5, n, 6))
    rho = spearmanr(upper_triangle(a), upper_triangle(b)).statistic
    exact = np.mean([spearmanr(upper_triangle(a), upper_triangle(b[np.ix_(p, p)])).statistic >= rho - 1e-12
                     for p in map(list, itertools.permutations(range(n)))])
    n_perm = 20000
    _, p = mantel_test(a, b, n_perm=n_perm, seed=1)
    se = np.sqrt(exact * (1 - exact) / n_perm)
    assert abs(p - exact) < 4 * se + 1 / n_perm


def test_independent_geometries_give_a_uniform_p_over_seeds():
    n_seeds, n_perm = 300, 99
    ps = np.array([mantel_test(cosine_matrix(_vectors(1000 + s)), cosine_matrix(_vectors(5000 + s)),
                               n_perm=n_perm, seed=s)[1] for s in range(n_seeds)])
    # P(p <= 0.05) = 5/100 exactly under the null (p takes values k/100); 99.9% binomial bounds.
    k = int(np.sum(ps <= 0.05))
    lo, hi = binom.ppf([0.0005, 0.9995], n_seeds, 0.05)
    assert lo <= k <= hi, k
    assert 0.44 < ps.mean() < 0.57


def test_bootstrap_ci_is_deterministic_and_covers_a_shared_geometry():
    shared = _vectors(6)
    a = shared + 0.3 * _vectors(7)
    b = shared @ np.random.default_rng(8).normal(size=(32, 48)) + 0.3 * _vectors(9, d=48)
    first = rsa_bootstrap_ci(a, b, n_boot=300, seed=0)
    assert first == rsa_bootstrap_ci(a, b, n_boot=300, seed=0)
    lo, hi, n_valid = first
    res = rsa_compare(a, b, n_perm=199, n_boot=300, seed=0)
    assert n_valid == 300 and lo < res.rho < hi and lo > 0
    assert res.p_mantel == 1 / 200 and res.n_emotions == 20 and res.n_pairs == 190


@pytest.mark.parametrize("a,b,fragment", [
    (np.eye(3), np.eye(4), "two square matrices of one shape"),
    (np.eye(2), np.eye(2), "n >= 3"),
    (np.triu(np.ones((3, 3))), np.eye(3), "symmetric"),
])
def test_bad_matrices_are_refused(a, b, fragment):
    with pytest.raises(EmovecInputError, match=fragment):
        mantel_test(a, b, n_perm=9, seed=0)


def test_a_zero_vector_is_refused():
    v = _vectors(0, 4, 3)
    v[2] = 0
    with pytest.raises(EmovecInputError, match="zero or not finite"):
        cosine_matrix(v)


def test_average_ranks_equal_scipys_rankdata_bit_for_bit_with_ties():
    from scipy.stats import rankdata

    from emovec.stats.rsa import average_ranks

    rng = np.random.default_rng(0)
    for shape in [(1,), (7,), (190,), (5, 45), (3, 4, 10)]:
        x = rng.integers(0, 6, size=shape).astype(float)  # many ties
        np.testing.assert_array_equal(average_ranks(x), rankdata(x, axis=-1))
        y = rng.normal(size=shape)
        np.testing.assert_array_equal(average_ranks(y), rankdata(y, axis=-1))
    np.testing.assert_array_equal(average_ranks([2.0, 2.0, 2.0]), [2.0, 2.0, 2.0])
    with pytest.raises(EmovecInputError, match="non-finite"):
        average_ranks([1.0, np.nan])
