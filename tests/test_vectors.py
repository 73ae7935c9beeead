"""Known-answer tests for emotion vectors under each baseline (emovec.vectors)."""

from __future__ import annotations

import numpy as np
import pytest

from emovec.baselines import BASELINES, register_baseline
from emovec.emotions import NEUTRAL
from emovec.errors import EmovecInputError
from emovec.vectors import compute_emotion_vectors

EMOS = ("happy", "sad", "calm")


def _toy(seed: int = 0, n_layers: int = 3, d: int = 5):
    """Small cache: happy x2, sad x3, calm x1, neutral x4 (unequal sizes on purpose)."""
    rng = np.random.default_rng(seed)
    labels = np.array(
        ["happy", "sad", NEUTRAL, "happy", "sad", "calm", NEUTRAL, "sad", NEUTRAL, NEUTRAL]
    )
    acts = rng.normal(size=(labels.size, n_layers, d))
    return acts, labels


def _hand_means(acts, labels):
    return {e: acts[labels == e].mean(axis=0) for e in (*EMOS, NEUTRAL)}


def test_registry_has_the_four_baselines():
    assert {"neutral_mean", "grand_mean", "grand_mean_with_neutral", "neutral_pca"} <= set(
        BASELINES
    )


def test_neutral_mean_equals_hand_difference():
    acts, labels = _toy()
    m = _hand_means(acts, labels)
    ev = compute_emotion_vectors(acts, labels, EMOS, "neutral_mean", normalise=False)
    assert ev.vectors.shape == (3, 3, 5)
    # happy: stimuli 0 and 3; neutral: 2, 6, 8, 9 (story-weighted, each counts once)
    happy = (acts[0] + acts[3]) / 2 - (acts[2] + acts[6] + acts[8] + acts[9]) / 4
    np.testing.assert_allclose(ev.vectors[0], happy, atol=1e-12)
    for i, e in enumerate(EMOS):
        np.testing.assert_allclose(ev.vectors[i], m[e] - m[NEUTRAL], atol=1e-12)
    assert ev.n_per_emotion == {"happy": 2, "sad": 3, "calm": 1}
    assert ev.n_neutral == 4
    assert ev.removed_k is None
    assert ev.baseline == "neutral_mean" and ev.normalised is False
    assert ev.emotions == EMOS


def test_grand_mean_sums_to_zero_and_ignores_neutral():
    acts, labels = _toy()
    m = _hand_means(acts, labels)
    ev = compute_emotion_vectors(acts, labels, EMOS, "grand_mean", normalise=False)
    np.testing.assert_allclose(ev.vectors.sum(axis=0), 0.0, atol=1e-10)
    centre = (m["happy"] + m["sad"] + m["calm"]) / 3
    np.testing.assert_allclose(ev.vectors[1], m["sad"] - centre, atol=1e-12)
    # Neutral stimuli do not enter the grand mean: shifting them changes nothing.
    shifted = acts.copy()
    shifted[labels == NEUTRAL] += 100.0
    ev2 = compute_emotion_vectors(shifted, labels, EMOS, "grand_mean", normalise=False)
    np.testing.assert_allclose(ev2.vectors, ev.vectors, atol=1e-12)


def test_grand_mean_with_neutral_equals_hand_computation():
    acts, labels = _toy()
    m = _hand_means(acts, labels)
    ev = compute_emotion_vectors(acts, labels, EMOS, "grand_mean_with_neutral", normalise=False)
    # Category means weighted equally: (3 emotions + neutral) / 4.
    centre = (m["happy"] + m["sad"] + m["calm"] + m[NEUTRAL]) / 4
    for i, e in enumerate(EMOS):
        np.testing.assert_allclose(ev.vectors[i], m[e] - centre, atol=1e-12)
    # Emotions plus the neutral contrast sum to zero over the 4 categories.
    np.testing.assert_allclose(ev.vectors.sum(axis=0) + (m[NEUTRAL] - centre), 0.0, atol=1e-10)


@pytest.mark.parametrize("baseline", ["neutral_mean", "grand_mean", "grand_mean_with_neutral"])
def test_unit_normalised_vectors_have_norm_one(baseline):
    acts, labels = _toy()
    raw = compute_emotion_vectors(acts, labels, EMOS, baseline, normalise=False)
    ev = compute_emotion_vectors(acts, labels, EMOS, baseline, normalise=True)
    np.testing.assert_allclose(np.linalg.norm(ev.vectors, axis=-1), 1.0, atol=1e-12)
    # Same direction as the raw vector.
    np.testing.assert_allclose(
        ev.vectors * np.linalg.norm(raw.vectors, axis=-1, keepdims=True), raw.vectors, atol=1e-12
    )
    assert ev.normalised is True


def test_labels_outside_emotions_are_ignored_and_float32_is_accepted():
    acts, labels = _toy()
    labels = labels.copy()
    labels[5] = "grateful"  # the only calm stimulus becomes an unrequested emotion
    ev = compute_emotion_vectors(
        acts.astype(np.float32), labels, ("happy", "sad"), "neutral_mean", normalise=False
    )
    assert ev.vectors.dtype == np.float64
    assert ev.n_per_emotion == {"happy": 2, "sad": 3}


def _orthonormal(rng, d, m):
    q, _ = np.linalg.qr(rng.normal(size=(d, m)))
    return q[:, :m]


def _planted_neutral(rng, n, d, variances, noise_total):
    """Neutral activations whose centred covariance has exactly the given top eigenvalues.

    The planted directions (columns of the returned basis) carry variance ``variances`` each;
    the remaining ``noise_total`` variance lies in the orthogonal complement, spread over
    many directions so that none of them rivals the planted ones.
    """
    m = len(variances)
    basis = _orthonormal(rng, d, d)
    planted, rest = basis[:, :m], basis[:, m:]
    # Coefficients with orthogonal, zero-mean columns so the sample variances are exact.
    c = rng.normal(size=(n, n - 1))
    c -= c.mean(axis=0)
    q, _ = np.linalg.qr(c)
    coef = q[:, :m] * np.sqrt(np.asarray(variances) * n)
    noise = rng.normal(size=(n, rest.shape[1]))
    noise -= noise.mean(axis=0)
    noise = noise - q[:, :m] @ (q[:, :m].T @ noise)  # uncorrelated with the planted coefs
    noise *= np.sqrt(noise_total * n / (noise**2).sum())
    x = coef @ planted.T + noise @ rest.T + rng.normal(size=d)  # arbitrary offset
    return x, planted


def test_neutral_pca_records_k_and_removes_planted_subspace():
    rng = np.random.default_rng(7)
    n_neu, d = 60, 32
    # Per layer: planted explained-variance ratios, expected k at threshold 0.5.
    layer_specs = [((0.45, 0.40), 2), ((0.60,), 1), ((0.2, 0.2, 0.2), 3)]
    n_layers = len(layer_specs)
    neutral = np.empty((n_neu, n_layers, d))
    subspaces = []
    for layer, (variances, _) in enumerate(layer_specs):
        x, planted = _planted_neutral(rng, n_neu, d, variances, 1.0 - sum(variances))
        neutral[:, layer] = x
        subspaces.append(planted)
    emo_acts = rng.normal(size=(30, n_layers, d)) * 3.0
    emo_labels = np.repeat(list(EMOS), 10)
    acts = np.concatenate([emo_acts, neutral])
    labels = np.concatenate([emo_labels, np.full(n_neu, NEUTRAL)])

    ev = compute_emotion_vectors(acts, labels, EMOS, "neutral_pca", normalise=False)
    np.testing.assert_array_equal(ev.removed_k, [k for _, k in layer_specs])
    gm = compute_emotion_vectors(acts, labels, EMOS, "grand_mean", normalise=False)
    for layer, basis in enumerate(subspaces):
        v = ev.vectors[:, layer]
        # Orthogonal to the planted subspace ...
        np.testing.assert_allclose(v @ basis, 0.0, atol=1e-10)
        # ... and otherwise the grand-mean contrast, untouched.
        g = gm.vectors[:, layer]
        np.testing.assert_allclose(v, g - (g @ basis) @ basis.T, atol=1e-10)
    np.testing.assert_allclose(ev.vectors.sum(axis=0), 0.0, atol=1e-10)

    # Normalising still yields unit vectors and the same removed_k.
    evn = compute_emotion_vectors(acts, labels, EMOS, "neutral_pca", normalise=True)
    np.testing.assert_allclose(np.linalg.norm(evn.vectors, axis=-1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(evn.removed_k, ev.removed_k)

    # A higher threshold needs more components at layer 0 (0.45, 0.85, then noise).
    ev9 = compute_emotion_vectors(
        acts, labels, EMOS, "neutral_pca", normalise=False, variance_threshold=0.8
    )
    assert ev9.removed_k[0] == 2 and ev9.removed_k[1] > 1


@pytest.mark.parametrize("baseline", ["neutral_mean", "grand_mean"])
def test_planted_directions_are_recovered(baseline):
    rng = np.random.default_rng(3)
    n_layers, d, n_per = 4, 64, 20
    emos = ("happy", "sad", "calm", "afraid", "angry")
    dirs = rng.normal(size=(len(emos), n_layers, d))
    dirs /= np.linalg.norm(dirs, axis=-1, keepdims=True)
    labels = np.concatenate([np.repeat(emos, n_per), np.full(n_per, NEUTRAL)])
    acts = rng.normal(size=(labels.size, n_layers, d))
    for i, e in enumerate(emos):
        acts[labels == e] += 10.0 * dirs[i]
    ev = compute_emotion_vectors(acts, labels, emos, baseline, normalise=True)
    target = 10.0 * dirs
    if baseline == "grand_mean":
        target = target - target.mean(axis=0)  # the grand-mean contrast of the planted signal
    cos = (ev.vectors * target).sum(-1) / np.linalg.norm(target, axis=-1)
    assert cos.min() > 0.95


# ---- errors -----------------------------------------------------------------------------


def test_unknown_baseline_names_it_and_lists_known():
    acts, labels = _toy()
    with pytest.raises(EmovecInputError, match="bogus") as info:
        compute_emotion_vectors(acts, labels, EMOS, "bogus", normalise=False)
    assert "neutral_pca" in str(info.value)


def test_missing_emotion_is_named():
    acts, labels = _toy()
    with pytest.raises(EmovecInputError, match="gloomy"):
        compute_emotion_vectors(acts, labels, (*EMOS, "gloomy"), "grand_mean", normalise=False)


@pytest.mark.parametrize("baseline", ["neutral_mean", "grand_mean_with_neutral", "neutral_pca"])
def test_neutral_baselines_without_neutral_raise(baseline):
    acts, labels = _toy()
    keep = labels != NEUTRAL
    with pytest.raises(EmovecInputError, match=f"{baseline}.*{NEUTRAL}"):
        compute_emotion_vectors(acts[keep], labels[keep], EMOS, baseline, normalise=False)


def test_grand_mean_without_neutral_is_fine():
    acts, labels = _toy()
    keep = labels != NEUTRAL
    ev = compute_emotion_vectors(acts[keep], labels[keep], EMOS, "grand_mean", normalise=False)
    assert ev.n_neutral == 0


def test_neutral_pca_with_one_neutral_stimulus_raises():
    acts, labels = _toy()
    keep = np.ones(labels.size, bool)
    keep[[6, 8, 9]] = False
    with pytest.raises(EmovecInputError, match="at least 2"):
        compute_emotion_vectors(acts[keep], labels[keep], EMOS, "neutral_pca", normalise=False)


def test_shape_mismatches_raise():
    acts, labels = _toy()
    with pytest.raises(EmovecInputError, match="labels"):
        compute_emotion_vectors(acts, labels[:-1], EMOS, "grand_mean", normalise=False)
    with pytest.raises(EmovecInputError, match="acts"):
        compute_emotion_vectors(acts[:, 0], labels, EMOS, "grand_mean", normalise=False)


def test_bad_emotion_lists_raise():
    acts, labels = _toy()
    with pytest.raises(EmovecInputError, match="sad"):
        compute_emotion_vectors(acts, labels, ("sad", "sad"), "grand_mean", normalise=False)
    with pytest.raises(EmovecInputError, match=NEUTRAL):
        compute_emotion_vectors(acts, labels, ("sad", NEUTRAL), "grand_mean", normalise=False)


def test_non_finite_acts_name_the_stimulus():
    acts, labels = _toy()
    acts[4, 1, 2] = np.nan
    with pytest.raises(EmovecInputError, match="stimulus 4"):
        compute_emotion_vectors(acts, labels, EMOS, "grand_mean", normalise=False)


def test_zero_vector_cannot_be_normalised_and_is_named():
    acts, labels = _toy()
    acts[labels == "calm", 2] = acts[labels == NEUTRAL, 2].mean(axis=0)
    with pytest.raises(EmovecInputError, match="'calm' at layer 2"):
        compute_emotion_vectors(acts, labels, EMOS, "neutral_mean", normalise=True)


def test_bad_variance_threshold_raises():
    acts, labels = _toy()
    with pytest.raises(EmovecInputError, match="variance_threshold"):
        compute_emotion_vectors(acts, labels, EMOS, "neutral_pca", False, variance_threshold=0)


def test_register_baseline_adds_one_function():
    name = "_test_double_grand_mean"

    @register_baseline(name)
    def _double(means, ctx):
        return 2 * (means - means.mean(axis=-3, keepdims=True)), None

    try:
        acts, labels = _toy()
        ev = compute_emotion_vectors(acts, labels, EMOS, name, normalise=False)
        gm = compute_emotion_vectors(acts, labels, EMOS, "grand_mean", normalise=False)
        np.testing.assert_allclose(ev.vectors, 2 * gm.vectors, atol=1e-12)
        with pytest.raises(EmovecInputError, match=name):
            register_baseline(name)(_double)
    finally:
        if name in BASELINES:
            BASELINES.unregister(name)


def test_token_weighted_means_equal_the_mean_over_all_pooled_tokens():
    """Story weighting averages per-story means; token weighting (weights = pooled-token counts)
    equals averaging every pooled token of the emotion at once."""
    rng = np.random.default_rng(3)
    lengths = {"happy": [3, 7], "sad": [5, 1, 2]}
    tokens = {e: [rng.normal(size=(n, 2, 4)) for n in ns] for e, ns in lengths.items()}
    acts = np.stack([t.mean(axis=0) for e in lengths for t in tokens[e]])
    labels = np.array([e for e in lengths for _ in lengths[e]])
    weights = np.array([n for e in lengths for n in lengths[e]], dtype=float)
    ev = compute_emotion_vectors(acts, labels, ["happy", "sad"], "grand_mean", False, weights=weights)
    means = {e: np.concatenate(tokens[e]).mean(axis=0) for e in lengths}
    centre = (means["happy"] + means["sad"]) / 2
    np.testing.assert_allclose(ev.vectors[0], means["happy"] - centre, rtol=0, atol=1e-12)
    story = compute_emotion_vectors(acts, labels, ["happy", "sad"], "grand_mean", False)
    story_means = {e: acts[labels == e].mean(axis=0) for e in lengths}
    np.testing.assert_allclose(story.vectors[1], story_means["sad"] - (story_means["happy"] + story_means["sad"]) / 2,
                               rtol=0, atol=1e-12)
    assert not np.allclose(story.vectors, ev.vectors)


@pytest.mark.parametrize("weights,message", [
    (np.array([1.0, 1.0, 1.0]), "shape"),
    (np.array([1.0, -1.0, 1.0, 1.0]), ">= 0"),
    (np.array([0.0, 0.0, 1.0, 1.0]), "total weight 0"),
])
def test_bad_weights_raise(weights: np.ndarray, message: str):
    acts = np.ones((4, 1, 2))
    labels = np.array(["happy", "happy", "sad", "sad"])
    with pytest.raises(EmovecInputError, match=message):
        compute_emotion_vectors(acts, labels, ["happy", "sad"], "grand_mean", False, weights=weights)


@pytest.mark.parametrize("baseline", ["neutral_mean", "grand_mean", "grand_mean_with_neutral", "neutral_pca"])
def test_contrast_vectors_of_rows_equal_compute_emotion_vectors_on_the_same_rows(baseline: str) -> None:
    from emovec.vectors import contrast_vectors_of_rows

    rng = np.random.default_rng(3)
    labels = np.array(["a", "neutral", "b", "a", "c", "neutral", "b", "c", "neutral", "a"])
    acts = rng.normal(size=(labels.size, 2, 6)).astype(np.float32)
    emotions = ("a", "b", "c")
    rows = [np.flatnonzero(labels == e) for e in emotions]
    got = contrast_vectors_of_rows(acts, rows, np.flatnonzero(labels == "neutral"), baseline)
    want = compute_emotion_vectors(acts, labels, emotions, baseline, False).vectors
    np.testing.assert_array_equal(got, want)
