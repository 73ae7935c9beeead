"""One layer of the valence/arousal analysis (emovec.geometry.affect_layer): row-wise Pearson r,
the resampled ratings and the statistics of one layer. The whole analysis: test_affect."""

from __future__ import annotations

import numpy as np

from emovec.geometry.affect_layer import TARGETS, analyse_layer, pearson_rows, prepare_ratings


def _names(n: int) -> tuple[str, ...]:
    return tuple(f"e{i}" for i in range(n))


def test_pearson_rows_equals_corrcoef_broadcasts_and_is_nan_on_constant_rows():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 7)), rng.normal(size=(3, 7))
    want = [np.corrcoef(a[i], b[i])[0, 1] for i in range(3)]
    np.testing.assert_allclose(pearson_rows(a, b), want, rtol=0, atol=1e-12)
    np.testing.assert_allclose(pearson_rows(a[:, None, :], b[None]), [[np.corrcoef(x, y)[0, 1] for y in b] for x in a],
                               rtol=0, atol=1e-12)  # [3, 1, n] x [1, 3, n] -> [3, 3]
    const = np.full(7, 0.1)  # a float mean of equal values need not equal them: still NaN, not noise
    assert np.isnan(pearson_rows(const, b[0])) and np.isnan(pearson_rows(b[0], const))


def test_prepare_ratings_resamples_and_permutes_both_targets():
    ratings = np.array([[3.0, 1.0, 2.0, 2.0], [0.5, 0.1, 0.9, 0.3]])
    boot_idx = np.array([[0, 0, 1, 3]])
    perm_idx = np.array([[3, 2, 1, 0]])
    r = prepare_ratings(ratings, boot_idx, perm_idx)
    np.testing.assert_array_equal(r.ranks[0], [4.0, 1.0, 2.5, 2.5])  # average ranks on ties
    np.testing.assert_array_equal(r.boot_values[:, 0], ratings[:, [0, 0, 1, 3]])
    np.testing.assert_array_equal(r.boot_ranks[0, 0], [3.5, 3.5, 1.0, 2.0])  # ranked within the resample
    np.testing.assert_array_equal(r.perm_ranks[:, 0], r.ranks[:, ::-1])


def test_layer_statistics_observed_null_and_one_valid_set_of_resamples():
    """Observed r/rho are those of the oriented scores; the null correlates the same scores with
    permuted ratings; a resample where any statistic is undefined is NaN in all of them."""
    rng = np.random.default_rng(1)
    n = 8
    x = rng.normal(size=(n, 16))
    ratings = rng.normal(size=(2, n))
    boot_idx = np.vstack([rng.integers(0, n, size=(4, n)), np.zeros((1, n), dtype=int)])  # last: one emotion
    perm_idx = rng.permuted(np.tile(np.arange(n), (5, 1)), axis=1)
    stats = analyse_layer(x, _names(n), prepare_ratings(ratings, boot_idx, perm_idx), "max_abs_score", (), "order")
    scores = stats.fit.scores.T
    assert [pc for _, pc in TARGETS] == [0, 1]
    np.testing.assert_allclose(stats.r, pearson_rows(scores, ratings), rtol=0, atol=0)
    np.testing.assert_allclose(stats.r_null, np.abs(pearson_rows(scores[:, None, :], ratings[:, perm_idx])).T,
                               rtol=0, atol=0)
    for boot in (stats.r_boot, stats.rho_boot, stats.big_r_boot):
        assert np.isnan(boot[-1]).all() and np.isfinite(boot[:-1]).all()
    assert np.isnan(stats.lambda_ratio_boot[-1]) and not stats.swapped[-1]
    assert stats.n_boot_valid == 4
    assert np.all(stats.big_r >= np.abs(stats.r) - 1e-12)  # R on both PCs is at least r on one
    assert np.all((stats.angle >= 0) & (stats.angle <= 90))
