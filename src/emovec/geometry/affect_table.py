"""The per-layer table and the peak layers of the valence/arousal analysis (see
:mod:`emovec.geometry.affect`): percentile CIs over the bootstrap, permutation p-values per layer,
their BH-FDR adjustment and the max-statistic p over layers, from each layer's
:class:`~emovec.geometry.affect_layer.LayerStats`.

Units: eigenvalues are variances (units^2 of the vectors); correlations and p-values are
dimensionless; angles in degrees.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from emovec.geometry.affect_layer import TARGETS, LayerStats
from emovec.stats.multiple import bh_adjust, max_statistic_p, percentile_ci, permutation_p


def _ci_or_nan(samples: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile CI, or (NaN, NaN) when fewer than 2 resamples were valid (e.g. n_boot=1)."""
    if np.count_nonzero(np.isfinite(samples)) < 2:
        return float("nan"), float("nan")
    return percentile_ci(samples, level)


def _target_columns(
    stats: list[LayerStats], target: str, j: int, ci_level: float
) -> tuple[dict[str, np.ndarray], float]:
    """Per-layer columns of one target and its max-statistic p over layers."""
    r = np.array([s.r[j] for s in stats])
    rho = np.array([s.rho[j] for s in stats])
    r_null = np.stack([s.r_null[:, j] for s in stats], axis=1)  # [P, L]: same perms every layer
    rho_null = np.stack([s.rho_null[:, j] for s in stats], axis=1)
    r_ci = np.array([_ci_or_nan(s.r_boot[:, j], ci_level) for s in stats])
    rho_ci = np.array([_ci_or_nan(s.rho_boot[:, j], ci_level) for s in stats])
    big_r_ci = np.array([_ci_or_nan(s.big_r_boot[:, j], ci_level) for s in stats])
    p_perm = np.array([permutation_p(abs(v), r_null[:, i]) for i, v in enumerate(r)])
    rho_p_perm = np.array([permutation_p(abs(v), rho_null[:, i]) for i, v in enumerate(rho)])
    p_max, p_max_t = max_statistic_p(np.abs(r), r_null)
    columns = {
        f"{target}_pc": np.full(len(stats), j + 1),
        f"{target}_r": r,
        f"{target}_r_ci_low": r_ci[:, 0],
        f"{target}_r_ci_high": r_ci[:, 1],
        f"{target}_p_perm": p_perm,
        f"{target}_p_fdr": bh_adjust(p_perm),
        f"{target}_p_maxT": p_max_t,
        f"{target}_rho": rho,
        f"{target}_rho_ci_low": rho_ci[:, 0],
        f"{target}_rho_ci_high": rho_ci[:, 1],
        f"{target}_rho_p_perm": rho_p_perm,
        f"{target}_rho_p_fdr": bh_adjust(rho_p_perm),
        f"{target}_R": np.array([s.big_r[j] for s in stats]),
        f"{target}_R_ci_low": big_r_ci[:, 0],
        f"{target}_R_ci_high": big_r_ci[:, 1],
        f"{target}_angle": np.array([s.angle[j] for s in stats]),
    }
    return columns, p_max


def layers_frame(
    stats: list[LayerStats], n: int, ci_level: float
) -> tuple[pd.DataFrame, dict[str, float]]:
    """The per-layer table and the max-statistic p over layers of each target."""
    eig = np.array([s.fit.eigenvalues for s in stats])
    evr = np.array([s.fit.explained_ratio for s in stats])
    ratio_ci = np.array([_ci_or_nan(s.lambda_ratio_boot, ci_level) for s in stats])
    columns: dict[str, np.ndarray] = {
        "layer": np.arange(len(stats)),
        "n_emotions": np.full(len(stats), n),
        "lambda1": eig[:, 0],
        "lambda2": eig[:, 1],
        "lambda_ratio": eig[:, 0] / eig[:, 1],
        "lambda_ratio_ci_low": ratio_ci[:, 0],
        "lambda_ratio_ci_high": ratio_ci[:, 1],
        "evr1": evr[:, 0],
        "evr2": evr[:, 1],
        "n_boot_valid": np.array([s.n_boot_valid for s in stats]),
        "swap_rate": np.array([s.swap_rate for s in stats]),
    }
    p_max: dict[str, float] = {}
    for target, j in TARGETS:
        target_columns, p_max[target] = _target_columns(stats, target, j, ci_level)
        columns.update(target_columns)
    return pd.DataFrame(columns), p_max


def peak(layers: pd.DataFrame, target: str, p_max: float, max_swap_rate: float) -> dict:
    """The row of ``layers`` (from :func:`layers_frame`) with the largest |r| of ``target``, as
    plain floats (see ``AffectResult.peaks``), with the max-statistic p over layers ``p_max``."""
    # np.argmax takes the first layer on ties.
    row = layers.iloc[int(np.argmax(np.abs(layers[f"{target}_r"].to_numpy())))]
    return {
        "layer": int(row["layer"]),
        "pc": int(row[f"{target}_pc"]),
        "r": float(row[f"{target}_r"]),
        "abs_r": abs(float(row[f"{target}_r"])),
        "r_ci_low": float(row[f"{target}_r_ci_low"]),
        "r_ci_high": float(row[f"{target}_r_ci_high"]),
        "p_perm": float(row[f"{target}_p_perm"]),
        "p_fdr": float(row[f"{target}_p_fdr"]),
        "p_max": float(p_max),
        "rho": float(row[f"{target}_rho"]),
        "lambda_ratio": float(row["lambda_ratio"]),
        "lambda_ratio_ci_low": float(row["lambda_ratio_ci_low"]),
        "lambda_ratio_ci_high": float(row["lambda_ratio_ci_high"]),
        "swap_rate": float(row["swap_rate"]),
        "identified": bool(row["swap_rate"] <= max_swap_rate),
        "R": float(row[f"{target}_R"]),
        "R_ci_low": float(row[f"{target}_R_ci_low"]),
        "R_ci_high": float(row[f"{target}_R_ci_high"]),
        "angle": float(row[f"{target}_angle"]),
    }
