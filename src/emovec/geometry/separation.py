"""How well emotion vectors separate, layer by layer, and what that number should be read against.

A mean pairwise cosine on its own misleads (METHODS trap 1): vectors centred on their own mean
cannot go below -1/(N-1), and near that floor the statistic only measures how unequal the
norms are. So every separation number here comes with the analytic floor, a shuffled-label
null (same baseline, emotion labels permuted among emotion stimuli) and, when neutral
sentences are given, an anisotropy baseline (how similar raw activations already are).

All cosines are dimensionless in [-1, 1]; arrays are per layer unless stated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emovec.emotions import NEUTRAL, OPPOSITE_PAIRS
from emovec.errors import EmovecInputError
from emovec.vectors import (
    BaselineContext,
    compute_emotion_vectors,
    resolve_baseline,
    validate_inputs,
)

__all__ = [
    "SeparationResult",
    "anisotropy_baseline",
    "best_layer",
    "cosine_floor",
    "mean_pairwise_cosine",
    "pair_cosines",
    "separation_by_layer",
    "shuffled_label_null",
]

# Upper bound on float64 elements held at once by the permutation batch (~128 MiB), so the
# null stays vectorised on toy data yet fits in memory for 28 layers x 3584 dims.
_NULL_CHUNK_ELEMENTS = 2**24


def _batched_mean_pairwise_cosine(vectors: np.ndarray) -> np.ndarray:
    """Mean off-diagonal cosine; vectors [..., n, n_layers, d] -> [..., n_layers].

    Uses sum_{i != j} u_i.u_j = |sum u|^2 - sum |u|^2 for unit vectors u, which is O(n d)
    instead of O(n^2 d). Zero vectors give NaN (their cosine is undefined).
    """
    n = vectors.shape[-3]
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = vectors / norms
    total = unit.sum(axis=-3)
    sum_sq = np.einsum("...d,...d->...", total, total)
    self_sq = np.einsum("...nld,...nld->...l", unit, unit)
    return (sum_sq - self_sq) / (n * (n - 1))


def _check_vector_stack(vectors: np.ndarray, what: str) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 3:
        raise EmovecInputError(f"{what} must have shape [n, n_layers, d]; got {vectors.shape}")
    if vectors.shape[0] < 2:
        raise EmovecInputError(f"{what} needs at least 2 vectors; got {vectors.shape[0]}")
    zero = np.linalg.norm(vectors, axis=-1) == 0
    if zero.any():
        i, layer = (int(x[0]) for x in np.nonzero(zero))
        raise EmovecInputError(
            f"{what}: vector {i} at layer {layer} has zero norm; its cosine is undefined"
        )
    return vectors


def mean_pairwise_cosine(vectors: np.ndarray) -> np.ndarray:
    """Mean cosine over distinct pairs (i < j), per layer.

    Args:
        vectors: [n, n_layers, d], n >= 2, no zero vectors.

    Returns:
        float64 [n_layers], each in [-1, 1] (>= -1/(n-1) always; see ``cosine_floor``).
    """
    return _batched_mean_pairwise_cosine(_check_vector_stack(vectors, "vectors"))


def cosine_floor(n: int) -> float:
    """Lowest possible mean pairwise cosine of n vectors: -1/(n-1).

    Reached by vectors centred on their own mean with equal norms (a regular simplex), which
    is why grand-mean contrasts sit near it whatever the data (METHODS trap 1).
    """
    if n < 2:
        raise EmovecInputError(f"cosine floor needs n >= 2 vectors; got n={n}")
    return -1.0 / (n - 1)


def _pair_key(a: str, b: str) -> str:
    return f"{a}-{b}"


def pair_cosines(
    vectors: np.ndarray, emotions: Sequence[str], pairs: Sequence[tuple[str, str]]
) -> dict[str, np.ndarray]:
    """Cosine between the two vectors of each named pair, per layer.

    Args:
        vectors: [n_emotions, n_layers, d], rows ordered as ``emotions``.
        emotions: emotion names of the rows.
        pairs: (a, b) emotion-name pairs.

    Returns:
        {"a-b": float64 [n_layers]} in the order of ``pairs``.

    Raises:
        EmovecInputError: a pair names an emotion not in ``emotions`` (all such pairs named),
            or a shape mismatch / zero vector.
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    emotions = tuple(emotions)
    if vectors.ndim != 3 or vectors.shape[0] != len(emotions):
        raise EmovecInputError(
            f"vectors must have shape [n_emotions={len(emotions)}, n_layers, d]; "
            f"got {vectors.shape}"
        )
    index = {e: i for i, e in enumerate(emotions)}
    missing = [_pair_key(a, b) for a, b in pairs if a not in index or b not in index]
    if missing:
        raise EmovecInputError(
            f"pair(s) {missing} name emotions absent from the vectors ({list(emotions)})"
        )
    out: dict[str, np.ndarray] = {}
    for a, b in pairs:
        va, vb = vectors[index[a]], vectors[index[b]]
        na, nb = np.linalg.norm(va, axis=-1), np.linalg.norm(vb, axis=-1)
        if (na == 0).any() or (nb == 0).any():
            raise EmovecInputError(f"pair {_pair_key(a, b)!r} has a zero vector at some layer")
        out[_pair_key(a, b)] = np.einsum("ld,ld->l", va, vb) / (na * nb)
    return out


def _permuted_group_indices(
    group: np.ndarray, n_permutations: int, seed: int
) -> np.ndarray:
    """Independent permutations of the emotion index of the emotion stimuli.

    Args:
        group: int [n_emotion_stimuli], emotion index of each emotion stimulus.

    Returns:
        int [n_permutations, n_emotion_stimuli]; each row a permutation of ``group``, so
        group sizes are preserved.
    """
    rng = np.random.default_rng(seed)
    return rng.permuted(np.tile(group, (n_permutations, 1)), axis=1)


def _permuted_labels(
    labels: np.ndarray, emotions: Sequence[str], n_permutations: int, seed: int
) -> np.ndarray:
    """The label arrays the shuffled null uses: str [n_permutations, n_stimuli].

    Only stimuli whose label is in ``emotions`` are shuffled; neutral (and any other) labels
    stay in place. Exposed for tests and for anyone auditing the null.
    """
    labels = np.asarray(labels).astype(str)
    emotions = tuple(emotions)
    mask = np.isin(labels, emotions)
    index = {e: i for i, e in enumerate(emotions)}
    group = np.array([index[x] for x in labels[mask]], dtype=int)
    perms = _permuted_group_indices(group, n_permutations, seed)
    out = np.tile(labels.astype(object), (n_permutations, 1))
    out[:, mask] = np.asarray(emotions, dtype=object)[perms]
    return out.astype(str)


def shuffled_label_null(
    acts: np.ndarray,
    labels: np.ndarray | Sequence[str],
    emotions: Sequence[str],
    baseline: str,
    normalise: bool,
    n_permutations: int,
    seed: int,
    variance_threshold: float = 0.5,
) -> np.ndarray:
    """Mean pairwise cosine of emotion vectors under shuffled emotion labels.

    Emotion labels are permuted among the emotion stimuli only (neutral stimuli keep their
    label; group sizes are preserved), vectors are recomputed with the same baseline, and
    the mean pairwise cosine is taken per layer. Unit-normalising does not change a cosine,
    so ``normalise`` is accepted for symmetry with the observed statistic but has no effect.

    Args:
        acts: [n_stimuli, n_layers, d_model].
        labels: [n_stimuli] emotion names or ``"neutral"``.
        emotions: emotions whose stimuli are shuffled (>= 2).
        baseline: a key of ``emovec.baselines.BASELINES``.
        normalise: recorded choice; no effect on cosines.
        n_permutations: number of shuffles (>= 1).
        seed: seed for ``np.random.default_rng``.
        variance_threshold: as in ``compute_emotion_vectors`` (``neutral_pca``).

    Returns:
        float64 [n_permutations, n_layers].
    """
    del normalise  # cosine is invariant to per-vector scaling
    fn = resolve_baseline(baseline, variance_threshold)
    acts, labels, emotions = validate_inputs(acts, labels, emotions)
    if len(emotions) < 2:
        raise EmovecInputError(f"shuffled null needs >= 2 emotions; got {list(emotions)}")
    if int(n_permutations) < 1:
        raise EmovecInputError(f"n_permutations must be >= 1; got {n_permutations}")
    n_permutations = int(n_permutations)
    counts = {e: int(np.count_nonzero(labels == e)) for e in emotions}
    missing = [e for e, n in counts.items() if n == 0]
    if missing:
        raise EmovecInputError(f"no stimuli labelled with emotion(s) {missing}")

    n_layers, d = acts.shape[1:]
    n_e = len(emotions)
    mask = np.isin(labels, emotions)
    index = {e: i for i, e in enumerate(emotions)}
    group = np.array([index[x] for x in labels[mask]], dtype=int)
    size = np.bincount(group, minlength=n_e).astype(np.float64)
    x = acts[mask].reshape(group.size, n_layers * d).astype(np.float64, copy=False)
    ctx = BaselineContext(baseline, acts[labels == NEUTRAL].astype(np.float64), variance_threshold)

    perms = _permuted_group_indices(group, n_permutations, seed)
    per_perm = n_e * (n_layers * d + group.size)
    chunk = max(1, _NULL_CHUNK_ELEMENTS // per_perm)
    out = np.empty((n_permutations, n_layers))
    cols = np.arange(group.size)
    for start in range(0, n_permutations, chunk):
        p = perms[start : start + chunk]
        # Averaging matrix: row (perm, emotion) holds 1/size on that emotion's stimuli, so one
        # matmul yields every permutation's group means.
        w = np.zeros((p.shape[0], n_e, group.size))
        w[np.arange(p.shape[0])[:, None], p, cols[None, :]] = 1.0 / size[p]
        means = (w.reshape(-1, group.size) @ x).reshape(p.shape[0], n_e, n_layers, d)
        vectors, _ = fn(means, ctx)
        out[start : start + p.shape[0]] = _batched_mean_pairwise_cosine(vectors)
    return out


def anisotropy_baseline(acts: np.ndarray) -> np.ndarray:
    """Mean pairwise cosine among raw (uncentred) pooled activations of neutral sentences.

    Residual streams are anisotropic: unrelated sentences already share a large common
    direction. An emotion-vector cosine is only informative relative to this.

    Args:
        acts: [n_sentences, n_layers, d_model], n_sentences >= 2.

    Returns:
        float64 [n_layers].
    """
    return _batched_mean_pairwise_cosine(_check_vector_stack(acts, "anisotropy acts"))


@dataclass(frozen=True, eq=False)
class SeparationResult:
    """Per-layer separation of emotion vectors with the context needed to read it.

    Attributes:
        mean_cosine: [n_layers] observed mean pairwise cosine (lower = more separated).
        floor: -1/(n_emotions-1), the analytic minimum.
        null_mean, null_lo, null_hi: [n_layers] mean and 2.5/97.5 percentiles of the
            shuffled-label null.
        p_null: [n_layers] one-sided (1 + #{null <= observed}) / (1 + n_permutations): the
            probability of separation at least this good under shuffled labels.
        anisotropy: [n_layers] mean raw cosine of neutral sentences, or None.
        pair_cosines: {"a-b": [n_layers]} cosines of named pairs.
        n_emotions, n_permutations, baseline, normalised: the choices behind the numbers.
        removed_k: [n_layers] neutral PCs removed (``neutral_pca`` only), else None.
    """

    mean_cosine: np.ndarray
    floor: float
    null_mean: np.ndarray
    null_lo: np.ndarray
    null_hi: np.ndarray
    p_null: np.ndarray
    anisotropy: np.ndarray | None
    pair_cosines: dict[str, np.ndarray]
    n_emotions: int
    n_permutations: int
    baseline: str
    normalised: bool
    removed_k: np.ndarray | None = None

    def to_rows(self) -> list[dict]:
        """One tidy dict per layer (ready for ``pandas.DataFrame``).

        Keys: layer, mean_cosine, floor, null_mean, null_lo, null_hi, p_null, anisotropy,
        gap_to_anisotropy (= anisotropy - mean_cosine), cos_<a-b> per pair, n_emotions,
        n_permutations, baseline, normalised, removed_k. Without anisotropy data its two
        columns are NaN; removed_k is None unless the baseline removed components.
        """
        rows: list[dict] = []
        for layer in range(self.mean_cosine.shape[0]):
            aniso = float("nan") if self.anisotropy is None else float(self.anisotropy[layer])
            row: dict = {
                "layer": layer,
                "mean_cosine": float(self.mean_cosine[layer]),
                "floor": float(self.floor),
                "null_mean": float(self.null_mean[layer]),
                "null_lo": float(self.null_lo[layer]),
                "null_hi": float(self.null_hi[layer]),
                "p_null": float(self.p_null[layer]),
                "anisotropy": aniso,
                "gap_to_anisotropy": aniso - float(self.mean_cosine[layer]),
            }
            for key, values in self.pair_cosines.items():
                row[f"cos_{key}"] = float(values[layer])
            row.update(
                n_emotions=self.n_emotions,
                n_permutations=self.n_permutations,
                baseline=self.baseline,
                normalised=self.normalised,
                removed_k=None if self.removed_k is None else int(self.removed_k[layer]),
            )
            rows.append(row)
        return rows


def separation_by_layer(
    acts: np.ndarray,
    labels: np.ndarray | Sequence[str],
    emotions: Sequence[str],
    baseline: str,
    normalise: bool,
    n_permutations: int,
    seed: int,
    anisotropy_acts: np.ndarray | None = None,
    pairs: Sequence[tuple[str, str]] = OPPOSITE_PAIRS,
    variance_threshold: float = 0.5,
) -> SeparationResult:
    """Observed separation per layer beside its floor, shuffled-label null and anisotropy.

    Args:
        acts: [n_stimuli, n_layers, d_model] pooled activations.
        labels: [n_stimuli] emotion names or ``"neutral"``.
        emotions: emotion order (>= 2).
        baseline, normalise, variance_threshold: as in ``compute_emotion_vectors``.
        n_permutations, seed: shuffled-label null (see ``shuffled_label_null``).
        anisotropy_acts: [n_sentences, n_layers, d_model] neutral sentences, or None.
        pairs: emotion pairs whose cosines are reported; pass () for none.

    Returns:
        ``SeparationResult``.
    """
    ev = compute_emotion_vectors(acts, labels, emotions, baseline, normalise, variance_threshold)
    observed = mean_pairwise_cosine(ev.vectors)
    pcs = pair_cosines(ev.vectors, ev.emotions, pairs)
    aniso = None
    if anisotropy_acts is not None:
        anisotropy_acts = np.asarray(anisotropy_acts)
        if anisotropy_acts.ndim != 3 or anisotropy_acts.shape[1:] != ev.vectors.shape[1:]:
            raise EmovecInputError(
                f"anisotropy_acts must have shape [n, n_layers, d_model] = "
                f"[n, {ev.vectors.shape[1]}, {ev.vectors.shape[2]}]; got {anisotropy_acts.shape}"
            )
        aniso = anisotropy_baseline(anisotropy_acts)
    null = shuffled_label_null(
        acts, labels, emotions, baseline, normalise, n_permutations, seed, variance_threshold
    )
    lo, hi = np.percentile(null, [2.5, 97.5], axis=0)
    p = (1.0 + np.count_nonzero(null <= observed[None, :], axis=0)) / (1.0 + null.shape[0])
    return SeparationResult(
        mean_cosine=observed,
        floor=cosine_floor(len(ev.emotions)),
        null_mean=null.mean(axis=0),
        null_lo=lo,
        null_hi=hi,
        p_null=p,
        anisotropy=aniso,
        pair_cosines=pcs,
        n_emotions=len(ev.emotions),
        n_permutations=int(null.shape[0]),
        baseline=baseline,
        normalised=ev.normalised,
        removed_k=ev.removed_k,
    )


def best_layer(mean_cosine: np.ndarray) -> int:
    """Layer with the lowest mean pairwise cosine (lower = better separation).

    NaN layers are skipped. This is a maximum over layers: report it with a max-statistic
    or FDR-corrected p (METHODS trap 3), not as a standalone finding.
    """
    mean_cosine = np.asarray(mean_cosine, dtype=np.float64)
    if mean_cosine.ndim != 1 or mean_cosine.size == 0:
        raise EmovecInputError(f"mean_cosine must be a non-empty [n_layers] array; got {mean_cosine.shape}")
    if np.isnan(mean_cosine).all():
        raise EmovecInputError("mean_cosine is NaN at every layer; no best layer")
    return int(np.nanargmin(mean_cosine))
