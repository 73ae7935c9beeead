"""The per-layer table and peaks of the valence/arousal analysis (emovec.geometry.affect_table),
from layer statistics built by emovec.geometry.affect_layer. The whole analysis: test_affect."""

from __future__ import annotations

import numpy as np

from emovec.geometry.affect_layer import analyse_layer, prepare_ratings
from emovec.geometry.affect_table import layers_frame, peak
from emovec.stats.multiple import bh_adjust


def _stats(n_boot: int = 30):
    rng = np.random.default_rng(2)
    n = 10
    names = tuple(f"e{i}" for i in range(n))
    ratings = rng.normal(size=(2, n))
    prepared = prepare_ratings(ratings, rng.integers(0, n, size=(n_boot, n)),
                               rng.permuted(np.tile(np.arange(n), (49, 1)), axis=1))
    x = rng.normal(size=(n, 3, 12))
    return [analyse_layer(x[:, l], names, prepared, "max_abs_score", (), "order") for l in range(3)], n


def test_layers_frame_one_row_per_layer_with_layerwise_adjustments():
    stats, n = _stats()
    frame, p_max = layers_frame(stats, n, 0.9)
    assert list(frame["layer"]) == [0, 1, 2] and set(frame["n_emotions"]) == {n}
    np.testing.assert_array_equal(frame["lambda_ratio"], frame["lambda1"] / frame["lambda2"])
    for target, pc in (("valence", 1), ("arousal", 2)):
        assert set(frame[f"{target}_pc"]) == {pc}
        np.testing.assert_array_equal(frame[f"{target}_p_fdr"], bh_adjust(frame[f"{target}_p_perm"].to_numpy()))
        assert 0 < p_max[target] <= 1
        assert (frame[f"{target}_r_ci_low"] <= frame[f"{target}_r_ci_high"]).all()


def test_one_valid_resample_gives_nan_intervals():
    stats, n = _stats(n_boot=1)
    frame, _ = layers_frame(stats, n, 0.95)
    assert frame[["valence_r_ci_low", "arousal_R_ci_high", "lambda_ratio_ci_low"]].isna().all().all()


def test_peak_is_the_first_layer_of_largest_abs_r_and_flags_identification():
    stats, n = _stats()
    frame, p_max = layers_frame([stats[1], stats[0], stats[1]], n, 0.95)  # layers 0 and 2 tie
    best = int(np.argmax(np.abs([stats[1].r[0], stats[0].r[0]])))
    got = peak(frame, "valence", p_max["valence"], max_swap_rate=1.0)
    assert got["layer"] == best  # stats[1] at layers 0 and 2: a tie goes to layer 0
    assert got["abs_r"] == abs(got["r"]) and got["p_max"] == p_max["valence"] and got["identified"]
    assert set(got) >= {"layer", "pc", "r", "p_perm", "p_fdr", "rho", "lambda_ratio", "swap_rate", "R", "angle"}
    assert peak(frame, "valence", p_max["valence"], max_swap_rate=-1.0)["identified"] is False
