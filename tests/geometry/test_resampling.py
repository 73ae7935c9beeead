"""Resampling of one cell's separation (emovec.geometry.resampling): identities and known answers."""

from __future__ import annotations

import numpy as np
import pytest

from emovec.errors import EmovecInputError
from emovec.geometry.resampling import (
    anisotropy_bootstrap,
    bootstrap_by_layer,
    bootstrap_draws,
    bootstrap_replicates,
    bootstrap_with_pairs,
    loo_replicates,
    per_emotion_cosine,
    resample_cell,
)
from emovec.geometry.separation import anisotropy_baseline, mean_pairwise_cosine, pair_cosines
from emovec.vectors import compute_emotion_vectors

EMOTIONS = ("happy", "sad", "calm", "angry")


def _acts(n_per: int, seed: int = 0, d: int = 8, n_layers: int = 2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.array([e for e in EMOTIONS for _ in range(n_per)] + ["neutral"] * 3)
    centres = {e: rng.normal(size=(n_layers, d)) for e in (*EMOTIONS, "neutral")}
    acts = np.stack([centres[lab] + 0.3 * rng.normal(size=(n_layers, d)) for lab in labels])
    return acts, labels


def test_per_emotion_values_average_to_the_mean_pairwise_cosine() -> None:
    v = np.random.default_rng(1).normal(size=(20, 16))
    per = per_emotion_cosine(v)
    assert per.shape == (20,)
    assert per.mean() == pytest.approx(float(mean_pairwise_cosine(v[:, None, :])[0]), abs=1e-12)
    # Known answer: a regular simplex (centred one-hot vectors) has every cosine -1/(n-1).
    simplex = np.eye(5) - 1 / 5
    np.testing.assert_allclose(per_emotion_cosine(simplex), -0.25, atol=1e-12)


def test_loo_replicate_k_drops_the_kth_stimulus_of_every_emotion() -> None:
    acts, labels = _acts(n_per=4)
    at = acts[:, :1, :]
    loo, n = loo_replicates(at, labels, EMOTIONS, "neutral_mean")
    assert n == 4 and loo.shape == (4,)
    for k in range(4):
        keep = np.ones(len(labels), bool)
        for e in EMOTIONS:
            keep[np.flatnonzero(labels == e)[k]] = False
        ev = compute_emotion_vectors(at[keep], labels[keep], EMOTIONS, "neutral_mean", False)
        assert loo[k] == pytest.approx(float(mean_pairwise_cosine(ev.vectors)[0]), abs=1e-12)


def test_loo_keeps_single_stimulus_emotions_and_needs_two_somewhere() -> None:
    acts, labels = _acts(n_per=2)
    labels = labels.copy()
    keep = ~((labels == "calm") & (np.arange(len(labels)) == np.flatnonzero(labels == "calm")[1]))
    loo, n = loo_replicates(acts[keep][:, :1], labels[keep], EMOTIONS, "neutral_mean")
    assert n == 2 and np.isfinite(loo).all()  # calm (1 stimulus) is never dropped
    acts1, labels1 = _acts(n_per=1)
    with pytest.raises(EmovecInputError, match="2 or more stimuli"):
        loo_replicates(acts1[:, :1], labels1, EMOTIONS, "neutral_mean")


def test_bootstrap_is_seeded_and_resamples_within_labels() -> None:
    acts, labels = _acts(n_per=5)
    a = bootstrap_replicates(acts[:, :1], labels, EMOTIONS, "neutral_mean", 30, seed=3)
    b = bootstrap_replicates(acts[:, :1], labels, EMOTIONS, "neutral_mean", 30, seed=3)
    c = bootstrap_replicates(acts[:, :1], labels, EMOTIONS, "neutral_mean", 30, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # With one stimulus per label (no neutral texts) every resample is the sample itself.
    acts1, labels1 = _acts(n_per=1)
    acts1, labels1 = acts1[labels1 != "neutral"], labels1[labels1 != "neutral"]
    same = bootstrap_replicates(acts1[:, :1], labels1, EMOTIONS, "grand_mean", 5, 0)
    ev = compute_emotion_vectors(acts1[:, :1], labels1, EMOTIONS, "grand_mean", False)
    np.testing.assert_allclose(same, float(mean_pairwise_cosine(ev.vectors)[0]), atol=1e-12)


@pytest.mark.parametrize("baseline", ["neutral_mean", "grand_mean"])
def test_bootstrap_by_layer_is_the_single_layer_bootstrap_at_every_layer(baseline: str) -> None:
    acts, labels = _acts(n_per=4, n_layers=5)
    by_layer = bootstrap_by_layer(acts, labels, EMOTIONS, baseline, 25, seed=7)
    assert by_layer.shape == (25, 5)
    for layer in range(5):
        single = bootstrap_replicates(acts[:, layer:layer + 1], labels, EMOTIONS, baseline, 25, seed=7)
        np.testing.assert_allclose(by_layer[:, layer], single, rtol=0, atol=1e-15)  # same draws (up to rounding)


def test_resample_cell_reads_the_reported_layer_and_rejects_others() -> None:
    acts, labels = _acts(n_per=3)
    rec = resample_cell(acts, labels, EMOTIONS, 1, "neutral_mean", 10, 0)
    ev = compute_emotion_vectors(acts, labels, EMOTIONS, "neutral_mean", True)
    assert rec.layer == 1 and rec.n_loo == 3 and len(rec.bootstrap) == 10
    assert len(rec.bootstrap_by_layer) == 10
    np.testing.assert_allclose([row[1] for row in rec.bootstrap_by_layer], rec.bootstrap, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(rec.bootstrap, bootstrap_replicates(acts[:, 1:2], labels, EMOTIONS, "neutral_mean",
                                                                      10, 0))
    assert rec.mean_cosine == pytest.approx(float(mean_pairwise_cosine(ev.vectors)[1]), abs=1e-12)
    assert rec.n_per_emotion == {e: 3 for e in EMOTIONS}
    with pytest.raises(EmovecInputError, match="layer 2 is outside"):
        resample_cell(acts, labels, EMOTIONS, 2, "neutral_mean", 10, 0)


def test_single_stimulus_corpora_have_no_loo_and_the_comparison_says_so() -> None:
    import math

    from emovec.analysis.gen_vs_comp import compare_methods

    acts1, labels1 = _acts(n_per=1)
    one = resample_cell(acts1, labels1, EMOTIONS, 0, "neutral_mean", 20, 0)
    assert (one.n_loo, one.loo) == (0, [])
    acts3, labels3 = _acts(n_per=3, seed=5)
    three = resample_cell(acts3, labels3, EMOTIONS, 0, "neutral_mean", 20, 0)
    cmp = compare_methods("m", vars(one), vars(three), ("gen", "comp"))
    assert (cmp.generation_corpus, cmp.comprehension_corpus) == ("gen", "comp")
    assert math.isnan(cmp.loo_gen[0]) and cmp.loo_gen[2] == 0 and cmp.loo_comp[2] == 3
    assert math.isnan(cmp.mwu_p) and math.isnan(cmp.d_loo) and cmp.mwu_method == "not run"
    assert cmp.diff == pytest.approx(one.mean_cosine - three.mean_cosine)


def test_bootstrap_draws_resample_within_each_label_from_one_seeded_stream() -> None:
    _, labels = _acts(n_per=4)
    draws = bootstrap_draws(labels, EMOTIONS, 6, seed=2)
    rng = np.random.default_rng(2)
    groups = [np.flatnonzero(labels == e) for e in (*EMOTIONS, "neutral")]
    for idx in draws:
        np.testing.assert_array_equal(idx, np.concatenate([g[rng.integers(0, g.size, g.size)] for g in groups]))
        assert list(labels[idx]) == [e for e in EMOTIONS for _ in range(4)] + ["neutral"] * 3
    with pytest.raises(EmovecInputError, match="n_boot must be >= 1; got 0"):
        bootstrap_draws(labels, EMOTIONS, 0, 0)


def test_pair_draws_are_the_pair_cosines_of_the_bootstrap_draws() -> None:
    acts, labels = _acts(n_per=4)
    at = acts[:, :1]
    pairs = (("happy", "sad"), ("calm", "angry"))
    mean, per_pair = bootstrap_with_pairs(at, labels, EMOTIONS, "neutral_mean", 15, 9, pairs)
    np.testing.assert_array_equal(mean, bootstrap_replicates(at, labels, EMOTIONS, "neutral_mean", 15, 9))
    assert list(per_pair) == ["happy-sad", "calm-angry"]
    for b, idx in enumerate(bootstrap_draws(labels, EMOTIONS, 15, 9)):
        ev = compute_emotion_vectors(at[idx], labels[idx], EMOTIONS, "neutral_mean", False)
        direct = pair_cosines(ev.vectors, EMOTIONS, pairs)
        for key in per_pair:
            assert per_pair[key][b] == direct[key][0]


def test_a_planted_opposite_pair_has_its_cosine_in_every_draw() -> None:
    """Stimuli identical within each label: every resample is the sample, so every draw of the
    happy-sad cosine is the planted -0.6 (the vectors are happy - neutral and sad - neutral)."""
    d = 6
    e = np.eye(d)
    neutral = 2.0 * e[5]
    centre = {"happy": neutral + e[0], "sad": neutral + (-0.6 * e[0] + 0.8 * e[1]), "calm": neutral + e[2],
              "angry": neutral + e[3], "neutral": neutral}
    labels = np.array([lab for lab in (*EMOTIONS, "neutral") for _ in range(3)])
    acts = np.stack([centre[lab][None, :] for lab in labels])  # [n, 1, d]
    rec = resample_cell(acts, labels, EMOTIONS, 0, "neutral_mean", 40, 0, pairs=(("happy", "sad"),))
    assert list(rec.pair_bootstrap) == ["happy-sad"]
    np.testing.assert_allclose(rec.pair_bootstrap["happy-sad"], -0.6, rtol=0, atol=1e-12)
    assert (rec.anisotropy_bootstrap, rec.n_anisotropy) == ([], 0)


def test_the_anisotropy_bootstrap_of_identical_sentences_has_zero_width() -> None:
    same = np.tile(np.random.default_rng(0).normal(size=(1, 12)), (8, 1))
    boot = anisotropy_bootstrap(same, 50, 0)
    assert boot.shape == (50,)
    np.testing.assert_allclose(boot, 1.0, rtol=0, atol=1e-12)
    assert boot.max() - boot.min() <= 1e-12


def test_the_anisotropy_bootstrap_is_the_mean_cosine_over_pairs_of_distinct_sentences() -> None:
    rng = np.random.default_rng(4)
    sents = rng.normal(size=(7, 10)) + 1.5
    boot = anisotropy_bootstrap(sents, 30, seed=5)
    u = sents / np.linalg.norm(sents, axis=1, keepdims=True)
    idx = np.random.default_rng((5, 1)).integers(0, 7, size=(30, 7))  # its documented stream
    for b in range(30):
        cos = [u[i] @ u[j] for p, i in enumerate(idx[b]) for q, j in enumerate(idx[b]) if p != q and i != j]
        assert boot[b] == pytest.approx(np.mean(cos), abs=1e-12)
    # all sentences once: the baseline itself
    full = anisotropy_baseline(sents[:, None, :])[0]
    one_each = [u[i] @ u[j] for i in range(7) for j in range(7) if i != j]
    assert full == pytest.approx(np.mean(one_each), abs=1e-12)
    # two orthogonal sentences: a draw holds both (cosine 0) or one twice (no pair: NaN)
    two = anisotropy_bootstrap(np.eye(2), 20, 0)
    assert set(np.where(np.isnan(two), -1.0, two)) <= {0.0, -1.0} and np.isnan(two).any() and (two == 0).any()
    with pytest.raises(EmovecInputError, match=r"shape \[n >= 2, d\]"):
        anisotropy_bootstrap(sents[:1], 5, 0)


def test_resample_cell_records_the_pairs_and_the_anisotropy_bootstrap_at_the_reported_layer() -> None:
    from emovec.emotions import JEONG_20, OPPOSITE_PAIRS

    rng = np.random.default_rng(3)
    labels = np.array([e for e in JEONG_20 for _ in range(2)] + ["neutral"] * 3)
    acts = rng.normal(size=(labels.size, 3, 8))
    aniso = rng.normal(size=(5, 3, 8)) + 1.0
    rec = resample_cell(acts, labels, JEONG_20, 1, "neutral_mean", 12, 4, anisotropy_acts=aniso)
    assert list(rec.pair_bootstrap) == [f"{a}-{b}" for a, b in OPPOSITE_PAIRS]
    _, direct = bootstrap_with_pairs(acts[:, 1:2], labels, JEONG_20, "neutral_mean", 12, 4)
    for key, values in direct.items():
        np.testing.assert_array_equal(rec.pair_bootstrap[key], values)
    np.testing.assert_array_equal(rec.anisotropy_bootstrap, anisotropy_bootstrap(aniso[:, 1], 12, 4))
    assert rec.n_anisotropy == 5
    with pytest.raises(EmovecInputError, match="anisotropy_acts must have shape"):
        resample_cell(acts, labels, JEONG_20, 1, "neutral_mean", 12, 4, anisotropy_acts=aniso[:, :2])


# neutral_pca is left out: with 3 neutral texts a draw of one text 3 times has no variance to
# remove (an error in both paths); contrast_vectors_of_rows is checked on it in test_vectors.py.
@pytest.mark.parametrize("baseline", ["neutral_mean", "grand_mean", "grand_mean_with_neutral"])
def test_every_draw_equals_the_vectors_recomputed_from_its_resampled_stimuli_bit_for_bit(baseline: str) -> None:
    # float32 acts as in a real cache, labels interleaved (not grouped) so row order matters.
    acts, labels = _acts(n_per=4, n_layers=3)
    order = np.random.default_rng(5).permutation(labels.size)
    acts, labels = acts[order].astype(np.float32), labels[order]
    by_layer = bootstrap_by_layer(acts, labels, EMOTIONS, baseline, 12, seed=2)
    for b, idx in enumerate(bootstrap_draws(labels, EMOTIONS, 12, 2)):
        ev = compute_emotion_vectors(acts[idx], labels[idx], EMOTIONS, baseline, False)
        np.testing.assert_array_equal(by_layer[b], mean_pairwise_cosine(ev.vectors))


def test_the_bootstrap_raises_the_full_samples_error_before_any_draw() -> None:
    acts, labels = _acts(n_per=3)
    no_neutral = labels != "neutral"
    with pytest.raises(EmovecInputError, match="neutral"):
        bootstrap_by_layer(acts[no_neutral], labels[no_neutral], EMOTIONS, "neutral_mean", 5, seed=0)
    with pytest.raises(EmovecInputError, match="fear"):
        bootstrap_by_layer(acts, labels, (*EMOTIONS, "fear"), "grand_mean", 5, seed=0)
