"""LaTeX tables for the valence/arousal experiment (van der Ben et al. 2026 analogue).

Per (model x story corpus) cell the valence stage writes ``build/valence/<cell>/`` with
``layers.csv`` (PCA across emotions at every layer; PC1-valence and PC2-arousal Pearson r with
percentile-bootstrap CIs over emotions, permutation p, BH-FDR across layers, max-statistic p,
Spearman rho, lambda1/lambda2), ``summary.json`` (settings and the post-hoc peak per target),
``scores.npz`` (oriented PC scores per layer) and ``norms.csv`` (the rating of every emotion and
where it came from). The CKA stage writes ``build/cka/<model>.npz``.

This module reads and cross-checks those files (every reader raises ``EmovecInputError`` naming
the file and the column/key) and renders three tables:

* ``valence_arousal.tex``: one row per cell, the valence (PC1) and arousal (PC2) peak with
  r [CI], p_FDR, p_max and lambda1/lambda2;
* ``valence_by_corpus.tex``: the PC1-valence peak per model (rows) and corpus (column groups);
* ``norm_coverage.tex``: how many emotions got a norm from the requested source, from a
  fallback, or were excluded, and which.

Every statistic's unit of analysis (emotions), n, CI method and multiple-comparison correction
are stated in the caption; settings that differ between cells are listed per cell, never
collapsed into one value. Output is deterministic (fixed sort orders and float formats).
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from emovec.errors import EmovecInputError
from emovec.paper.tables import (
    read_json_object,
    _DASH,
    _SAFE_NAME,
    VARIANTS,
    _fmt_p,
    _is_missing,
    _require_int,
    _require_str,
    _row,
    _summary,
    _tabular,
    _wrap_table,
    fmt_num,
    read_checked_csv,
    latex_escape,
)

__all__ = [
    "LAYER_COLUMNS",
    "NORMS_COLUMNS",
    "NORM_STATUSES",
    "PEAK_KEYS",
    "SUMMARY_KEYS",
    "TARGETS",
    "VALENCE_CELL_KEYS",
    "VALENCE_TABLE_FILES",
    "CKAData",
    "ValenceCellData",
    "ValenceCellSpec",
    "ValenceSpec",
    "build_valence_tables",
    "load_cka",
    "load_valence_cells",
    "load_valence_spec",
    "norm_coverage_table",
    "valence_arousal_table",
    "valence_by_corpus_table",
    "valence_sort_key",
]

TARGETS: tuple[str, ...] = ("valence", "arousal")
VALENCE_CELL_KEYS: tuple[str, ...] = (
    "cell", "model", "corpus", "generator", "variant", "family", "n_layers", "norms", "emotion_set",
)
_TARGET_SUFFIXES: tuple[str, ...] = (
    "pc", "r", "r_ci_low", "r_ci_high", "p_perm", "p_fdr", "p_maxT", "rho", "rho_ci_low",
    "rho_ci_high", "rho_p_perm", "rho_p_fdr",
)
LAYER_COLUMNS: tuple[str, ...] = (
    "layer", "n_emotions", "lambda1", "lambda2", "lambda_ratio", "evr1", "evr2", "n_boot_valid",
    *(f"{t}_{s}" for t in TARGETS for s in _TARGET_SUFFIXES),
)
_LAYER_INT_COLUMNS: tuple[str, ...] = ("layer", "n_emotions", "n_boot_valid", *(f"{t}_pc" for t in TARGETS))
SUMMARY_KEYS: tuple[str, ...] = (
    "cell", "model", "corpus", "generator", "norms", "norms_fallback", "on_missing", "emotion_set",
    "n_emotions", "n_layers", "pooling", "mean_offset", "baseline", "weighting", "normalise",
    "n_stories", "n_neutral", "n_excluded_short", "removed_k", "n_boot", "n_perm", "seed",
    "ci_level", "orientation", "anchors", "peaks",
)
PEAK_KEYS: tuple[str, ...] = (
    "layer", "pc", "r", "r_ci_low", "r_ci_high", "p_perm", "p_fdr", "p_max", "rho", "lambda_ratio",
)
# summary peak key -> layers.csv column ("{t}" is the target).
_PEAK_COLUMNS: dict[str, str] = {
    "pc": "{t}_pc", "r": "{t}_r", "r_ci_low": "{t}_r_ci_low", "r_ci_high": "{t}_r_ci_high",
    "p_perm": "{t}_p_perm", "p_fdr": "{t}_p_fdr", "p_max": "{t}_p_maxT", "rho": "{t}_rho",
    "lambda_ratio": "lambda_ratio",
}
NORMS_COLUMNS: tuple[str, ...] = (
    "emotion", "valence", "arousal", "norm", "lemma", "valence_raw", "arousal_raw", "raw_scale",
    "status", "note",
)
NORM_STATUSES: tuple[str, ...] = ("found", "fallback", "excluded")
VALENCE_TABLE_FILES: tuple[str, ...] = ("valence_arousal.tex", "valence_by_corpus.tex", "norm_coverage.tex")

# The summary and layers.csv hold the same statistics (the CSV at ~6 significant digits); a
# larger disagreement means one of them is stale or was edited by hand.
_CONSISTENCY_TOL = 5e-4
_ESTIMATE_PREFIX = "estimate_from"
_MAX_PER_EMOTION_ROWS = 30  # per-emotion sub-table only up to this many emotions


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValenceCellSpec:
    """One (model, corpus) valence cell as listed under ``valence_cells`` in the paper config."""

    cell: str
    model: str
    corpus: str
    generator: str  # who wrote the corpus: a model name, "project", "upstream:<model>", ...
    variant: str  # base | instruct
    family: str
    n_layers: int
    norms: str
    emotion_set: str


@dataclass(frozen=True)
class ValenceSpec:
    """The valence part of the composed paper config."""

    digits: int
    cells: tuple[ValenceCellSpec, ...]


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
    """

    spec: ValenceCellSpec
    layers: pd.DataFrame
    summary: dict[str, Any]
    emotions: tuple[str, ...]
    scores: np.ndarray
    valence: np.ndarray
    arousal: np.ndarray
    norms: pd.DataFrame

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


def valence_sort_key(spec: ValenceCellSpec) -> tuple[str, int, str, str]:
    """Deterministic cell order: family, base before instruct, model, corpus."""
    return (spec.family, VARIANTS.index(spec.variant), spec.model, spec.corpus)


def _cell_spec(raw: Any, where: str) -> ValenceCellSpec:
    if not isinstance(raw, dict):
        raise EmovecInputError(f"{where} must be a mapping; got {type(raw).__name__}")
    missing = [k for k in VALENCE_CELL_KEYS if k not in raw]
    if missing:
        raise EmovecInputError(f"{where}: missing key(s) {missing}")
    values = {k: _require_str(raw[k], f"{where}.{k}") for k in VALENCE_CELL_KEYS if k != "n_layers"}
    for key in ("cell", "model"):  # used in file names (cell directories, cka/<model>.npz, figures)
        if not _SAFE_NAME.match(values[key]):
            raise EmovecInputError(
                f"{where}.{key}={values[key]!r} must match {_SAFE_NAME.pattern} (used in file names)")
    if values["variant"] not in VARIANTS:
        raise EmovecInputError(f"{where}.variant={values['variant']!r}; expected one of {list(VARIANTS)}")
    n_layers = _require_int(raw["n_layers"], f"{where}.n_layers", minimum=1)
    return ValenceCellSpec(n_layers=n_layers, **values)


def load_valence_spec(path: str | Path) -> ValenceSpec:
    """Read the ``digits`` and ``valence_cells`` keys of the composed paper config.

    ``valence_cells`` may be absent, null or empty: then ``cells`` is empty and no valence
    outputs are made. Other keys of the config are ignored here.

    Raises:
        EmovecInputError: missing file, bad YAML, missing/ill-typed key, a cell listed twice, two
            cells with the same (model, corpus), or one model listed with different n_layers,
            variant or family.
    """
    path = Path(path)
    if not path.is_file():
        raise EmovecInputError(f"paper config {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise EmovecInputError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise EmovecInputError(f"{path}: expected a mapping at the top level")
    if "digits" not in raw:
        raise EmovecInputError(f"{path}: missing key 'digits'")
    digits = _require_int(raw["digits"], f"{path}: digits", minimum=0)
    if digits > 10:
        raise EmovecInputError(f"{path}: digits={digits} is implausibly large (max 10)")
    entries = raw.get("valence_cells")
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise EmovecInputError(f"{path}: valence_cells must be a list; got {type(entries).__name__}")
    cells = tuple(_cell_spec(c, f"{path}: valence_cells[{i}]") for i, c in enumerate(entries))
    names: set[str] = set()
    pairs: dict[tuple[str, str], str] = {}
    per_model: dict[str, ValenceCellSpec] = {}
    for c in cells:
        if c.cell in names:
            raise EmovecInputError(f"{path}: valence cell {c.cell!r} is listed twice")
        names.add(c.cell)
        if (c.model, c.corpus) in pairs:
            raise EmovecInputError(
                f"{path}: valence cells {pairs[(c.model, c.corpus)]!r} and {c.cell!r} are both model "
                f"{c.model!r} on corpus {c.corpus!r}")
        pairs[(c.model, c.corpus)] = c.cell
        first = per_model.setdefault(c.model, c)
        for key in ("n_layers", "variant", "family"):
            if getattr(first, key) != getattr(c, key):
                raise EmovecInputError(
                    f"{path}: valence cells {first.cell!r} and {c.cell!r} give model {c.model!r} "
                    f"different {key} ({getattr(first, key)!r} vs {getattr(c, key)!r})")
    return ValenceSpec(digits=digits, cells=cells)


def _read_layers(path: Path, spec: ValenceCellSpec) -> pd.DataFrame:
    df = read_checked_csv(path, LAYER_COLUMNS, LAYER_COLUMNS, _LAYER_INT_COLUMNS,
                          nullable=set(LAYER_COLUMNS) - set(_LAYER_INT_COLUMNS))
    df = df.sort_values("layer", kind="stable").reset_index(drop=True)
    if df["layer"].tolist() != list(range(spec.n_layers)):
        raise EmovecInputError(
            f"{path}: column 'layer' holds {df['layer'].tolist()}; cell {spec.cell!r} has n_layers="
            f"{spec.n_layers} (expected one row per layer 0..{spec.n_layers - 1})")
    return df


def _read_summary(path: Path, spec: ValenceCellSpec) -> dict[str, Any]:
    raw = read_json_object(path, SUMMARY_KEYS)
    for key in ("cell", "model", "corpus", "generator", "norms", "emotion_set", "n_layers"):
        if raw[key] != getattr(spec, key):
            raise EmovecInputError(
                f"{path}: key {key!r} is {raw[key]!r} but the paper config says {getattr(spec, key)!r} "
                f"for cell {spec.cell!r}; stale output?")
    for key in ("n_emotions", "n_boot", "n_perm"):
        _require_int(raw[key], f"{path}: key {key!r}", minimum=1)
    for key in ("n_neutral", "n_excluded_short"):
        _require_int(raw[key], f"{path}: key {key!r}", minimum=0)
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
    peaks = raw["peaks"]
    if not isinstance(peaks, dict):
        raise EmovecInputError(f"{path}: key 'peaks' must be an object")
    for t in TARGETS:
        if t not in peaks or not isinstance(peaks[t], dict):
            raise EmovecInputError(f"{path}: missing key 'peaks.{t}'")
        miss = [k for k in PEAK_KEYS if k not in peaks[t]]
        if miss:
            raise EmovecInputError(f"{path}: missing key(s) {[f'peaks.{t}.{k}' for k in miss]}")
        layer = _require_int(peaks[t]["layer"], f"{path}: key 'peaks.{t}.layer'", minimum=0)
        if layer >= spec.n_layers:
            raise EmovecInputError(f"{path}: key 'peaks.{t}.layer'={layer} is out of range for "
                                   f"n_layers={spec.n_layers}")
    return raw


def _as_float(x: Any) -> float:
    if x is None:
        return math.nan
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _check_peaks(summary: dict[str, Any], layers: pd.DataFrame, summary_path: Path, layers_path: Path) -> None:
    if (layers["n_emotions"] != summary["n_emotions"]).any():
        raise EmovecInputError(
            f"{layers_path}: column 'n_emotions' disagrees with n_emotions={summary['n_emotions']} in "
            f"{summary_path}; stale output?")
    for t in TARGETS:
        peak = summary["peaks"][t]
        row = layers.iloc[int(peak["layer"])]
        for key, template in _PEAK_COLUMNS.items():
            col = template.format(t=t)
            a, b = _as_float(peak[key]), float(row[col])
            same = (math.isnan(a) and math.isnan(b)) or (a == b) or abs(a - b) <= _CONSISTENCY_TOL
            if not same:
                raise EmovecInputError(
                    f"{summary_path}: key 'peaks.{t}.{key}'={peak[key]!r} disagrees with column {col!r}="
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
        df[col] = [("" if _is_missing(v) else str(v)) for v in df[col]]
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
        _check_peaks(summary, layers, summary_path, layers_path)
        emotions, scores, valence, arousal = _read_scores(scores_path, c, int(summary["n_emotions"]))
        norms = _read_norms(norms_path)
        _check_ratings(c.cell, emotions, valence, arousal, norms, scores_path, norms_path)
        out[c.cell] = ValenceCellData(spec=c, layers=layers, summary=summary, emotions=emotions, scores=scores,
                                      valence=valence, arousal=arousal, norms=norms)
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


# --------------------------------------------------------------------------------------------
# Formatting helpers
# --------------------------------------------------------------------------------------------


def _ordered(cells: Mapping[str, ValenceCellData]) -> list[ValenceCellData]:
    return sorted(cells.values(), key=lambda d: valence_sort_key(d.spec))


def _label(d: ValenceCellData) -> str:
    return f"{latex_escape(d.spec.model)}/{latex_escape(d.spec.corpus)}"


def _setting(value: Any) -> str:
    """A summary setting as LaTeX text; lists joined, booleans yes/no, None = none."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_setting(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{latex_escape(k)}: {_setting(v)}" for k, v in sorted(value.items()))
    return latex_escape(str(value))


def _per_cell(cells: Sequence[ValenceCellData], fn: Callable[[ValenceCellData], str]) -> str:
    """One value when all cells agree, else every value with the cells it belongs to."""
    return _summary([(_label(d), fn(d)) for d in cells])


def _pct(level: float) -> str:
    pct = 100.0 * level if level <= 1 else float(level)
    return f"{pct:g}\\%"


def _fmt_ratio(x: Any, digits: int) -> str:
    v = _as_float(x)
    if math.isinf(v):
        return "$\\infty$"
    return fmt_num(v, digits)


def _fmt_p_any(x: Any, digits: int) -> str:
    v = _as_float(x)
    return _DASH if math.isnan(v) else _fmt_p(v, digits)


def _r_ci(peak: Mapping[str, Any], digits: int) -> str:
    r, lo, hi = (_as_float(peak[k]) for k in ("r", "r_ci_low", "r_ci_high"))
    return f"{fmt_num(r, digits)} [{fmt_num(lo, digits)}, {fmt_num(hi, digits)}]"


def _stories(d: ValenceCellData) -> str:
    counts = list(d.summary["n_stories"].values())
    return (f"{min(counts)}--{max(counts)} per emotion ({sum(counts)} in all), {d.summary['n_neutral']} neutral, "
            f"{d.summary['n_excluded_short']} excluded as too short")


def _methods_caption(cells: Sequence[ValenceCellData]) -> str:
    """The shared sentences: unit of analysis, n, CI, tests, corrections, settings."""
    n = _per_cell(cells, lambda d: str(d.n_emotions))
    n_boot = _per_cell(cells, lambda d: str(d.summary["n_boot"]))
    level = _per_cell(cells, lambda d: _pct(float(d.summary["ci_level"])))
    n_perm = _per_cell(cells, lambda d: str(d.summary["n_perm"]))
    layers = _per_cell(cells, lambda d: str(d.spec.n_layers))
    seed = _per_cell(cells, lambda d: _setting(d.summary["seed"]))
    return (
        f"Unit of analysis: emotions; $n$ = {n} emotions per cell (one contrast vector and one rating per "
        f"emotion). CI: {level} percentile bootstrap over emotions (emotions resampled with replacement, "
        f"the PCA refitted and re-oriented on every resample; {n_boot} resamples, seed {seed}). "
        f"$p$: two-sided permutation test, ratings permuted across emotions ({n_perm} permutations). "
        "$p_{\\mathrm{FDR}}$: Benjamini--Hochberg adjusted across the $L$ layers of the cell "
        f"($L$ = {layers}). The peak layer is selected post hoc from all $L$ layers, so its "
        "$p_{\\max}$ is a max-statistic permutation $p$: the share of permutations whose maximum $|r|$ "
        "over all $L$ layers reaches the observed peak $|r|$ (family-wise over layers). "
        "$\\lambda_1/\\lambda_2$: ratio of the first two PCA eigenvalues across emotions at the peak layer; "
        "near 1, PC1 and PC2 are not identified (any rotation within their plane fits as well) and a "
        "PC1 or PC2 correlation must not be read on its own."
    )


def _settings_caption(cells: Sequence[ValenceCellData]) -> str:
    s = lambda key: _per_cell(cells, lambda d: _setting(d.summary[key]))  # noqa: E731
    anchors = _per_cell(cells, lambda d: " / ".join(latex_escape(a) for a in d.summary["anchors"]))
    norms = _per_cell(cells, lambda d: (f"{_setting(d.summary['norms'])} (fallback "
                                        f"{_setting(d.summary['norms_fallback'])}, missing emotions: "
                                        f"{_setting(d.summary['on_missing'])})"))
    text = (
        f" PC signs: orientation rule {s('orientation')}, anchor emotions {anchors}. "
        f"Ratings: {norms}, rescaled to $[-1, 1]$; emotion set {s('emotion_set')}. "
        f"Vectors: pooling {s('pooling')}; mean offset {s('mean_offset')}; baseline {s('baseline')}; "
        f"weighting {s('weighting')}; normalised {s('normalise')}. Stories: "
        f"{_per_cell(cells, _stories)}."
    )
    removed = [d for d in cells if d.summary["removed_k"] is not None]
    if removed:
        text += (" Neutral principal components removed at the valence peak layer: "
                 + "; ".join(f"{_label(d)} {_setting(d.summary['removed_k'][int(d.peak('valence')['layer'])])}"
                             for d in removed) + ".")
    short = []
    for d in cells:
        for t in TARGETS:
            layer = int(d.peak(t)["layer"])
            valid = int(d.layers["n_boot_valid"].iloc[layer])
            if valid < int(d.summary["n_boot"]):
                short.append(f"{_label(d)} {t} {valid}")
    if short:
        text += (" Valid bootstrap resamples at the peak (fewer than requested; degenerate resamples "
                 "dropped): " + "; ".join(short) + ".")
    return text


def _corpus_label(d: ValenceCellData) -> str:
    return f"{latex_escape(d.spec.corpus)} ({latex_escape(d.spec.generator)})"


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def valence_arousal_table(spec: ValenceSpec, cells: Mapping[str, ValenceCellData]) -> str:
    """One row per (model, corpus): valence (PC1) and arousal (PC2) peaks side by side.

    Per target: peak layer l/L, Pearson r [CI], p_FDR at the peak, max-statistic p_max and
    lambda1/lambda2 at the peak. A peak whose correlated PC is not the default (PC1 for valence,
    PC2 for arousal) says so in its layer column.
    """
    d = spec.digits
    ordered = _ordered(cells)
    default_pc = {"valence": 1, "arousal": 2}
    body = []
    for cd in ordered:
        row = [latex_escape(cd.spec.model), _corpus_label(cd), str(cd.n_emotions)]
        for t in TARGETS:
            pk = cd.peak(t)
            layer = f"{int(pk['layer'])}/{cd.spec.n_layers}"
            if int(pk["pc"]) != default_pc[t]:
                layer += f" (PC{int(pk['pc'])})"
            row += [layer, _r_ci(pk, d), _fmt_p_any(pk["p_fdr"], d), _fmt_p_any(pk["p_max"], d),
                    _fmt_ratio(pk["lambda_ratio"], d)]
        body.append(_row(row))
    stat_heads = ["Layer", "$r$ [CI]", "$p_{\\mathrm{FDR}}$", "$p_{\\max}$", "$\\lambda_1/\\lambda_2$"]
    header = [
        _row(["", "", "", "\\multicolumn{5}{c}{Valence (PC1)}", "\\multicolumn{5}{c}{Arousal (PC2)}"]),
        "\\cmidrule(lr){4-8}\\cmidrule(lr){9-13}",
        _row(["Model", "Corpus (generator)", "$n$", *stat_heads, *stat_heads]),
    ]
    caption = (
        "Valence and arousal in the principal components of emotion vectors, per model and story corpus "
        "(analogue of van der Ben et al.\\ 2026). Valence: Pearson $r$ between the PC1 scores of the emotions "
        "and their valence ratings; arousal: $r$ between PC2 scores and arousal ratings, each at its peak "
        "layer. Layer: 0-based block $l$ / number of blocks $L$. "
        + _methods_caption(ordered) + _settings_caption(ordered)
        + " Spearman $\\rho$ with its CI and $p$ is in each cell's layers.csv. "
        f"{_DASH}: value not defined."
    )
    tab = _tabular("llr" + "crrrr" * 2, header, body)
    return _wrap_table(caption, "tab:valence-arousal", [(tab, 13)])


def valence_by_corpus_table(spec: ValenceSpec, cells: Mapping[str, ValenceCellData]) -> str:
    """PC1-valence peak per model (rows) and corpus (column groups); ``---`` where not run.

    Per corpus: r [CI], peak layer l/L, p_max and lambda1/lambda2 at the peak.
    """
    d = spec.digits
    ordered = _ordered(cells)
    corpora: dict[str, ValenceCellData] = {}
    for cd in sorted(ordered, key=lambda c: c.spec.corpus):
        corpora.setdefault(cd.spec.corpus, cd)
    generators: dict[str, list[str]] = {}
    for cd in ordered:
        generators.setdefault(cd.spec.corpus, [])
        if cd.spec.generator not in generators[cd.spec.corpus]:
            generators[cd.spec.corpus].append(cd.spec.generator)
    models: dict[str, dict[str, ValenceCellData]] = {}
    for cd in ordered:
        models.setdefault(cd.spec.model, {})[cd.spec.corpus] = cd
    per = 4
    body = []
    for model, by_corpus in models.items():
        first = next(iter(by_corpus.values())).spec
        row = [latex_escape(model), first.variant]
        for corpus in corpora:
            cd = by_corpus.get(corpus)
            if cd is None:
                row += [_DASH] * per
                continue
            pk = cd.peak("valence")
            layer = f"{int(pk['layer'])}/{cd.spec.n_layers}"
            if int(pk["pc"]) != 1:
                layer += f" (PC{int(pk['pc'])})"
            row += [_r_ci(pk, d), layer, _fmt_p_any(pk["p_max"], d), _fmt_ratio(pk["lambda_ratio"], d)]
        body.append(_row(row))
    heads, rules = [], []
    for j, corpus in enumerate(corpora):
        gen = ", ".join(latex_escape(g) for g in generators[corpus])
        heads.append(f"\\multicolumn{{{per}}}{{c}}{{{latex_escape(corpus)} ({gen})}}")
        start = 3 + per * j
        rules.append(f"\\cmidrule(lr){{{start}-{start + per - 1}}}")
    header = [
        _row(["", "", *heads]),
        "".join(rules),
        _row(["Model", "Variant"] + ["$r$ [CI]", "Layer", "$p_{\\max}$", "$\\lambda_1/\\lambda_2$"] * len(corpora)),
    ]
    caption = (
        "PC1--valence by story corpus: Pearson $r$ between the emotions' PC1 scores and their valence "
        "ratings at the peak layer, per model (rows) and corpus (column groups; who wrote the corpus in "
        "parentheses). Layer: 0-based block $l$ / $L$ blocks. "
        + _methods_caption(ordered) + _settings_caption(ordered)
        + f" {_DASH}: model not run on this corpus. Full per-cell statistics, with arousal and "
        "$p_{\\mathrm{FDR}}$, are in Table~\\ref{tab:valence-arousal}."
    )
    n_cols = 2 + per * len(corpora)
    tab = _tabular("ll" + "crrr" * len(corpora), header, body)
    return _wrap_table(caption, "tab:valence-by-corpus", [(tab, n_cols)])


def _norms_signature(df: pd.DataFrame) -> tuple:
    cols = ["emotion", "valence", "arousal", "norm", "status", "note"]
    return tuple(tuple(("nan" if _is_missing(v) else v) for v in row)
                 for row in df[cols].itertuples(index=False, name=None))


def _estimated(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["note"].str.startswith(_ESTIMATE_PREFIX)]


def norm_coverage_table(spec: ValenceSpec, cells: Mapping[str, ValenceCellData]) -> str:
    """Norm coverage per distinct (norms, emotion set): found / fallback / excluded counts and names.

    Cells sharing norms and emotion set but holding different ``norms.csv`` contents (e.g.
    another fallback) get separate rows, each naming its cells. With at most 30 emotions a
    per-emotion sub-table (emotion, valence, arousal, norm, status) follows each row's group.
    """
    d = spec.digits
    ordered = _ordered(cells)
    groups: dict[tuple[str, str, tuple], list[ValenceCellData]] = {}
    for cd in sorted(ordered, key=lambda c: (c.spec.norms, c.spec.emotion_set)):
        key = (cd.spec.norms, cd.spec.emotion_set, _norms_signature(cd.norms))
        groups.setdefault(key, []).append(cd)
    body, used_by = [], []
    tabulars: list[tuple[str, int]] = []
    sub_tables: list[tuple[str, int]] = []
    for g, ((norms, emotion_set, _), members) in enumerate(groups.items(), start=1):
        df = members[0].norms
        counts = {s: int((df["status"] == s).sum()) for s in NORM_STATUSES}
        fallback = df[df["status"] == "fallback"]
        excluded = df[df["status"] == "excluded"]
        est = _estimated(df)
        details = []
        if len(fallback):
            pairs = zip(fallback["emotion"], fallback["norm"], strict=True)
            details.append("fallback: " + ", ".join(f"{latex_escape(e)} ({latex_escape(n) or _DASH})" for e, n in pairs))
        if len(excluded):
            details.append("excluded: " + ", ".join(latex_escape(e) for e in excluded["emotion"]))
        if len(est):
            details.append("estimated: " + ", ".join(
                f"{latex_escape(e)} ({latex_escape(n)})" for e, n in zip(est["emotion"], est["note"], strict=True)))
        body.append(_row([str(g), latex_escape(norms), latex_escape(emotion_set), str(len(df)),
                          str(counts["found"]), str(counts["fallback"]), str(counts["excluded"]),
                          "; ".join(details) or _DASH]))
        used_by.append(f"({g}) " + ", ".join(_label(m) for m in members))
        if len(df) <= _MAX_PER_EMOTION_ROWS:
            est_set = set(est["emotion"])
            rows = []
            for r in df.sort_values("emotion", kind="stable").itertuples(index=False):
                mark = "$^{\\dagger}$" if r.emotion in est_set else ""
                rows.append(_row([latex_escape(r.emotion) + mark, fmt_num(r.valence, d), fmt_num(r.arousal, d),
                                  latex_escape(r.norm) or _DASH, r.status]))
            head = [_row([f"\\multicolumn{{5}}{{l}}{{({g}) {latex_escape(norms)}, {latex_escape(emotion_set)}}}"]),
                    _row(["Emotion", "Valence", "Arousal", "Norm", "Status"])]
            sub_tables.append((_tabular("lrrll", head, rows), 5))
    header = [_row(["", "Norms", "Emotion set", "$n$", "Found", "Fallback", "Excluded",
                    "Fallback (source) / excluded / estimated emotions"])]
    tabulars.append((_tabular("rllrrrrp{0.38\\linewidth}", header, body), 8))
    tabulars += sub_tables
    fallback_rule = _per_cell(ordered, lambda cd: (f"fallback {_setting(cd.summary['norms_fallback'])}, "
                                                   f"missing emotions {_setting(cd.summary['on_missing'])}"))
    caption = (
        "Coverage of the valence/arousal norms: for each norm source and emotion set, how many emotions "
        "got their rating from the requested norms (found), from a fallback source (fallback) or had no "
        "rating and were left out of the analysis (excluded); unit: emotions, $n$ = emotions in the set. "
        f"Policy: {fallback_rule}. Estimated: ratings the source marks as estimated rather than rated "
        "(note starting with ``estimate\\_from'')"
        + (", marked $^{\\dagger}$ in the per-emotion lists" if sub_tables else "") + ". "
        f"Cells using each row: {'; '.join(used_by)}. "
        + (f"Per-emotion lists (up to {_MAX_PER_EMOTION_ROWS} emotions): valence and arousal rescaled to "
           "$[-1, 1]$. " if sub_tables else "")
        + "The per-emotion norms.csv of each cell, with raw ratings, scales, lemmas and notes, is the full record."
    )
    return _wrap_table(caption, "tab:valence-norm-coverage", tabulars)


_BUILDERS: dict[str, Callable[[ValenceSpec, Mapping[str, ValenceCellData]], str]] = {
    "valence_arousal.tex": valence_arousal_table,
    "valence_by_corpus.tex": valence_by_corpus_table,
    "norm_coverage.tex": norm_coverage_table,
}


def build_valence_tables(spec: ValenceSpec, cells: Mapping[str, ValenceCellData]) -> dict[str, str]:
    """Render every valence table: {file name: LaTeX text} in ``VALENCE_TABLE_FILES`` order; {} without cells."""
    if not spec.cells or not cells:
        return {}
    return {name: _BUILDERS[name](spec, cells) for name in VALENCE_TABLE_FILES}
