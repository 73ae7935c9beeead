"""Valence and arousal in the geometry of emotion vectors, layer by layer.

At each layer the emotion vectors [n_emotions, d] are reduced by PCA; PC1 scores are
correlated with human valence ratings and PC2 scores with arousal ratings (van der Ben et
al. 2026). The traps this module guards against (METHODS):

* PCA signs are arbitrary. They are fixed by an orientation rule that sees the scores and
  emotion names but never the ratings (``emovec.geometry.orientation``), so a positive r is
  not manufactured.
* Bootstrap CIs resample emotions, refit the PCA on each resample and match the refit's PCs to
  the full-sample PCs by order and sign (``emovec.geometry.pca``): otherwise sign flips smear the
  interval across 0, and when lambda1 ~ lambda2 a refit whose PC1 is the full sample's PC2 mixes
  two axes into one interval. How often that happens is recorded per layer (``swap_rate``).
* PC1 and PC2 are only identified when lambda1/lambda2 is clearly above 1. Beside each PC's r
  stands a rotation-invariant statistic: R, the multiple correlation of the ratings with the
  PC1 and PC2 scores together (the best direction in their plane, whatever its order), and the
  angle of that best direction from the target's own PC.
* The peak layer is a maximum over layers: it is reported with a max-statistic permutation
  p, beside per-layer permutation p-values and their BH-FDR adjustment.
* lambda1/lambda2 is reported per layer: when it is ~1 PC1 and PC2 are not identified.

Units: scores are in the units of the vectors; eigenvalues are variances (units^2);
correlations and p-values are dimensionless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from tqdm import tqdm

from emovec.errors import EmovecInputError
from emovec.geometry.pca import PC_MATCHINGS, PCAFit, bootstrap_scores, fit_pca, orient
from emovec.stats.multiple import bh_adjust, max_statistic_p, percentile_ci, permutation_p

__all__ = ["TARGETS", "AffectResult", "affect_by_layer"]

# (target, 0-based PC index): valence is read off PC1, arousal off PC2.
TARGETS: tuple[tuple[str, int], ...] = (("valence", 0), ("arousal", 1))


# ---- correlations -----------------------------------------------------------------------------


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r along the last axis of broadcastable [..., n] arrays; NaN where a row is constant.

    Constancy is tested exactly (max == min) because a float mean of equal values need not
    equal them, which would turn a constant row into a noise correlation instead of NaN.
    """
    a, b = np.broadcast_arrays(a, b)
    constant = (np.ptp(a, axis=-1) == 0) | (np.ptp(b, axis=-1) == 0)
    ac = a - a.mean(axis=-1, keepdims=True)
    bc = b - b.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.sum(ac * bc, axis=-1) / np.sqrt(np.sum(ac * ac, axis=-1) * np.sum(bc * bc, axis=-1))
    return np.where(constant, np.nan, np.clip(r, -1.0, 1.0))


def _ranks(a: np.ndarray) -> np.ndarray:
    """Average ranks along the last axis (Spearman = Pearson of ranks); NaN rows stay NaN."""
    return rankdata(a, axis=-1)


# ---- per-layer analysis -----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Ratings:
    """Ratings and their resampled / permuted copies, shared by every layer.

    Attributes:
        values, ranks: [2, n] valence and arousal ratings and their average ranks.
        boot_values, boot_ranks: [2, B, n] ratings of each bootstrap resample (ranks recomputed
            within the resample, which has ties).
        perm_values, perm_ranks: [2, P, n] ratings under each permutation (permuting ranks
            equals ranking permuted values).
        boot_idx: int [B, n] resampled emotion indices.
    """

    values: np.ndarray
    ranks: np.ndarray
    boot_values: np.ndarray
    boot_ranks: np.ndarray
    perm_values: np.ndarray
    perm_ranks: np.ndarray
    boot_idx: np.ndarray


def _prepare_ratings(ratings: np.ndarray, boot_idx: np.ndarray, perm_idx: np.ndarray) -> _Ratings:
    ranks = _ranks(ratings)
    boot_values = ratings[:, boot_idx]
    return _Ratings(
        values=ratings,
        ranks=ranks,
        boot_values=boot_values,
        boot_ranks=_ranks(boot_values),
        perm_values=ratings[:, perm_idx],
        perm_ranks=ranks[:, perm_idx],
        boot_idx=boot_idx,
    )


@dataclass(frozen=True, eq=False)
class _LayerStats:
    """Statistics of one layer; index 0 = (PC1, valence), 1 = (PC2, arousal).

    Attributes:
        fit: oriented 2-PC ``PCAFit``.
        r, rho: [2] observed Pearson r and Spearman rho.
        r_boot, rho_boot: [B, 2]; NaN in resamples where any of the four is undefined.
        r_null, rho_null: [P, 2] |r| and |rho| under permuted ratings.
        big_r, big_r_boot: [2] and [B, 2] the multiple correlation R of each target with the
            PC1 and PC2 scores together (rotation-invariant in their plane).
        angle: [2] degrees (0-90) between the axis of each target's best direction in the PC1-PC2
            plane and the target's own PC (valence: PC1, arousal: PC2).
        swapped: bool [B], resamples whose PC1 lies nearer the full-sample PC2 (swapped back under
            order matching).
        lambda_ratio_boot: [B] each refit's lambda1 / lambda2.
    """

    fit: PCAFit
    r: np.ndarray
    rho: np.ndarray
    r_boot: np.ndarray
    rho_boot: np.ndarray
    r_null: np.ndarray
    rho_null: np.ndarray
    big_r: np.ndarray
    big_r_boot: np.ndarray
    angle: np.ndarray
    swapped: np.ndarray
    lambda_ratio_boot: np.ndarray

    @property
    def n_boot_valid(self) -> int:
        return int(np.count_nonzero(np.isfinite(self.r_boot[:, 0])))

    @property
    def swap_rate(self) -> float:
        """Share of the valid resamples whose PC1 was matched to the full-sample PC2."""
        valid = np.isfinite(self.r_boot[:, 0])
        return float(self.swapped[valid].mean()) if valid.any() else float("nan")


def _multiple_r(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """R of each target on the two score rows together: scores [2, ..., n] (PC1, PC2, which are
    uncorrelated by construction, so R^2 = r1^2 + r2^2), targets [2, ..., n] -> [2, ...]."""
    r = _pearson_rows(scores[None], targets[:, None])  # [target, pc, ...]
    return np.sqrt(r[:, 0] ** 2 + r[:, 1] ** 2)


def _best_direction_angle(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Degrees (0-90) between each target's best axis in the PC1-PC2 plane and its own PC.

    With uncorrelated PC scores the least-squares weights are b_j = r_j / sd_j (up to one factor
    per target); the best direction is b_1 loading_1 + b_2 loading_2 (loadings orthonormal).
    scores [2, n], targets [2, n] -> [2]."""
    r = _pearson_rows(scores[None], targets[:, None])  # [target, pc]
    b = np.abs(r / scores.std(axis=-1)[None, :])
    own = np.array([b[j, pc] for j, (_, pc) in enumerate(TARGETS)])
    other = np.array([b[j, 1 - pc] for j, (_, pc) in enumerate(TARGETS)])
    return np.degrees(np.arctan2(other, own))


def _analyse_layer(
    x: np.ndarray,
    emotions: tuple[str, ...],
    ratings: _Ratings,
    orientation: str,
    anchors: tuple[str, ...],
    matching: str,
) -> _LayerStats:
    """PCA, orientation, observed correlations, bootstrap and permutation null for x [n, d]."""
    fit = orient(fit_pca(x, k=2), emotions, orientation, anchors)
    scores = fit.scores.T  # [2, n]: row j is PC j+1, paired with target j
    score_ranks = _ranks(scores)
    fits = bootstrap_scores(x, fit, ratings.boot_idx, matching)
    boot = np.moveaxis(fits.scores, -1, 0)  # [2, B, n]
    r_boot = _pearson_rows(boot, ratings.boot_values).T  # [B, 2]
    rho_boot = _pearson_rows(_ranks(boot), ratings.boot_ranks).T
    big_r_boot = _multiple_r(boot, ratings.boot_values).T  # [B, 2]
    # One valid set for all statistics, so every CI of a layer rests on the same resamples.
    invalid = ~np.isfinite(np.concatenate([r_boot, rho_boot, big_r_boot], axis=1)).all(axis=1)
    r_boot[invalid] = np.nan
    rho_boot[invalid] = np.nan
    big_r_boot[invalid] = np.nan
    # Permutation null: the PCA does not depend on the ratings, so only the ratings move.
    r_null = np.abs(_pearson_rows(scores[:, None, :], ratings.perm_values)).T  # [P, 2]
    rho_null = np.abs(_pearson_rows(score_ranks[:, None, :], ratings.perm_ranks)).T
    return _LayerStats(
        fit=fit,
        r=_pearson_rows(scores, ratings.values),
        rho=_pearson_rows(score_ranks, ratings.ranks),
        r_boot=r_boot,
        rho_boot=rho_boot,
        r_null=r_null,
        rho_null=rho_null,
        big_r=_multiple_r(scores, ratings.values),
        big_r_boot=big_r_boot,
        angle=_best_direction_angle(scores, ratings.values),
        swapped=fits.swapped & ~invalid,
        lambda_ratio_boot=np.where(invalid, np.nan, fits.lambda_ratio),
    )


# ---- result -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class AffectResult:
    """Valence (PC1) and arousal (PC2) correlations per layer, with their uncertainty.

    Attributes:
        emotions: emotion names, the row order of ``scores``.
        layers: one row per layer; columns layer, n_emotions, lambda1, lambda2, lambda_ratio,
            lambda_ratio_ci_low, lambda_ratio_ci_high (percentile over the refits' own ratios),
            evr1, evr2, n_boot_valid, swap_rate (share of valid resamples whose PC1 lies nearer
            the full-sample PC2), then per target t in (valence, arousal): t_pc (1 or 2),
            t_r, t_r_ci_low, t_r_ci_high, t_p_perm, t_p_fdr (BH over layers), t_p_maxT
            (single-step max-T over layers), t_rho, t_rho_ci_low, t_rho_ci_high,
            t_rho_p_perm, t_rho_p_fdr, t_R, t_R_ci_low, t_R_ci_high (R of the ratings on PC1
            and PC2 together) and t_angle (degrees between the best axis and the target's PC).
            p-values are two-sided (|r|).
        peaks: {"valence" | "arousal": {layer, pc, r, abs_r, r_ci_low, r_ci_high, p_perm,
            p_fdr, p_max, rho, lambda_ratio, lambda_ratio_ci_low, lambda_ratio_ci_high,
            swap_rate, identified, R, R_ci_low, R_ci_high, angle}} at the layer of largest |r|;
            p_max is the max-statistic p over layers (the honest p for a post-hoc peak); abs_r
            is |r| as the authors print it (their code flips each PC so that r > 0);
            identified: swap_rate <= max_swap_rate.
        scores: float64 [n_layers, n_emotions, 2] oriented PC1/PC2 scores.
        n_boot, n_perm, seed, ci_level, orientation, anchors: the settings behind the numbers.
        boot_r: float64 [n_boot, n_layers, 2] Pearson r of every bootstrap resample at every
            layer (index 0 = PC1 vs valence, 1 = PC2 vs arousal), aligned as the CIs are; NaN
            where the resample is invalid at that layer. What a per-draw peak layer needs.
        boot_idx: int [n_boot, n_emotions] the resampled emotion indices (rows of ``emotions``),
            drawn first from ``np.random.default_rng(seed)``: two runs with the same seed,
            n_boot and number of emotions resample the same indices, draw by draw.
        boot_big_r: float64 [n_boot, n_layers, 2] R of valence and of arousal per resample.
        boot_swapped: bool [n_boot, n_layers] the resample's PC1 lies nearer the full PC2.
        pc_matching, max_swap_rate: how refits were matched; the swap rate above which a
            layer's PC1 counts as not identified.
    """

    emotions: tuple[str, ...]
    layers: pd.DataFrame
    peaks: dict[str, dict]
    scores: np.ndarray
    n_boot: int
    n_perm: int
    seed: int
    ci_level: float
    orientation: str
    anchors: tuple[str, ...]
    boot_r: np.ndarray | None = None
    boot_idx: np.ndarray | None = None
    boot_big_r: np.ndarray | None = None
    boot_swapped: np.ndarray | None = None
    pc_matching: str = "order"
    max_swap_rate: float = 0.05

    def to_summary(self) -> dict:
        """JSON-serialisable settings and peaks."""
        return {
            "emotions": list(self.emotions),
            "n_emotions": len(self.emotions),
            "n_layers": int(self.scores.shape[0]),
            "n_boot": self.n_boot,
            "n_perm": self.n_perm,
            "seed": self.seed,
            "ci_level": self.ci_level,
            "orientation": self.orientation,
            "anchors": list(self.anchors),
            "pc_matching": self.pc_matching,
            "max_swap_rate": self.max_swap_rate,
            "peaks": {t: dict(p) for t, p in self.peaks.items()},
        }


def _ci_or_nan(samples: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile CI, or (NaN, NaN) when fewer than 2 resamples were valid (e.g. n_boot=1)."""
    if np.count_nonzero(np.isfinite(samples)) < 2:
        return float("nan"), float("nan")
    return percentile_ci(samples, level)


def _target_columns(
    stats: list[_LayerStats], target: str, j: int, ci_level: float
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


def _layers_frame(
    stats: list[_LayerStats], n: int, ci_level: float
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


def _peak(layers: pd.DataFrame, target: str, p_max: float, max_swap_rate: float) -> dict:
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


# ---- validation and entry point ---------------------------------------------------------------


def _check_ratings(values: Sequence[float], name: str, n: int) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (n,):
        raise EmovecInputError(f"{name} must have shape [n_emotions={n}]; got {values.shape}")
    if not np.isfinite(values).all():
        raise EmovecInputError(f"{name} contains NaN or inf")
    if np.ptp(values) == 0:
        raise EmovecInputError(
            f"{name} is constant ({float(values[0])}); its correlation is undefined"
        )
    return values


def _validate(
    vectors: np.ndarray, emotions: Sequence[str], valence: Sequence[float], arousal: Sequence[float]
) -> tuple[np.ndarray, tuple[str, ...], np.ndarray]:
    """Checked vectors [n, L, d], emotion names and ratings [2, n] (valence, arousal)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 3:
        raise EmovecInputError(
            f"vectors must have shape [n_emotions, n_layers, d]; got {vectors.shape}"
        )
    emotions = tuple(str(e) for e in emotions)
    n = vectors.shape[0]
    if len(emotions) != n:
        raise EmovecInputError(
            f"emotions has {len(emotions)} names but vectors has n_emotions={n} rows"
        )
    duplicates = sorted({e for e in emotions if emotions.count(e) > 1})
    if duplicates:
        raise EmovecInputError(f"emotions contains duplicate names {duplicates}")
    if n < 3:
        raise EmovecInputError(
            "PCA with 2 components and a correlation need at least 3 emotions; "
            f"got {n} ({list(emotions)})"
        )
    if not np.isfinite(vectors).all():
        i, layer, _ = (int(v) for v in np.argwhere(~np.isfinite(vectors))[0])
        raise EmovecInputError(
            f"vectors contains NaN or inf (first at emotion {emotions[i]!r}, layer {layer})"
        )
    ratings = np.stack(
        [_check_ratings(valence, "valence", n), _check_ratings(arousal, "arousal", n)]
    )
    return vectors, emotions, ratings


def _check_settings(n_boot: int, n_perm: int, ci_level: float, pc_matching: str, max_swap_rate: float) -> None:
    if pc_matching not in PC_MATCHINGS:
        raise EmovecInputError(f"pc_matching must be one of {list(PC_MATCHINGS)}; got {pc_matching!r}")
    if not 0.0 <= float(max_swap_rate) <= 1.0:
        raise EmovecInputError(f"max_swap_rate must lie in [0, 1]; got {max_swap_rate!r}")
    for name, value in (("n_boot", n_boot), ("n_perm", n_perm)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise EmovecInputError(f"{name} must be an integer >= 1; got {value!r}")
    if not 0.0 < float(ci_level) < 1.0:
        raise EmovecInputError(f"ci_level must lie in (0, 1); got {ci_level!r}")


def affect_by_layer(
    vectors: np.ndarray,
    emotions: Sequence[str],
    valence: Sequence[float],
    arousal: Sequence[float],
    *,
    n_boot: int,
    n_perm: int,
    seed: int,
    orientation: str = "anchor",
    anchors: Sequence[str] = ("happy", "afraid"),
    ci_level: float = 0.95,
    pc_matching: str = "order",
    max_swap_rate: float = 0.05,
    progress: bool = False,
) -> AffectResult:
    """Correlate PC1 with valence and PC2 with arousal at every layer, with CIs and p-values.

    Per layer: 2-PC PCA of the emotion vectors, signs fixed by ``orientation`` (never by the
    ratings), Pearson r and Spearman rho of (PC1, valence) and (PC2, arousal).
    Uncertainty, all drawn once from ``np.random.default_rng(seed)`` (bootstrap indices
    first, then permutations) and shared by every layer:

    * bootstrap over emotions: resample with replacement, refit the PCA, match the refit's PCs
      to the full-sample PCs (``pc_matching``: by order and sign, or by sign only), correlate
      with the resampled ratings; percentile CI at ``ci_level`` over resamples where every
      statistic is defined (count in ``n_boot_valid``); the swap rate, lambda1/lambda2's CI and
      the rotation-invariant R (with its CI) beside;
    * permutation null: permute the ratings (the same permutation for every layer and both
      targets), two-sided |r| and |rho|; per-layer p, BH over layers, max-T over layers.

    Args:
        vectors: [n_emotions, n_layers, d] emotion vectors (any units), finite.
        emotions: [n_emotions] distinct names, the row order of ``vectors``; >= 3.
        valence, arousal: [n_emotions] human ratings, finite, not constant.
        n_boot, n_perm: numbers of bootstrap resamples and permutations (>= 1).
        seed: seed of the single random generator.
        orientation: a key of ``ORIENTATIONS``.
        anchors: for ``"anchor"``: the emotion made positive on PC1, then on PC2.
        ci_level: coverage of the percentile intervals, in (0, 1).
        pc_matching: a key of ``emovec.geometry.pca.PC_MATCHINGS``.
        max_swap_rate: a peak's PC counts as identified when its layer's swap rate is at most this.
        progress: show a tqdm bar over layers.

    Returns:
        ``AffectResult``.
    """
    x, emotions, ratings = _validate(vectors, emotions, valence, arousal)
    _check_settings(n_boot, n_perm, ci_level, pc_matching, max_swap_rate)
    n, n_layers, _ = x.shape
    rng = np.random.default_rng(seed)
    boot_idx = rng.integers(0, n, size=(int(n_boot), n))
    perm_idx = rng.permuted(np.tile(np.arange(n), (int(n_perm), 1)), axis=1)
    prepared = _prepare_ratings(ratings, boot_idx, perm_idx)
    anchors = tuple(anchors)

    stats: list[_LayerStats] = []
    for layer in tqdm(range(n_layers), desc="valence/arousal", disable=not progress):
        try:
            stats.append(_analyse_layer(x[:, layer], emotions, prepared, orientation, anchors, pc_matching))
        except EmovecInputError as err:
            raise EmovecInputError(f"layer {layer}: {err}") from err

    layers, p_max = _layers_frame(stats, n, float(ci_level))
    return AffectResult(
        emotions=emotions,
        layers=layers,
        peaks={t: _peak(layers, t, p_max[t], float(max_swap_rate)) for t, _ in TARGETS},
        scores=np.stack([s.fit.scores for s in stats]),
        n_boot=int(n_boot),
        n_perm=int(n_perm),
        seed=int(seed),
        ci_level=float(ci_level),
        orientation=orientation,
        anchors=anchors,
        boot_r=np.stack([s.r_boot for s in stats], axis=1),
        boot_idx=boot_idx,
        boot_big_r=np.stack([s.big_r_boot for s in stats], axis=1),
        boot_swapped=np.stack([s.swapped for s in stats], axis=1),
        pc_matching=pc_matching,
        max_swap_rate=float(max_swap_rate),
    )
