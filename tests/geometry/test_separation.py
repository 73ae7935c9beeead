"""Known-answer tests for separation statistics and their nulls (emovec.geometry.separation)."""

from __future__ import annotations


import numpy as np
import pytest

from emovec.emotions import NEUTRAL
from emovec.errors import EmovecInputError
from emovec.geometry.separation import (
    SeparationResult,
    _permuted_labels,
    anisotropy_baseline,
    best_layer,
    cosine_floor,
    mean_pairwise_cosine,
    pair_cosines,
    separation_by_layer,
    shuffled_label_null,
)
from emovec.vectors import compute_emotion_vectors

EMOS5 = ("happy", "sad", "calm", "desperate", "afraid")


def _simplex(n: int, d: int, n_layers: int, seed: int = 0) -> np.ndarray:
    """n equal-norm vectors centred on their own mean (a regular simplex), randomly rotated."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, n_layers, d))
    for layer in range(n_layers):
        e = np.eye(n) - 1.0 / n  # centred standard basis: a regular simplex in n dims
        q, _ = np.linalg.qr(rng.normal(size=(d, n)))
        out[:, layer] = (e @ q.T) * (layer + 1.5)  # scale per layer: cosines do not care
    return out


def _planted(seed: int = 0, n_per: int = 20, n_neutral: int = 20, n_layers: int = 3, d: int = 16,
             strength: float = 8.0):
    """Emotion stimuli = noise + strength * an orthonormal emotion direction; neutral = noise."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(d, len(EMOS5))))
    labels = np.concatenate([np.repeat(EMOS5, n_per), np.full(n_neutral, NEUTRAL)])
    rng.shuffle(labels)  # interleave so neutral positions are not a contiguous block
    acts = rng.normal(size=(labels.size, n_layers, d))
    for i, e in enumerate(EMOS5):
        acts[labels == e] += strength * q[:, i]
    return acts, labels


# ---- mean pairwise cosine and its floor ---------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 5, 20])
def test_simplex_hits_the_floor_exactly(n):
    v = _simplex(n, d=32, n_layers=3)
    np.testing.assert_allclose(v.sum(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(mean_pairwise_cosine(v), -1.0 / (n - 1), atol=1e-12)
    assert cosine_floor(n) == -1.0 / (n - 1)


def test_identical_vectors_have_mean_cosine_one():
    v = np.tile(np.arange(1.0, 9.0).reshape(1, 2, 4), (6, 1, 1))
    v[2] *= 3.0  # positive rescaling keeps the direction
    np.testing.assert_allclose(mean_pairwise_cosine(v), 1.0, atol=1e-12)


def test_mean_pairwise_cosine_matches_explicit_pairs():
    rng = np.random.default_rng(1)
    v = rng.normal(size=(7, 4, 10))
    u = v / np.linalg.norm(v, axis=-1, keepdims=True)
    expected = [
        np.mean([u[i, l] @ u[j, l] for i in range(7) for j in range(i + 1, 7)]) for l in range(4)
    ]
    np.testing.assert_allclose(mean_pairwise_cosine(v), expected, atol=1e-12)


def test_grand_mean_vectors_with_unequal_norms_sit_above_floor():
    # Trap 1: centred vectors only reach the floor with equal norms.
    v = _simplex(4, d=8, n_layers=1)
    v[0] *= 3.0
    v -= v.mean(axis=0)
    assert mean_pairwise_cosine(v)[0] > cosine_floor(4) + 1e-3


def test_floor_and_cosine_errors_name_the_problem():
    with pytest.raises(EmovecInputError, match="n=1"):
        cosine_floor(1)
    with pytest.raises(EmovecInputError, match="at least 2"):
        mean_pairwise_cosine(np.ones((1, 2, 3)))
    v = np.ones((3, 2, 4))
    v[1, 1] = 0.0
    with pytest.raises(EmovecInputError, match="vector 1 at layer 1"):
        mean_pairwise_cosine(v)


# ---- pair cosines ------------------------------------------------------------------------


def test_pair_cosines_known_values_and_missing_pairs():
    v = np.zeros((3, 2, 2))
    v[0] = [[1, 0], [1, 0]]
    v[1] = [[-2, 0], [0, 5]]
    v[2] = [[1, 1], [1, 0]]
    emos = ("happy", "sad", "calm")
    out = pair_cosines(v, emos, [("happy", "sad"), ("happy", "calm")])
    assert list(out) == ["happy-sad", "happy-calm"]
    np.testing.assert_allclose(out["happy-sad"], [-1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(out["happy-calm"], [1 / np.sqrt(2), 1.0], atol=1e-12)
    with pytest.raises(EmovecInputError, match="loving-hostile"):
        pair_cosines(v, emos, [("happy", "sad"), ("loving", "hostile")])


# ---- anisotropy --------------------------------------------------------------------------


def test_anisotropy_identical_is_one_orthogonal_is_zero():
    same = np.tile(np.array([[1.0, 2.0, 3.0, 4.0]]), (5, 3, 1))
    np.testing.assert_allclose(anisotropy_baseline(same), 1.0, atol=1e-12)
    ortho = np.tile(np.eye(4)[:, None, :], (1, 3, 1)) * 7.0
    np.testing.assert_allclose(anisotropy_baseline(ortho), 0.0, atol=1e-12)
    with pytest.raises(EmovecInputError, match="at least 2"):
        anisotropy_baseline(same[:1])


# ---- shuffled-label null -----------------------------------------------------------------


def test_null_under_planted_separation():
    acts, labels = _planted()
    n_perm = 99
    res = separation_by_layer(
        acts, labels, EMOS5, "neutral_mean", normalise=True, n_permutations=n_perm, seed=11,
        pairs=[("happy", "sad")],
    )
    assert isinstance(res, SeparationResult)
    assert np.all(res.mean_cosine < res.null_lo)
    np.testing.assert_allclose(res.p_null, 1.0 / (1 + n_perm))
    assert res.floor == -0.25 and res.n_emotions == 5 and res.n_permutations == n_perm
    assert np.all(res.null_lo <= res.null_mean) and np.all(res.null_mean <= res.null_hi)
    # Orthogonal planted directions: observed near 0, shuffled vectors share the mean direction.
    assert np.all(np.abs(res.mean_cosine) < 0.1) and np.all(res.null_lo > 0.5)


def test_null_without_signal_gives_a_uniform_p_over_seeds():
    # 100 signal-free data sets (2 layers each, 99 permutations): a valid permutation p is uniform on
    # {1/100, ..., 1}, so P(p <= 0.1) = 0.1. Bounds: Binomial(200, 0.1) lies in [8, 34] with
    # probability > 0.998, and the seeds are fixed, so the count is exact and repeatable.
    labels = np.concatenate([np.repeat(EMOS5, 6), np.full(6, NEUTRAL)])
    ps = np.concatenate([
        separation_by_layer(np.random.default_rng(seed).normal(size=(labels.size, 2, 8)), labels, EMOS5,
                            "grand_mean", False, 99, seed=seed, pairs=()).p_null for seed in range(100)])
    assert np.all(np.isin(np.round(ps * 100), np.arange(1, 101))) and np.allclose(ps * 100, np.round(ps * 100))
    assert 8 <= np.count_nonzero(ps <= 0.1) <= 34


def test_null_is_deterministic_for_a_seed_and_changes_with_it():
    acts, labels = _planted()
    a = shuffled_label_null(acts, labels, EMOS5, "grand_mean", True, 30, seed=4)
    b = shuffled_label_null(acts, labels, EMOS5, "grand_mean", True, 30, seed=4)
    c = shuffled_label_null(acts, labels, EMOS5, "grand_mean", True, 30, seed=5)
    assert a.shape == (30, 3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_permutation_keeps_neutral_labels_and_group_sizes():
    _, labels = _planted()
    perms = _permuted_labels(labels, EMOS5, 25, seed=9)
    assert perms.shape == (25, labels.size)
    neutral = labels == NEUTRAL
    assert np.all(perms[:, neutral] == NEUTRAL)
    assert not np.any(perms[:, ~neutral] == NEUTRAL)
    for row in perms:
        for e in EMOS5:
            assert np.count_nonzero(row == e) == np.count_nonzero(labels == e)
    assert not np.all(perms == labels)  # actually shuffled


@pytest.mark.parametrize(
    "baseline", ["neutral_mean", "grand_mean", "grand_mean_with_neutral", "neutral_pca"]
)
def test_vectorised_null_equals_recomputing_on_permuted_labels(baseline):
    acts, labels = _planted(n_per=6, n_neutral=10, d=12)
    null = shuffled_label_null(acts, labels, EMOS5, baseline, False, 5, seed=3)
    for row, perm_labels in zip(null, _permuted_labels(labels, EMOS5, 5, seed=3), strict=True):
        ev = compute_emotion_vectors(acts, perm_labels, EMOS5, baseline, normalise=False)
        np.testing.assert_allclose(row, mean_pairwise_cosine(ev.vectors), atol=1e-10)


def test_null_errors():
    acts, labels = _planted()
    with pytest.raises(EmovecInputError, match="n_permutations"):
        shuffled_label_null(acts, labels, EMOS5, "grand_mean", True, 0, seed=0)
    with pytest.raises(EmovecInputError, match="bogus"):
        shuffled_label_null(acts, labels, EMOS5, "bogus", True, 5, seed=0)
    with pytest.raises(EmovecInputError, match="gloomy"):
        shuffled_label_null(acts, labels, (*EMOS5, "gloomy"), "grand_mean", True, 5, seed=0)


# ---- result table ------------------------------------------------------------------------


def test_to_rows_and_anisotropy_gap():
    acts, labels = _planted(n_layers=2)
    aniso_acts = np.random.default_rng(2).normal(size=(8, 2, 16)) + 3.0
    res = separation_by_layer(
        acts, labels, EMOS5, "neutral_pca", normalise=False, n_permutations=20, seed=0,
        anisotropy_acts=aniso_acts, pairs=[("happy", "sad"), ("calm", "desperate")],
    )
    rows = res.to_rows()
    assert len(rows) == 2
    expected_keys = {
        "layer", "mean_cosine", "floor", "null_mean", "null_lo", "null_hi", "p_null",
        "anisotropy", "gap_to_anisotropy", "cos_happy-sad", "cos_calm-desperate",
        "n_emotions", "n_permutations", "baseline", "normalised",
    }
    assert expected_keys <= set(rows[0])
    for layer, row in enumerate(rows):
        assert row["layer"] == layer
        assert row["baseline"] == "neutral_pca" and row["normalised"] is False
        assert row["removed_k"] == int(res.removed_k[layer]) >= 1
        np.testing.assert_allclose(row["anisotropy"], anisotropy_baseline(aniso_acts)[layer])
        np.testing.assert_allclose(
            row["gap_to_anisotropy"], row["anisotropy"] - row["mean_cosine"], atol=1e-15
        )
        np.testing.assert_allclose(row["cos_happy-sad"], res.pair_cosines["happy-sad"][layer])
    # Without anisotropy data the columns exist and are NaN.
    res2 = separation_by_layer(acts, labels, EMOS5, "grand_mean", True, 10, 0, pairs=())
    row = res2.to_rows()[0]
    assert np.isnan(row["anisotropy"]) and np.isnan(row["gap_to_anisotropy"])
    assert row["removed_k"] is None
    with pytest.raises(EmovecInputError, match="anisotropy_acts"):
        separation_by_layer(acts, labels, EMOS5, "grand_mean", True, 5, 0,
                            anisotropy_acts=aniso_acts[:, :1], pairs=())


def test_default_pairs_absent_are_named():
    acts, labels = _planted()
    with pytest.raises(EmovecInputError, match="loving-hostile"):
        separation_by_layer(acts, labels, EMOS5, "grand_mean", True, 5, 0)


def test_best_layer_is_argmin():
    assert best_layer(np.array([0.3, -0.1, 0.2])) == 1
    assert best_layer(np.array([np.nan, 0.5, 0.4])) == 2
    with pytest.raises(EmovecInputError, match="NaN"):
        best_layer(np.array([np.nan, np.nan]))
