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

This module checks the input, draws the resamples and assembles the result; one layer's
statistics are :mod:`emovec.geometry.affect_layer`, the per-layer table and the peaks
:mod:`emovec.geometry.affect_table`.

Units: scores are in the units of the vectors; eigenvalues are variances (units^2);
correlations and p-values are dimensionless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm import tqdm

from emovec.errors import EmovecInputError
from emovec.geometry.affect_layer import TARGETS, LayerStats, analyse_layer, prepare_ratings
from emovec.geometry.affect_table import layers_frame, peak
from emovec.geometry.pca import PC_MATCHINGS

__all__ = ["AffectResult", "affect_by_layer"]


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
    prepared = prepare_ratings(ratings, boot_idx, perm_idx)
    anchors = tuple(anchors)

    stats: list[LayerStats] = []
    for layer in tqdm(range(n_layers), desc="valence/arousal", disable=not progress):
        try:
            stats.append(analyse_layer(x[:, layer], emotions, prepared, orientation, anchors, pc_matching))
        except EmovecInputError as err:
            raise EmovecInputError(f"layer {layer}: {err}") from err

    layers, p_max = layers_frame(stats, n, float(ci_level))
    return AffectResult(
        emotions=emotions,
        layers=layers,
        peaks={t: peak(layers, t, p_max[t], float(max_swap_rate)) for t, _ in TARGETS},
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
