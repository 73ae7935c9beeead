"""emovec.geometry.pca: PCA across emotions equals the SVD, the orientation rules, and the
emotion-space bootstrap refit equals a naive refit."""

from __future__ import annotations

import numpy as np
import pytest

from emovec.errors import EmovecInputError
from emovec.geometry.affect_layer import pearson_rows
from emovec.geometry.orientation import ORIENTATIONS
from emovec.geometry.pca import bootstrap_scores, fit_pca, orient


def _names(n: int) -> tuple[str, ...]:
    return tuple(f"e{i}" for i in range(n))


# ---- PCA --------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(10, 50), (30, 5), (6, 6)])  # wide (Gram route), tall, square
def test_fit_pca_equals_svd_up_to_sign(shape):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape) * np.linspace(3, 1, shape[1]) + 2.0
    k = 3
    fit = fit_pca(x, k)
    xc = x - x.mean(axis=0)
    u, s, vt = np.linalg.svd(xc, full_matrices=False)
    signs = np.sign(np.sum(fit.loadings * vt[:k], axis=1))
    np.testing.assert_allclose(fit.loadings * signs[:, None], vt[:k], atol=1e-8)
    np.testing.assert_allclose(fit.scores * signs[None, :], u[:, :k] * s[:k], atol=1e-8)
    np.testing.assert_allclose(fit.eigenvalues, s[:k] ** 2 / (shape[0] - 1), rtol=1e-10)
    np.testing.assert_allclose(fit.explained_ratio, s[:k] ** 2 / np.sum(s**2), rtol=1e-10)
    np.testing.assert_allclose(fit.loadings @ fit.loadings.T, np.eye(k), atol=1e-10)
    np.testing.assert_allclose(fit.scores, xc @ fit.loadings.T, atol=1e-10)


@pytest.mark.parametrize(
    "x, k, fragment",
    [
        (np.ones((2, 5)), 2, "at least 3 rows"),
        (np.ones((6, 5)), 2, "rank 0 < k=2"),
        (np.outer(np.arange(6.0), np.ones(5)), 2, "rank 1 < k=2"),  # rows on a line
        (np.outer(np.arange(6.0), np.ones(40)), 2, "rank 1 < k=2"),  # same, Gram route
        (np.array([[0.0, 1.0], [np.nan, 2.0], [1.0, 0.0]]), 1, "NaN"),
        (np.ones(5), 1, "2-D"),
        (np.eye(4), 0, "k must be an integer >= 1"),
    ],
)
def test_fit_pca_bad_inputs(x, k, fragment):
    with pytest.raises(EmovecInputError, match=fragment):
        fit_pca(x, k)


# ---- orientation ------------------------------------------------------------------------------


def test_anchor_orientation_makes_anchors_positive_and_flips_loadings_with_scores():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 12))
    emotions = _names(8)
    raw = fit_pca(x, 2)
    for anchors in [("e0", "e1"), ("e5", "e5"), ("e7", "e2")]:
        fit = orient(raw, emotions, "anchor", anchors)
        assert fit.scores[emotions.index(anchors[0]), 0] > 0
        assert fit.scores[emotions.index(anchors[1]), 1] > 0
        np.testing.assert_allclose(fit.scores, (x - x.mean(axis=0)) @ fit.loadings.T, atol=1e-10)
        np.testing.assert_array_equal(fit.eigenvalues, raw.eigenvalues)


def test_max_abs_orientation_makes_the_most_extreme_emotion_positive():
    x = np.random.default_rng(2).normal(size=(9, 4))
    fit = orient(fit_pca(x, 2), _names(9), "max_abs_score")
    extreme = np.argmax(np.abs(fit.scores), axis=0)
    assert np.all(fit.scores[extreme, [0, 1]] > 0)


def test_anchor_with_zero_score_falls_back_to_max_abs():
    scores = np.array([[0.0, 1.0], [2.0, -3.0], [-5.0, 0.5]])
    emotions = ("a", "b", "c")
    # PC1: anchor "a" scores exactly 0 -> max |score| is c's -5 -> flip; PC2: "a" is +1 -> keep
    np.testing.assert_array_equal(ORIENTATIONS["anchor"](scores, emotions, ("a", "a")), [-1.0, 1.0])


def test_orientation_errors():
    fit = fit_pca(np.random.default_rng(0).normal(size=(5, 3)), 2)
    with pytest.raises(EmovecInputError, match=r"unknown orientation 'nope'.*anchor.*max_abs_score"):
        orient(fit, _names(5), "nope")
    with pytest.raises(EmovecInputError, match=r"anchor emotion\(s\) \['happy'\] not among"):
        orient(fit, _names(5), "anchor", ("happy", "e1"))
    with pytest.raises(EmovecInputError, match="one anchor emotion per PC"):
        orient(fit, _names(5), "anchor", ("e1",))


# ---- bootstrap fast path ----------------------------------------------------------------------


@pytest.mark.parametrize("matching", ["order", "sign"])
@pytest.mark.parametrize("d", [30, 5])  # naive refit through the Gram route and the SVD route
def test_bootstrap_fast_path_equals_naive_refit(d, matching):
    rng = np.random.default_rng(4)
    n = 8
    # two leading directions of nearly equal variance, so some refits swap PC1 and PC2
    x = rng.normal(size=(n, d)) * np.r_[1.0, 0.97, np.linspace(0.5, 0.3, d - 2)]
    full = orient(fit_pca(x, 2), _names(n), "max_abs_score")
    boot_idx = np.concatenate([
        rng.integers(0, n, size=(60, n)),
        [[0, 0, 0, 1, 1, 1, 1, 0], [3] * n],  # 2 distinct rows (no PC2) and 1 (no PC at all)
    ])
    fits = bootstrap_scores(x, full, boot_idx, matching)
    fast = fits.scores
    assert fast.shape == (62, n, 2) and fits.swapped.shape == (62,) and fits.lambda_ratio.shape == (62,)
    v = rng.normal(size=n)
    compared = swaps = 0
    for b, idx in enumerate(boot_idx):
        try:
            refit = fit_pca(x[idx], 2)
        except EmovecInputError:
            assert np.isnan(fast[b, :, 1]).all() and not fits.swapped[b]  # PC2 undefined in the fast path too
            assert np.isnan(fits.lambda_ratio[b])
            continue
        # naive matching on the d-dim loadings: the assignment with the larger total |cosine|
        # (order only), then the sign of each matched pair
        cos = refit.loadings @ full.loadings.T
        swap = matching == "order" and abs(cos[0, 1]) + abs(cos[1, 0]) > abs(cos[0, 0]) + abs(cos[1, 1])
        order = [1, 0] if swap else [0, 1]
        signs = np.where(np.diag(cos[order]) < 0, -1.0, 1.0)
        naive = refit.scores[:, order] * signs[None, :]
        np.testing.assert_allclose(fast[b], naive, atol=1e-8)
        np.testing.assert_allclose(
            pearson_rows(fast[b].T, v[idx]), pearson_rows(naive.T, v[idx]), atol=1e-8
        )
        assert fits.swapped[b] == (abs(cos[0, 1]) + abs(cos[1, 0]) > abs(cos[0, 0]) + abs(cos[1, 1]))
        assert fits.lambda_ratio[b] == pytest.approx(refit.eigenvalues[0] / refit.eigenvalues[1], rel=1e-8)
        compared += 1
        swaps += swap
    assert compared >= 55
    assert (swaps >= 5) if matching == "order" else (swaps == 0)  # the case exercises both branches
    assert fits.swapped.sum() >= 5  # the diagnostic is recorded under either matching
    assert np.isnan(fast[61]).all()  # a single distinct row has no PC1 either
    assert np.isfinite(fast[60, :, 0]).all()  # two distinct rows still define PC1
