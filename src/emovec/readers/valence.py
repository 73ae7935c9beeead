"""The valence experiment's tracked outputs, read and cross-checked.

Per (model x story corpus) cell the valence stage writes ``build/valence/<cell>/`` with
``layers.csv`` (PCA across emotions at every layer; PC1-valence and PC2-arousal Pearson r with
percentile-bootstrap CIs over emotions, permutation p, BH-FDR across layers, max-statistic p,
Spearman rho, lambda1/lambda2), ``summary.json`` (settings and the post-hoc peak per target),
``scores.npz`` (oriented PC scores per layer) and ``norms.csv`` (the rating of every emotion and
where it came from). The CKA stage writes ``build/cka/<model>.npz``.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emovec.artefacts.declarations import VALENCE_LAYERS, VALENCE_NORMS, VALENCE_SUMMARY
from emovec.config.values import require_int
from emovec.errors import EmovecInputError
from emovec.readers.checked import as_float, is_missing, read_checked_csv, read_json_artefact
from emovec.readers.paper_valence import ValenceCellSpec, ValenceSpec, valence_sort_key

__all__ = [
    "NORMS_COLUMNS",
    "NORM_STATUSES",
    "PEAK_KEYS",
    "TARGETS",
    "CKAData",
    "ValenceCellData",
    "load_cka",
    "load_valence_cells",
]

TARGETS: tuple[str, ...] = ("valence", "arousal")
PEAK_KEYS: tuple[str, ...] = (
    "layer", "pc", "r", "abs_r", "r_ci_low", "r_ci_high", "p_perm", "p_fdr", "p_max", "rho", "lambda_ratio",
    "lambda_ratio_ci_low", "lambda_ratio_ci_high", "swap_rate", "identified", "R", "R_ci_low", "R_ci_high", "angle",
)
# summary peak key -> layers.csv column ("{t}" is the target).
_PEAK_COLUMNS: dict[str, str] = {
    "pc": "{t}_pc", "r": "{t}_r", "r_ci_low": "{t}_r_ci_low", "r_ci_high": "{t}_r_ci_high",
    "p_perm": "{t}_p_perm", "p_fdr": "{t}_p_fdr", "p_max": "{t}_p_maxT", "rho": "{t}_rho",
    "lambda_ratio": "lambda_ratio", "lambda_ratio_ci_low": "lambda_ratio_ci_low",
    "lambda_ratio_ci_high": "lambda_ratio_ci_high", "swap_rate": "swap_rate", "R": "{t}_R",
    "R_ci_low": "{t}_R_ci_low", "R_ci_high": "{t}_R_ci_high", "angle": "{t}_angle",
}
NORMS_COLUMNS = VALENCE_NORMS.names
NORM_STATUSES: tuple[str, ...] = ("found", "fallback", "excluded")

# The summary and layers.csv hold the same statistics (the CSV at ~6 significant digits); a
# larger disagreement means one of them is stale or was edited by hand.
_CONSISTENCY_TOL = 5e-4


@dataclass(frozen=True, eq=False)
class ValenceCellData:
    """One cell's validated valence outputs.

    Attributes:
        spec: the cell's config entry.
        layers: ``layers.csv`` sorted by layer (0..n_layers-1); integer columns as int.
        summary: ``summary.json`` as read (peaks checked against ``layers``).
        emotions: emotion names in score order.
        scores: float64 [n_layers, n_emotions, 2], oriented PC1/PC2 scores.
        valence, arousal: float64 [n_emotions], the ratings on [-1, 1] used for the correlations.
        norms: ``norms.csv``, one row per emotion of the emotion set.
        compare_layers: ``compare_layers.csv`` (the analysis under ``summary['compare']['baseline']``),
            or None when the cell ran no comparison baseline.
    """

    spec: ValenceCellSpec
    layers: pd.DataFrame
    summary: dict[str, Any]
    emotions: tuple[str, ...]
    scores: np.ndarray
    valence: np.ndarray
    arousal: np.ndarray
    norms: pd.DataFrame
    compare_layers: pd.DataFrame | None = None

    def peak(self, target: str) -> dict[str, Any]:
        """The summary's post-hoc peak for ``target`` ("valence" or "arousal")."""
        return self.summary["peaks"][target]

    @property
    def n_emotions(self) -> int:
        return int(self.summary["n_emotions"])


@dataclass(frozen=True, eq=False)
class CKAData:
    """One model's debiased linear CKA between layers (within a corpus) and between corpora.

    Attributes:
        model: the model name.
        corpora: corpus names, indexing the first axis of ``layer_by_layer``.
        layer_by_layer: float64 [k, n_layers, n_layers].
        pairs: the (corpus, corpus) pairs indexing ``between_corpora`` (may be empty).
        between_corpora: float64 [m, n_layers], CKA between two corpora at the same layer.
        n_emotions: the number of emotions (rows of the compared contrast-vector matrices).
    """

    model: str
    corpora: tuple[str, ...]
    layer_by_layer: np.ndarray
    pairs: tuple[tuple[str, str], ...]
    between_corpora: np.ndarray
    n_emotions: int = field(default=0)


def _read_layers(path: Path, spec: ValenceCellSpec) -> pd.DataFrame:
    df = read_checked_csv(path, VALENCE_LAYERS.names, VALENCE_LAYERS.numeric, VALENCE_LAYERS.integer,
                          VALENCE_LAYERS.nullable)
    df = df.sort_values("layer", kind="stable").reset_index(drop=True)
    if df["layer"].tolist() != list(range(spec.n_layers)):
        raise EmovecInputError(
            f"{path}: column 'layer' holds {df['layer'].tolist()}; cell {spec.cell!r} has n_layers="
            f"{spec.n_layers} (expected one row per layer 0..{spec.n_layers - 1})")
    return df


def _read_summary(path: Path, spec: ValenceCellSpec) -> dict[str, Any]:
    raw = read_json_artefact(path, VALENCE_SUMMARY)
    for key in ("cell", "model", "corpus", "generator", "norms", "emotion_set", "n_layers"):
        if raw[key] != getattr(spec, key):
            raise EmovecInputError(
                f"{path}: key {key!r} is {raw[key]!r} but the paper config says {getattr(spec, key)!r} "
                f"for cell {spec.cell!r}; stale output?")
    for key in ("n_emotions", "n_boot", "n_perm"):
        require_int(raw[key], f"{path}: key {key!r}", minimum=1)
    for key in ("n_neutral", "n_excluded_short"):
        require_int(raw[key], f"{path}: key {key!r}", minimum=0)
    level = raw["ci_level"]
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 100:
        raise EmovecInputError(f"{path}: key 'ci_level' must be a number in (0, 1) or (0, 100); got {level!r}")
    anchors = raw["anchors"]
    if not (isinstance(anchors, list) and len(anchors) == 2 and all(isinstance(a, str) for a in anchors)):
        raise EmovecInputError(f"{path}: key 'anchors' must be a list of two emotion names; got {anchors!r}")
    stories = raw["n_stories"]
    if not isinstance(stories, dict) or not stories or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in stories.values()):
        raise EmovecInputError(f"{path}: key 'n_stories' must map emotion names to story counts")
    removed = raw["removed_k"]
    if removed is not None and not (isinstance(removed, list) and len(removed) == spec.n_layers):
        raise EmovecInputError(
            f"{path}: key 'removed_k' must be null or a list of {spec.n_layers} integers (one per layer)")
    _check_peak_keys(raw["peaks"], path, "peaks", spec)
    compare = raw["compare"]
    if compare is not None:
        if not isinstance(compare, dict) or not {"baseline", "removed_k", "peaks"} <= compare.keys():
            raise EmovecInputError(f"{path}: key 'compare' must be null or an object with baseline, removed_k, peaks")
        _check_peak_keys(compare["peaks"], path, "compare.peaks", spec)
    return raw


def _check_peak_keys(peaks: Any, path: Path, where: str, spec: ValenceCellSpec) -> None:
    if not isinstance(peaks, dict):
        raise EmovecInputError(f"{path}: key {where!r} must be an object")
    for t in TARGETS:
        if t not in peaks or not isinstance(peaks[t], dict):
            raise EmovecInputError(f"{path}: missing key '{where}.{t}'")
        miss = [k for k in PEAK_KEYS if k not in peaks[t]]
        if miss:
            raise EmovecInputError(f"{path}: missing key(s) {[f'{where}.{t}.{k}' for k in miss]}")
        layer = require_int(peaks[t]["layer"], f"{path}: key '{where}.{t}.layer'", minimum=0)
        if layer >= spec.n_layers:
            raise EmovecInputError(f"{path}: key '{where}.{t}.layer'={layer} is out of range for "
                                   f"n_layers={spec.n_layers}")


def _check_peaks(peaks: dict[str, Any], n_emotions: int, layers: pd.DataFrame, summary_path: Path,
                 layers_path: Path, where: str = "peaks") -> None:
    if (layers["n_emotions"] != n_emotions).any():
        raise EmovecInputError(
            f"{layers_path}: column 'n_emotions' disagrees with n_emotions={n_emotions} in "
            f"{summary_path}; stale output?")
    for t in TARGETS:
        peak = peaks[t]
        row = layers.iloc[int(peak["layer"])]
        for key, template in _PEAK_COLUMNS.items():
            col = template.format(t=t)
            a, b = as_float(peak[key]), float(row[col])
            same = (math.isnan(a) and math.isnan(b)) or (a == b) or abs(a - b) <= _CONSISTENCY_TOL
            if not same:
                raise EmovecInputError(
                    f"{summary_path}: key '{where}.{t}.{key}'={peak[key]!r} disagrees with column {col!r}="
                    f"{b!r} at layer {int(peak['layer'])} of {layers_path}; one of them is stale or edited")


def _read_scores(
    path: Path, spec: ValenceCellSpec, n_emotions: int,
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray]:
    keys = ("scores", "emotions", "valence", "arousal")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise EmovecInputError(f"{path}: missing key(s) {missing}")
            scores = np.asarray(npz["scores"], dtype=np.float64)
            emotions = tuple(str(e) for e in np.asarray(npz["emotions"]).tolist())
            valence = np.asarray(npz["valence"], dtype=np.float64)
            arousal = np.asarray(npz["arousal"], dtype=np.float64)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise EmovecInputError(f"{path}: not a readable .npz ({exc})") from None
    if scores.shape != (spec.n_layers, n_emotions, 2):
        raise EmovecInputError(
            f"{path}: key 'scores' must have shape [n_layers={spec.n_layers}, n_emotions={n_emotions}, 2]; "
            f"got {scores.shape}")
    for name, arr in (("emotions", emotions), ("valence", valence), ("arousal", arousal)):
        if len(arr) != n_emotions:
            raise EmovecInputError(f"{path}: key {name!r} has {len(arr)} entries; expected n_emotions={n_emotions}")
    if len(set(emotions)) != len(emotions):
        raise EmovecInputError(f"{path}: key 'emotions' lists an emotion twice")
    for name, arr in (("valence", valence), ("arousal", arousal)):
        if not np.isfinite(arr).all() or np.abs(arr).max() > 1.0 + 1e-9:
            raise EmovecInputError(f"{path}: key {name!r} must hold finite ratings on [-1, 1]")
    return emotions, scores, valence, arousal


def _read_norms(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise EmovecInputError(f"{path}: not a readable CSV ({exc})") from None
    missing = [c for c in NORMS_COLUMNS if c not in df.columns]
    if missing:
        raise EmovecInputError(f"{path}: missing column(s) {missing}")
    if df.empty:
        raise EmovecInputError(f"{path}: no rows")
    for col in ("valence", "arousal"):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() & df[col].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise EmovecInputError(f"{path}: column {col!r} row {row}: {df[col].iloc[row]!r} is not a number")
        df[col] = values.astype(float)
    for col in ("emotion", "norm", "lemma", "raw_scale", "status", "note"):
        df[col] = [("" if is_missing(v) else str(v)) for v in df[col]]
    bad_status = sorted(set(df["status"]) - set(NORM_STATUSES))
    if bad_status:
        raise EmovecInputError(f"{path}: column 'status' has {bad_status}; expected one of {list(NORM_STATUSES)}")
    if df["emotion"].duplicated().any():
        dup = df.loc[df["emotion"].duplicated(), "emotion"].iloc[0]
        raise EmovecInputError(f"{path}: column 'emotion' lists {dup!r} twice")
    return df.reset_index(drop=True)


def _check_ratings(cell: str, emotions: Sequence[str], valence: np.ndarray, arousal: np.ndarray,
                   norms: pd.DataFrame, scores_path: Path, norms_path: Path) -> None:
    by_emotion = norms.set_index("emotion")
    for i, emo in enumerate(emotions):
        if emo not in by_emotion.index:
            raise EmovecInputError(f"{norms_path}: column 'emotion' has no row for {emo!r} (in {scores_path})")
        row = by_emotion.loc[emo]
        if row["status"] == "excluded":
            raise EmovecInputError(f"{norms_path}: {emo!r} is marked excluded but {scores_path} includes it")
        for col, arr in (("valence", valence), ("arousal", arousal)):
            if not abs(float(row[col]) - arr[i]) <= _CONSISTENCY_TOL:
                raise EmovecInputError(
                    f"{scores_path}: key {col!r} for {emo!r} is {arr[i]:.6f} but column {col!r} of {norms_path} "
                    f"says {float(row[col]):.6f} (cell {cell!r}); one of them is stale")


def load_valence_cells(spec: ValenceSpec, valence_dir: str | Path) -> dict[str, ValenceCellData]:
    """Read and cross-check every listed valence cell's outputs under ``valence_dir/<cell>/``.

    Missing files are reported all at once. Checks: required columns/keys; summary's cell,
    model, corpus, generator, norms, emotion set and n_layers equal the config; ``layers.csv``
    has one row per layer 0..n_layers-1; the summary peaks agree with ``layers.csv`` at the peak
    layer within 5e-4; scores have shape [n_layers, n_emotions, 2]; every scored emotion has a
    non-excluded row in ``norms.csv`` with the same ratings.

    Returns:
        {cell name: ValenceCellData} in config order ({} when no cells are listed).
    """
    valence_dir = Path(valence_dir)
    names = ("layers.csv", "summary.json", "scores.npz", "norms.csv")
    paths = {c.cell: tuple(valence_dir / c.cell / n for n in names) for c in spec.cells}
    absent = [str(p) for group in paths.values() for p in group if not p.is_file()]
    if absent:
        raise EmovecInputError(f"missing valence output file(s) for listed cells: {', '.join(absent)}")
    out: dict[str, ValenceCellData] = {}
    for c in spec.cells:
        layers_path, summary_path, scores_path, norms_path = paths[c.cell]
        layers = _read_layers(layers_path, c)
        summary = _read_summary(summary_path, c)
        _check_peaks(summary["peaks"], summary["n_emotions"], layers, summary_path, layers_path)
        compare_layers = None
        if summary["compare"] is not None:
            compare_path = layers_path.with_name("compare_layers.csv")
            if not compare_path.is_file():
                raise EmovecInputError(f"{compare_path} is missing but {summary_path} has a 'compare' entry; "
                                       "re-run the valence stage")
            compare_layers = _read_layers(compare_path, c)
            _check_peaks(summary["compare"]["peaks"], summary["n_emotions"], compare_layers, summary_path,
                         compare_path, "compare.peaks")
        emotions, scores, valence, arousal = _read_scores(scores_path, c, int(summary["n_emotions"]))
        norms = _read_norms(norms_path)
        _check_ratings(c.cell, emotions, valence, arousal, norms, scores_path, norms_path)
        out[c.cell] = ValenceCellData(spec=c, layers=layers, summary=summary, emotions=emotions, scores=scores,
                                      valence=valence, arousal=arousal, norms=norms, compare_layers=compare_layers)
    return out


def load_cka(spec: ValenceSpec, cka_dir: str | Path) -> dict[str, CKAData]:
    """Read ``cka_dir/<model>.npz`` for every model of the valence cells.

    Checks: keys ``corpora, layer_by_layer, pairs, between_corpora, n_emotions``; shapes
    [k, L, L] and [m, L] with L the model's n_layers; every corpus the model has a valence
    cell for is among ``corpora``; every pair names two of ``corpora``.

    Returns:
        {model: CKAData} in ``valence_sort_key`` order of the models' first cells.
    """
    cka_dir = Path(cka_dir)
    models: dict[str, list[ValenceCellSpec]] = {}
    for c in sorted(spec.cells, key=valence_sort_key):
        models.setdefault(c.model, []).append(c)
    absent = [str(cka_dir / f"{m}.npz") for m in models if not (cka_dir / f"{m}.npz").is_file()]
    if absent:
        raise EmovecInputError(f"missing CKA file(s) for models with valence cells: {', '.join(absent)}")
    keys = ("corpora", "layer_by_layer", "pairs", "between_corpora", "n_emotions")
    out: dict[str, CKAData] = {}
    for model, cells in models.items():
        path = cka_dir / f"{model}.npz"
        n_layers = cells[0].n_layers
        try:
            with np.load(path, allow_pickle=False) as npz:
                missing = [k for k in keys if k not in npz.files]
                if missing:
                    raise EmovecInputError(f"{path}: missing key(s) {missing}")
                corpora = tuple(str(x) for x in np.asarray(npz["corpora"]).reshape(-1).tolist())
                lbl = np.asarray(npz["layer_by_layer"], dtype=np.float64)
                pairs_arr = np.asarray(npz["pairs"])
                between = np.asarray(npz["between_corpora"], dtype=np.float64)
                n_emo = np.asarray(npz["n_emotions"])
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            raise EmovecInputError(f"{path}: not a readable .npz ({exc})") from None
        if lbl.shape != (len(corpora), n_layers, n_layers):
            raise EmovecInputError(
                f"{path}: key 'layer_by_layer' must have shape [k={len(corpora)}, {n_layers}, {n_layers}]; "
                f"got {lbl.shape}")
        if pairs_arr.size == 0:
            pairs_arr = pairs_arr.reshape(0, 2)
        if pairs_arr.ndim != 2 or pairs_arr.shape[1] != 2:
            raise EmovecInputError(f"{path}: key 'pairs' must have shape [m, 2]; got {pairs_arr.shape}")
        pairs = tuple((str(a), str(b)) for a, b in pairs_arr.tolist())
        if between.size == 0 and not pairs:
            between = between.reshape(0, n_layers)
        if between.shape != (len(pairs), n_layers):
            raise EmovecInputError(
                f"{path}: key 'between_corpora' must have shape [m={len(pairs)}, {n_layers}]; got {between.shape}")
        unknown = sorted({x for p in pairs for x in p} - set(corpora))
        if unknown:
            raise EmovecInputError(f"{path}: key 'pairs' names corpora {unknown} not in key 'corpora'")
        lacking = [c.corpus for c in cells if c.corpus not in corpora]
        if lacking:
            raise EmovecInputError(
                f"{path}: key 'corpora' lacks {lacking}, which model {model!r} has valence cells for; stale output?")
        if np.isinf(lbl).any() or np.isinf(between).any():
            raise EmovecInputError(f"{path}: infinite CKA values")
        if n_emo.size != 1 or not float(n_emo.reshape(-1)[0]).is_integer():
            raise EmovecInputError(f"{path}: key 'n_emotions' must be one integer; got {n_emo!r}")
        out[model] = CKAData(model=model, corpora=corpora, layer_by_layer=lbl, pairs=pairs,
                             between_corpora=between, n_emotions=int(n_emo.reshape(-1)[0]))
    return out
