"""Tests for the valence/arousal analysis (emovec.geometry.affect); its PCA: test_pca."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from emovec.errors import EmovecInputError
from emovec.geometry.affect import affect_by_layer
from emovec.geometry.orientation import ORIENTATIONS, register_orientation
from emovec.geometry.pca import fit_pca, orient
from emovec.stats.multiple import bh_adjust

COLUMNS = [
    "layer", "n_emotions", "lambda1", "lambda2", "lambda_ratio", "lambda_ratio_ci_low", "lambda_ratio_ci_high",
    "evr1", "evr2", "n_boot_valid", "swap_rate",
] + [
    f"{t}_{c}"
    for t in ("valence", "arousal")
    for c in ("pc", "r", "r_ci_low", "r_ci_high", "p_perm", "p_fdr", "p_maxT",
              "rho", "rho_ci_low", "rho_ci_high", "rho_p_perm", "rho_p_fdr", "R", "R_ci_low", "R_ci_high", "angle")
]


def _names(n: int) -> tuple[str, ...]:
    return tuple(f"e{i}" for i in range(n))


def _planted(seed: int = 0, n: int = 20, d: int = 64, n_layers: int = 4):
    """vectors = 3 v u1 + 1.5 a u2 + 0.2 noise (fresh noise per layer), v, a ~ U(-1, 1)."""
    rng = np.random.default_rng(seed)
    v, a = rng.uniform(-1, 1, size=n), rng.uniform(-1, 1, size=n)
    q, _ = np.linalg.qr(rng.normal(size=(d, 2)))  # u1, u2 orthonormal
    signal = 3.0 * v[:, None] * q[:, 0] + 1.5 * a[:, None] * q[:, 1]
    vectors = signal[:, None, :] + 0.2 * rng.normal(size=(n, n_layers, d))
    return vectors, v, a


@pytest.fixture(scope="module")
def planted_result():
    vectors, v, a = _planted()
    emotions = _names(20)
    anchors = (emotions[int(np.argmax(v))], emotions[int(np.argmax(a))])
    res = affect_by_layer(vectors, emotions, v, a, n_boot=200, n_perm=199, seed=0, anchors=anchors)
    return res, vectors, emotions, anchors


def test_registered_orientation_is_used_and_duplicates_are_refused():
    @register_orientation("test_all_negative_first")
    def _rule(scores, emotions, anchors):  # puts emotion 0 on the negative side of every PC
        return np.where(scores[0] > 0, -1.0, 1.0)

    try:
        vectors, v, a = _planted(n_layers=2)
        res = affect_by_layer(vectors, _names(20), v, a, n_boot=2, n_perm=9, seed=0,
                              orientation="test_all_negative_first")
        assert np.all(res.scores[:, 0, :] < 0)
        with pytest.raises(EmovecInputError, match="already registered"):
            register_orientation("test_all_negative_first")(_rule)
    finally:
        ORIENTATIONS.unregister("test_all_negative_first")


# ---- end to end: planted signal ---------------------------------------------------------------


def test_planted_valence_and_arousal_are_recovered(planted_result):
    res, _, _, _ = planted_result
    df = res.layers
    assert list(df.columns) == COLUMNS
    assert len(df) == 4
    assert np.all(df["valence_r"] > 0.9)  # the anchor (max-valence emotion) makes r positive
    assert np.all(df["valence_r_ci_low"] > 0)
    assert np.all(df["valence_p_maxT"] < 0.05)
    assert np.all(np.abs(df["arousal_r"]) > 0.8)
    assert np.all(df["n_boot_valid"] == 200)
    peak = res.peaks["valence"]
    assert peak["layer"] == int(np.argmax(np.abs(df["valence_r"])))
    assert peak["pc"] == 1 and res.peaks["arousal"]["pc"] == 2
    assert peak["p_max"] == df["valence_p_maxT"].min()
    assert peak["r"] == df["valence_r"].iloc[peak["layer"]]


def test_layer_columns_are_consistent(planted_result):
    res, vectors, emotions, anchors = planted_result
    df = res.layers
    for t in ("valence", "arousal"):
        np.testing.assert_array_equal(df[f"{t}_p_fdr"], bh_adjust(df[f"{t}_p_perm"].to_numpy()))
        np.testing.assert_array_equal(df[f"{t}_rho_p_fdr"], bh_adjust(df[f"{t}_rho_p_perm"].to_numpy()))
        # max-T compares with the maximum over layers, so it can only be more conservative
        assert np.all(df[f"{t}_p_maxT"] >= df[f"{t}_p_perm"])
        assert np.all((df[f"{t}_r_ci_low"] <= df[f"{t}_r_ci_high"]))
    np.testing.assert_array_equal(df["lambda_ratio"], df["lambda1"] / df["lambda2"])
    for layer in range(vectors.shape[1]):
        fit = orient(fit_pca(vectors[:, layer], 2), emotions, "anchor", anchors)
        np.testing.assert_allclose(res.scores[layer], fit.scores, atol=1e-12)
        np.testing.assert_allclose(df.loc[layer, ["lambda1", "lambda2"]], fit.eigenvalues, rtol=1e-12)
        np.testing.assert_allclose(df.loc[layer, ["evr1", "evr2"]], fit.explained_ratio, rtol=1e-12)
        assert df.loc[layer, "valence_r"] == pytest.approx(
            np.corrcoef(fit.scores[:, 0], _planted()[1])[0, 1], abs=1e-12)
    assert res.scores.shape == (4, 20, 2) and res.scores.dtype == np.float64


def test_summary_is_json_serialisable(planted_result):
    res = planted_result[0]
    summary = json.loads(json.dumps(res.to_summary()))
    assert summary["n_boot"] == 200 and summary["n_perm"] == 199 and summary["seed"] == 0
    assert summary["anchors"] == list(res.anchors)
    assert set(summary["peaks"]) == {"valence", "arousal"}
    assert set(summary["peaks"]["valence"]) == {
        "layer", "pc", "r", "abs_r", "r_ci_low", "r_ci_high", "p_perm", "p_fdr", "p_max", "rho", "lambda_ratio",
        "lambda_ratio_ci_low", "lambda_ratio_ci_high", "swap_rate", "identified", "R", "R_ci_low", "R_ci_high",
        "angle",
    }
    assert summary["pc_matching"] == "order" and summary["max_swap_rate"] == 0.05


def test_same_seed_same_frame_and_the_seed_matters():
    vectors, v, a = _planted(n_layers=2)
    run = lambda seed: affect_by_layer(vectors, _names(20), v, a, n_boot=30, n_perm=30, seed=seed,
                                       orientation="max_abs_score").layers
    pd.testing.assert_frame_equal(run(7), run(7), check_exact=True)
    assert not run(7)["valence_r_ci_low"].equals(run(8)["valence_r_ci_low"])


def test_one_resample_gives_nan_ci_not_an_error():
    vectors, v, a = _planted(n_layers=1)
    df = affect_by_layer(vectors, _names(20), v, a, n_boot=1, n_perm=5, seed=0,
                         orientation="max_abs_score").layers
    assert np.isnan(df.loc[0, "valence_r_ci_low"]) and np.isfinite(df.loc[0, "valence_r"])


# ---- identified PCs: matching, swaps and the rotation-invariant R ------------------------------


def test_well_separated_planted_axis_gives_no_swaps(planted_result):
    res = planted_result[0]  # valence variance 9x(1/3), arousal 2.25x(1/3): lambda1/lambda2 ~ 4
    assert (res.layers["swap_rate"] == 0).all() and not res.boot_swapped.any()
    assert (res.layers["lambda_ratio_ci_low"] > 1.5).all()
    assert all(res.peaks[t]["identified"] for t in ("valence", "arousal"))


def test_r_is_the_multiple_correlation_on_both_pcs_and_angle_is_the_regression_direction(planted_result):
    """Known answer: R^2 of an OLS fit of the ratings on (1, PC1, PC2), and the angle of its slope
    vector: the slopes are the best direction's components along the orthonormal PC loadings."""
    res, _, _, _ = planted_result
    _, v, a = _planted()
    for layer in range(res.scores.shape[0]):
        s = res.scores[layer]
        design = np.column_stack([np.ones(len(v)), s])
        for t, y, own in (("valence", v, 0), ("arousal", a, 1)):
            beta = np.linalg.lstsq(design, y, rcond=None)[0]
            fitted = design @ beta
            r2 = 1 - np.sum((y - fitted) ** 2) / np.sum((y - y.mean()) ** 2)
            assert res.layers.loc[layer, f"{t}_R"] == pytest.approx(np.sqrt(r2), abs=1e-12)
            b = np.abs(beta[1:])
            angle = np.degrees(np.arctan2(b[1 - own], b[own]))
            assert res.layers.loc[layer, f"{t}_angle"] == pytest.approx(angle, abs=1e-9)
            assert res.layers.loc[layer, f"{t}_R"] >= abs(res.layers.loc[layer, f"{t}_r"]) - 1e-12


def _equal_variance_case(seed: int, matching: str, rho: float = 0.7, n: int = 20):
    """Two planted axes of equal variance (PC order arbitrary); valence = rho x (a direction in
    their plane) + noise, so the population R of valence on the plane is rho."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    q, _ = np.linalg.qr(rng.normal(size=(32, 2)))
    x = z @ q.T + 0.05 * rng.normal(size=(n, 32))
    v = rho * (z @ np.array([np.cos(0.6), np.sin(0.6)])) + np.sqrt(1 - rho**2) * rng.normal(size=n)
    res = affect_by_layer(x[:, None, :], _names(n), v, rng.normal(size=n), n_boot=300, n_perm=1, seed=seed,
                          orientation="max_abs_score", pc_matching=matching)
    return res.layers.iloc[0]


def test_equal_variance_axes_r_ci_covers_and_swaps_are_flagged():
    """200 seeded populations: R's percentile CI covers the population R = 0.7 near the nominal
    95% (binomial sd 1.5 points: at least 0.90 of the seeds), whether refits are matched by order
    or by sign (R does not depend on the matching); the swap rate flags the unidentified order;
    and the sign-only PC1 r CI, which reads a swapped refit's PC1 as PC1, is wider than the
    order-matched one (its draws mix two axes)."""
    rows = {m: [_equal_variance_case(s, m) for s in range(200)] for m in ("order", "sign")}
    for m, rs in rows.items():
        covered = np.mean([r["valence_R_ci_low"] <= 0.7 <= r["valence_R_ci_high"] for r in rs])
        assert covered >= 0.90, (m, covered)
        assert np.median([r["swap_rate"] for r in rs]) > 0.05  # not identified in most seeds
    for a, b in zip(rows["order"], rows["sign"]):
        assert a["valence_R_ci_low"] == b["valence_R_ci_low"] and a["swap_rate"] == b["swap_rate"]
    width = {m: np.median([r["valence_r_ci_high"] - r["valence_r_ci_low"] for r in rs]) for m, rs in rows.items()}
    assert width["sign"] > width["order"] + 0.05, width


def test_default_anchors_fix_each_sign():
    """conf/valence/default.yaml: PC1 is oriented so that 'happy' scores > 0, PC2 so that 'afraid'
    does; the authors instead flip each PC so that r > 0 (abs_r is that magnitude)."""
    from omegaconf import OmegaConf

    from emovec.paths import REPO_ROOT

    conf = OmegaConf.load(REPO_ROOT / "conf" / "valence" / "default.yaml")
    assert list(conf.anchors) == ["happy", "afraid"] and conf.orientation == "anchor"
    vectors, v, a = _planted(n_layers=2)
    emotions = ("happy", "afraid") + _names(18)
    for flip in (1.0, -1.0):  # whatever sign the eigensolver returns
        res = affect_by_layer(flip * vectors, emotions, v, a, n_boot=5, n_perm=5, seed=0)
        assert (res.scores[:, 0, 0] > 0).all() and (res.scores[:, 1, 1] > 0).all()
        for t in ("valence", "arousal"):
            assert res.peaks[t]["abs_r"] == abs(res.peaks[t]["r"])


# ---- calibration under the null ---------------------------------------------------------------


def test_max_statistic_p_is_calibrated_and_min_p_is_not():
    """No signal, 5 layers, 200 seeds: how often is the peak layer 'significant' at 0.05?

    With n_perm = 199, p < 0.05 means p <= 9/200; a permutation p is exact, so under the null
    this happens with probability exactly 9/200 = 0.045 (continuous statistics: no ties).
    The uncorrected minimum over 5 layers rejects far more often (~1 - 0.955^5 ~ 0.2).
    """
    n_seeds, n, n_layers, d = 200, 20, 5, 16
    emotions = _names(n)
    hits_max, hits_min = 0, 0
    for seed in range(n_seeds):
        rng = np.random.default_rng(10_000 + seed)
        res = affect_by_layer(rng.normal(size=(n, n_layers, d)), emotions, rng.normal(size=n),
                              rng.normal(size=n), n_boot=2, n_perm=199, seed=seed,
                              orientation="max_abs_score")
        hits_max += res.peaks["valence"]["p_max"] < 0.05
        hits_min += res.layers["valence_p_perm"].min() < 0.05
    rate = 9 / 200
    low, high = binom.ppf(0.0005, n_seeds, rate), binom.ppf(0.9995, n_seeds, rate)
    assert low <= hits_max <= high
    assert hits_min > high  # the correction matters: uncorrected min p is anti-conservative


# ---- bad inputs -------------------------------------------------------------------------------


def _good(n: int = 5):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 2, 6)), list(_names(n)), rng.normal(size=n), rng.normal(size=n)


@pytest.mark.parametrize(
    "mutate, fragment",
    [
        (lambda x, e, v, a: (x[:2], e[:2], v[:2], a[:2]), "at least 3 emotions; got 2"),
        (lambda x, e, v, a: (x, e[:4], v, a), "emotions has 4 names but vectors has n_emotions=5"),
        (lambda x, e, v, a: (x, e, v[:4], a), r"valence must have shape \[n_emotions=5\]"),
        (lambda x, e, v, a: (x, e, v, a[:4]), r"arousal must have shape \[n_emotions=5\]"),
        (lambda x, e, v, a: (np.where(np.arange(6) == 3, np.nan, x), e, v, a), "vectors contains NaN"),
        (lambda x, e, v, a: (x, ["e0", "e1", "e0", "e3", "e4"], v, a), r"duplicate names \['e0'\]"),
        (lambda x, e, v, a: (x[:, 0], e, v, a), "vectors must have shape"),
        (lambda x, e, v, a: (x, e, np.where(np.arange(5) == 1, np.inf, v), a), "valence contains NaN or inf"),
        (lambda x, e, v, a: (x, e, v, np.ones(5)), "arousal is constant"),
    ],
)
def test_bad_inputs(mutate, fragment):
    x, e, v, a = mutate(*_good())
    with pytest.raises(EmovecInputError, match=fragment):
        affect_by_layer(x, e, v, a, n_boot=2, n_perm=2, seed=0, orientation="max_abs_score")


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(n_boot=0), "n_boot must be an integer >= 1"),
        (dict(n_perm=2.5), "n_perm must be an integer >= 1"),
        (dict(ci_level=1.0), "ci_level must lie in"),
        (dict(orientation="anchor"), r"layer 0: anchor emotion\(s\) \['happy', 'afraid'\]"),
        (dict(pc_matching="procrustes"), r"pc_matching must be one of \['order', 'sign'\]; got 'procrustes'"),
        (dict(max_swap_rate=-0.1), r"max_swap_rate must lie in \[0, 1\]; got -0.1"),
    ],
)
def test_bad_settings(kwargs, fragment):
    settings = dict(n_boot=2, n_perm=2, seed=0, orientation="max_abs_score") | kwargs
    with pytest.raises(EmovecInputError, match=fragment):
        affect_by_layer(*_good(), **settings)
