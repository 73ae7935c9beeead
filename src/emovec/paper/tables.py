"""LaTeX tables for the separation experiment (Jeong 2026, Tables 2-3 analogues).

Every number printed comes from a tracked pipeline output (``build/separation/<cell>.csv``,
``build/vectors/<cell>.npz``) and the composed paper config; nothing is typed by hand. Each
separation number is printed beside what it has to be read against (METHODS trap 1): the
analytic floor -1/(N-1), the shuffled-label null and the anisotropy baseline.

This module also holds the input model shared with ``emovec.paper.figures``: the paper config
(``PaperSpec``/``CellSpec``), the per-cell data (``CellData``) and their validating readers. All
readers raise ``EmovecInputError`` naming the file (and column/key) so a stage can stop before
writing anything.

Tables are plain strings built deterministically (no timestamps, fixed sort orders, fixed float
formats), so identical inputs give byte-identical ``.tex`` files. They need ``booktabs`` (and
``graphicx`` for the wide ones, which are wrapped in ``\\resizebox``).
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from emovec.emotions import OPPOSITE_PAIRS
from emovec.errors import EmovecInputError
from emovec.geometry.separation import best_layer, mean_pairwise_cosine

__all__ = [
    "CELL_KEYS",
    "METHODS",
    "PAIR_COLUMNS",
    "REQUIRED_COLUMNS",
    "TABLE_FILES",
    "VARIANTS",
    "CellData",
    "CellSpec",
    "PaperSpec",
    "anisotropy_table",
    "build_tables",
    "fmt_num",
    "fmt_signed",
    "latex_escape",
    "layer_sweep_table",
    "load_cells",
    "load_paper_spec",
    "read_separation_csv",
    "read_vectors_npz",
    "rlhf_pairs",
    "rlhf_separation_table",
    "separation_by_model_table",
    "sort_key",
]

METHODS: tuple[str, ...] = ("generation", "comprehension")
VARIANTS: tuple[str, ...] = ("base", "instruct")
PAIR_COLUMNS: tuple[str, ...] = tuple(f"cos_{a}-{b}" for a, b in OPPOSITE_PAIRS)
CELL_KEYS: tuple[str, ...] = (
    "cell", "model", "corpus", "method", "variant", "family", "partner", "n_layers", "layer",
    "pooling", "baseline", "normalised",
)
_NUMERIC_COLUMNS: tuple[str, ...] = (
    "layer", "mean_cosine", "floor", "null_mean", "null_lo", "null_hi", "p_null", "anisotropy",
    "gap_to_anisotropy", *PAIR_COLUMNS, "n_emotions", "n_permutations", "removed_k",
    "n_stimuli", "min_n_per_emotion",
)
REQUIRED_COLUMNS: tuple[str, ...] = (*_NUMERIC_COLUMNS, "baseline", "normalised")
# Columns that may legitimately be empty: anisotropy needs neutral sentences, removed_k only
# exists for the neutral-PCA baseline.
_NULLABLE_COLUMNS = frozenset({"anisotropy", "gap_to_anisotropy", "removed_k"})
_INT_COLUMNS = ("layer", "n_emotions", "n_permutations", "n_stimuli", "min_n_per_emotion")

TABLE_FILES: tuple[str, ...] = (
    "separation_by_model.tex", "layer_sweep.tex", "anisotropy.tex", "rlhf_separation.tex",
)

# Cell names become file names (heatmaps); keep them to characters safe on every filesystem.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9._+-]+$")
# The separation CSV stores the same vectors' mean cosine at ~6 significant digits; a larger
# disagreement with the .npz means one of the two files is stale.
_CONSISTENCY_TOL = 5e-4
_DASH = "---"  # LaTeX em dash: a cell that was not run / a value that does not exist
_WIDE_COLUMNS = 8  # tables with more columns than this are scaled to \linewidth


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellSpec:
    """One (model, corpus) cell as listed in the composed paper config."""

    cell: str
    model: str
    corpus: str
    method: str  # generation | comprehension
    variant: str  # base | instruct
    family: str
    partner: str | None
    n_layers: int
    layer: int  # the reported layer: 0-based transformer block index
    pooling: str
    baseline: str
    normalised: bool


@dataclass(frozen=True)
class PaperSpec:
    """The composed paper config: float digits, experiment name and the cells to report."""

    digits: int
    experiment: str
    cells: tuple[CellSpec, ...]


@dataclass(frozen=True, eq=False)
class CellData:
    """Everything the tables and figures need about one cell, already validated.

    Attributes:
        spec: the cell's config entry.
        separation: the separation CSV, one row per layer, sorted by layer (0..n_layers-1).
        emotions: emotion names in vector order.
        layer_vectors: float64 [n_emotions, d_model], the emotion vectors at ``spec.layer``.
    """

    spec: CellSpec
    separation: pd.DataFrame
    emotions: tuple[str, ...]
    layer_vectors: np.ndarray

    @property
    def reported(self) -> pd.Series:
        """The separation row of the reported layer."""
        return self.separation.iloc[self.spec.layer]


def _require_int(value: Any, where: str, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EmovecInputError(f"{where} must be an integer; got {value!r}")
    if minimum is not None and value < minimum:
        raise EmovecInputError(f"{where} must be >= {minimum}; got {value}")
    return value


def _require_str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise EmovecInputError(f"{where} must be a non-empty string; got {value!r}")
    return value


def _cell_spec(raw: Any, where: str) -> CellSpec:
    if not isinstance(raw, dict):
        raise EmovecInputError(f"{where} must be a mapping; got {type(raw).__name__}")
    missing = [k for k in CELL_KEYS if k not in raw]
    if missing:
        raise EmovecInputError(f"{where}: missing key(s) {missing}")
    cell = _require_str(raw["cell"], f"{where}.cell")
    if not _SAFE_NAME.match(cell):
        raise EmovecInputError(f"{where}.cell={cell!r} must match {_SAFE_NAME.pattern} (used in file names)")
    method = _require_str(raw["method"], f"{where}.method")
    if method not in METHODS:
        raise EmovecInputError(f"{where}.method={method!r}; expected one of {list(METHODS)}")
    variant = _require_str(raw["variant"], f"{where}.variant")
    if variant not in VARIANTS:
        raise EmovecInputError(f"{where}.variant={variant!r}; expected one of {list(VARIANTS)}")
    partner = raw["partner"]
    if partner is not None:
        partner = _require_str(partner, f"{where}.partner")
    n_layers = _require_int(raw["n_layers"], f"{where}.n_layers", minimum=1)
    layer = _require_int(raw["layer"], f"{where}.layer", minimum=0)
    if layer >= n_layers:
        raise EmovecInputError(f"{where}.layer={layer} is out of range for n_layers={n_layers}")
    if not isinstance(raw["normalised"], bool):
        raise EmovecInputError(f"{where}.normalised must be true/false; got {raw['normalised']!r}")
    return CellSpec(
        cell=cell, model=_require_str(raw["model"], f"{where}.model"),
        corpus=_require_str(raw["corpus"], f"{where}.corpus"), method=method, variant=variant,
        family=_require_str(raw["family"], f"{where}.family"), partner=partner,
        n_layers=n_layers, layer=layer, pooling=_require_str(raw["pooling"], f"{where}.pooling"),
        baseline=_require_str(raw["baseline"], f"{where}.baseline"), normalised=raw["normalised"],
    )


def load_paper_spec(path: str | Path) -> PaperSpec:
    """Read and validate the composed paper config (``build/config/paper.yaml``).

    Raises:
        EmovecInputError: missing file, bad YAML, missing/ill-typed key, duplicate cell, or two
            cells with the same (model, method) (the per-model tables would be ambiguous).
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
    for key in ("digits", "experiment", "cells"):
        if key not in raw:
            raise EmovecInputError(f"{path}: missing key {key!r}")
    digits = _require_int(raw["digits"], f"{path}: digits", minimum=0)
    if digits > 10:
        raise EmovecInputError(f"{path}: digits={digits} is implausibly large (max 10)")
    experiment = _require_str(raw["experiment"], f"{path}: experiment")
    if not isinstance(raw["cells"], list) or not raw["cells"]:
        raise EmovecInputError(f"{path}: cells must be a non-empty list")
    cells = tuple(_cell_spec(c, f"{path}: cells[{i}]") for i, c in enumerate(raw["cells"]))
    seen: dict[str, int] = {}
    by_model_method: dict[tuple[str, str], str] = {}
    for c in cells:
        if c.cell in seen:
            raise EmovecInputError(f"{path}: cell {c.cell!r} is listed twice")
        seen[c.cell] = 1
        key = (c.model, c.method)
        if key in by_model_method:
            raise EmovecInputError(
                f"{path}: cells {by_model_method[key]!r} and {c.cell!r} are both "
                f"{c.method} cells of model {c.model!r}; the per-model tables need one per method")
        by_model_method[key] = c.cell
    return PaperSpec(digits=digits, experiment=experiment, cells=cells)


def _parse_bool(value: Any, where: str) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    text = str(value).strip().lower()
    if text in {"true", "1"}:
        return True
    if text in {"false", "0"}:
        return False
    raise EmovecInputError(f"{where}: expected true/false; got {value!r}")


def read_checked_csv(path: Path, required: Sequence[str], numeric: Sequence[str], integer: Sequence[str],
                     nullable: frozenset[str] | set[str] = frozenset()) -> pd.DataFrame:
    """Read a pipeline CSV: every ``required`` column present, ``numeric`` columns parsed as float
    (empty only if ``nullable``), ``integer`` columns whole numbers (as int). Errors name the file,
    column and row."""
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise EmovecInputError(f"{path}: not a readable CSV ({exc})") from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise EmovecInputError(f"{path}: missing column(s) {missing}")
    if df.empty:
        raise EmovecInputError(f"{path}: no rows")
    for col in numeric:
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() & df[col].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise EmovecInputError(f"{path}: column {col!r} row {row}: {df[col].iloc[row]!r} is not a number")
        if col not in nullable and values.isna().any():
            raise EmovecInputError(f"{path}: column {col!r} has empty values")
        df[col] = values.astype(float)
    for col in integer:
        v = df[col].to_numpy()
        if not np.isfinite(v).all() or not np.all(v == np.round(v)):
            raise EmovecInputError(f"{path}: column {col!r} must hold integers")
        df[col] = df[col].astype(int)
    return df


def read_json_object(path: Path, required: Sequence[str]) -> dict[str, Any]:
    """Read a pipeline JSON summary: a top-level object holding every ``required`` key."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EmovecInputError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise EmovecInputError(f"{path}: expected a JSON object at the top level")
    missing = [k for k in required if k not in raw]
    if missing:
        raise EmovecInputError(f"{path}: missing key(s) {missing}")
    return raw


def require_text_columns(df: pd.DataFrame, path: Path, columns: Sequence[str], unique: str | None = None) -> None:
    """Text columns must have no empty cell (converted to str in place); ``unique`` names a key
    column whose values must not repeat. Errors name the file, column and row."""
    for col in columns:
        empty = df[col].isna().to_numpy()
        if empty.any():
            raise EmovecInputError(f"{path}: column {col!r} row {int(np.flatnonzero(empty)[0])} is empty")
        df[col] = df[col].astype(str)
    if unique is not None and df[unique].duplicated().any():
        row = int(np.flatnonzero(df[unique].duplicated().to_numpy())[0])
        raise EmovecInputError(f"{path}: column {unique!r} row {row}: {df[unique].iloc[row]!r} appears twice")


def read_separation_csv(path: str | Path, spec: CellSpec) -> pd.DataFrame:
    """Read one cell's separation CSV and check it against the cell's config entry.

    Returns:
        The frame sorted by layer with a fresh 0..n_layers-1 index; numeric columns as float
        (integer columns as int), ``normalised`` as bool.

    Raises:
        EmovecInputError: missing/unreadable file, missing column (named), non-numeric value,
            layers other than 0..n_layers-1, a non-finite mean cosine, or a baseline /
            normalisation that disagrees with the config (stale outputs).
    """
    path = Path(path)
    if not path.is_file():
        raise EmovecInputError(f"separation file {path} for cell {spec.cell!r} does not exist")
    df = read_checked_csv(path, REQUIRED_COLUMNS, _NUMERIC_COLUMNS, _INT_COLUMNS, _NULLABLE_COLUMNS)
    df = df.sort_values("layer", kind="stable").reset_index(drop=True)
    if df["layer"].tolist() != list(range(spec.n_layers)):
        raise EmovecInputError(
            f"{path}: layers {df['layer'].tolist()} do not match n_layers={spec.n_layers} of cell "
            f"{spec.cell!r} (expected one row per layer 0..{spec.n_layers - 1})")
    if not np.isfinite(df["mean_cosine"].to_numpy()).all():
        raise EmovecInputError(f"{path}: column 'mean_cosine' has non-finite values")
    df["normalised"] = [_parse_bool(v, f"{path}: column 'normalised'") for v in df["normalised"]]
    df["baseline"] = df["baseline"].astype(str)
    rep = df.iloc[spec.layer]
    if rep["baseline"] != spec.baseline or bool(rep["normalised"]) != spec.normalised:
        raise EmovecInputError(
            f"{path}: baseline={rep['baseline']!r}, normalised={bool(rep['normalised'])} disagree with "
            f"the paper config (baseline={spec.baseline!r}, normalised={spec.normalised}); stale output?")
    if int(rep["n_emotions"]) < 2:
        raise EmovecInputError(f"{path}: n_emotions={int(rep['n_emotions'])}; need >= 2")
    return df


def read_vectors_npz(path: str | Path, spec: CellSpec) -> tuple[tuple[str, ...], np.ndarray]:
    """Read one cell's emotion vectors; return (emotions, vectors at the reported layer [n, d]).

    Raises:
        EmovecInputError: missing/unreadable file, missing key, wrong shape, non-finite or
            zero vectors at the reported layer.
    """
    path = Path(path)
    if not path.is_file():
        raise EmovecInputError(f"vectors file {path} for cell {spec.cell!r} does not exist")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in ("vectors", "emotions") if k not in npz.files]
            if missing:
                raise EmovecInputError(f"{path}: missing key(s) {missing}")
            vectors = np.asarray(npz["vectors"])
            emotions = tuple(str(e) for e in np.asarray(npz["emotions"]).tolist())
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise EmovecInputError(f"{path}: not a readable .npz ({exc})") from None
    if vectors.ndim != 3 or vectors.shape[0] != len(emotions) or vectors.shape[1] != spec.n_layers:
        raise EmovecInputError(
            f"{path}: vectors must have shape [n_emotions={len(emotions)}, n_layers={spec.n_layers}, "
            f"d_model]; got {vectors.shape}")
    layer_vectors = vectors[:, spec.layer, :].astype(np.float64)
    if not np.isfinite(layer_vectors).all():
        raise EmovecInputError(f"{path}: non-finite vectors at layer {spec.layer}")
    zero = np.flatnonzero(np.linalg.norm(layer_vectors, axis=1) == 0)
    if zero.size:
        raise EmovecInputError(f"{path}: zero vector for {emotions[zero[0]]!r} at layer {spec.layer}")
    return emotions, layer_vectors


def load_cells(spec: PaperSpec, separation_dir: str | Path, vectors_dir: str | Path) -> dict[str, CellData]:
    """Read and cross-check every listed cell's CSV and NPZ; nothing is written.

    Missing files are reported all at once (every missing path named). Each cell's vectors
    must agree with its CSV: same n_emotions and, at the reported layer, the same mean cosine.

    Returns:
        {cell name: CellData} in config order.
    """
    separation_dir, vectors_dir = Path(separation_dir), Path(vectors_dir)
    paths = {c.cell: (separation_dir / f"{c.cell}.csv", vectors_dir / f"{c.cell}.npz") for c in spec.cells}
    absent = [str(p) for pair in paths.values() for p in pair if not p.is_file()]
    if absent:
        raise EmovecInputError(f"missing input file(s) for listed cells: {', '.join(absent)}")
    out: dict[str, CellData] = {}
    for c in spec.cells:
        csv_path, npz_path = paths[c.cell]
        df = read_separation_csv(csv_path, c)
        emotions, layer_vectors = read_vectors_npz(npz_path, c)
        n_csv = int(df.iloc[c.layer]["n_emotions"])
        if n_csv != len(emotions):
            raise EmovecInputError(
                f"{npz_path}: {len(emotions)} emotions but {csv_path} says n_emotions={n_csv}; stale output?")
        observed = float(mean_pairwise_cosine(layer_vectors[:, None, :])[0])
        recorded = float(df.iloc[c.layer]["mean_cosine"])
        if abs(observed - recorded) > _CONSISTENCY_TOL:
            raise EmovecInputError(
                f"{npz_path}: mean pairwise cosine at layer {c.layer} is {observed:.6f} but {csv_path} "
                f"records {recorded:.6f}; one of them is stale")
        out[c.cell] = CellData(spec=c, separation=df, emotions=emotions, layer_vectors=layer_vectors)
    return out


# --------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX special characters (``\\ & % $ # _ { } ~ ^``) in text mode."""
    return "".join(_LATEX_SPECIALS.get(ch, ch) for ch in str(text))


def _is_missing(x: Any) -> bool:
    return x is None or (isinstance(x, (float, np.floating)) and math.isnan(x))


def fmt_num(x: Any, digits: int) -> str:
    """Fixed-point with ``digits`` decimals; NaN/None -> ``---``; ``-0.000`` -> ``0.000``."""
    if _is_missing(x):
        return _DASH
    s = f"{float(x):.{digits}f}"
    return s[1:] if s.startswith("-") and float(s) == 0 else s


def fmt_signed(x: Any, digits: int) -> str:
    """Like ``fmt_num`` with an explicit sign (differences), zero unsigned."""
    if _is_missing(x):
        return _DASH
    s = f"{float(x):+.{digits}f}"
    return s[1:] if float(s) == 0 else s


def _fmt_p(p: float, digits: int) -> str:
    """p with ``digits`` decimals; below the resolution shown as ``$<$0.001`` (never ``0.000``)."""
    resolution = 10.0 ** (-digits)
    if p < resolution:
        return f"$<${resolution:.{digits}f}"
    return fmt_num(p, digits)


def sort_key(spec: CellSpec) -> tuple[str, int, str, int]:
    """Deterministic cell order: family, base before instruct, model, generation first."""
    return (spec.family, VARIANTS.index(spec.variant), spec.model, METHODS.index(spec.method))


def _summary(items: Sequence[tuple[str, str]]) -> str:
    """``v`` if every labelled item shares value v, else ``v1 (a, b); v2 (c)`` in item order."""
    groups: dict[str, list[str]] = {}
    for label, value in items:
        groups.setdefault(value, []).append(label)
    if len(groups) == 1:
        return next(iter(groups))
    return "; ".join(f"{value} ({', '.join(labels)})" for value, labels in groups.items())


_METHOD_ABBREV = {"generation": "gen.", "comprehension": "comp."}


def _cell_label(spec: CellSpec) -> str:
    return f"{latex_escape(spec.model)}/{_METHOD_ABBREV[spec.method]}"


def _ordered(cells: Mapping[str, CellData]) -> list[CellData]:
    return sorted(cells.values(), key=lambda d: sort_key(d.spec))


def _wrap_table(caption: str, label: str, tabulars: Sequence[tuple[str, int]]) -> str:
    """A complete float: caption above, then each (tabular, n_columns), wide ones scaled."""
    parts = [
        "% Generated by emovec.paper.tables from tracked pipeline outputs; do not edit by hand.",
        "% Requires \\usepackage{booktabs} (and \\usepackage{graphicx} for \\resizebox).",
        "\\begin{table}[htbp]",
        "\\centering",
        f"\\caption{{{caption}}}",
        f"\\label{{{label}}}",
    ]
    for i, (tabular, n_cols) in enumerate(tabulars):
        if i:
            parts += ["", "\\medskip", ""]
        if n_cols > _WIDE_COLUMNS:
            parts += ["\\resizebox{\\linewidth}{!}{%", tabular + "%", "}"]
        else:
            parts.append(tabular)
    parts.append("\\end{table}")
    return "\n".join(parts) + "\n"


def _tabular(colspec: str, header: Sequence[str], body: Sequence[str], footer: Sequence[str] = ()) -> str:
    lines = [f"\\begin{{tabular}}{{{colspec}}}", "\\toprule", *header, "\\midrule", *body]
    if footer:
        lines += ["\\midrule", *footer]
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines)


def _row(cells: Sequence[str]) -> str:
    return " & ".join(cells) + " \\\\"


def _label(spec: PaperSpec, name: str) -> str:
    # Labels tolerate few characters; keep the experiment name to a safe subset.
    exp = re.sub(r"[^A-Za-z0-9-]+", "-", spec.experiment)
    return f"tab:{exp}-{name}"


def _layer_rule(cells: Sequence[CellData]) -> str:
    if all(d.spec.layer == d.spec.n_layers // 2 for d in cells):
        return "the middle block, $\\lfloor L/2 \\rfloor$ of $L$ blocks, as in Jeong"
    return "the layer configured per cell"


def _normalisation(flag: bool) -> str:
    return "unit-normalised" if flag else "raw (not normalised; norms carry anisotropy)"


def _common_caption(cells: Sequence[CellData]) -> str:
    """Sentences every table needs: N, baseline, normalisation, pooling per method."""
    n = _summary([(_cell_label(d.spec), str(int(d.reported["n_emotions"]))) for d in cells])
    baseline = _summary([(_cell_label(d.spec), latex_escape(d.reported["baseline"])) for d in cells])
    norm = _summary([(_cell_label(d.spec), _normalisation(bool(d.reported["normalised"]))) for d in cells])
    pooling = "; ".join(
        f"{m} = {_summary([(_cell_label(d.spec), latex_escape(d.spec.pooling)) for d in cells if d.spec.method == m])}"
        for m in METHODS if any(d.spec.method == m for d in cells)
    )
    base_gen = [_cell_label(d.spec) for d in cells if d.spec.method == "generation" and d.spec.variant == "base"]
    caveat = (f" Base-model generation cells ({', '.join(base_gen)}) are stories the base model continued from "
              "the plain prompt (it has no chat template), as Jeong's Table 1 ran them; his \\S7.2 guideline uses "
              "comprehension-based extraction for base models, which cannot follow the instruction."
              if base_gen else "")
    return (f"Unit of analysis: emotion vectors, $N$ = {n} per cell. "
            f"Baseline: {baseline}; vectors {norm}. Pooling: {pooling}.{caveat}")


def _removed_k_note(cells: Sequence[CellData]) -> str:
    items = [(d, d.reported["removed_k"]) for d in cells if not _is_missing(d.reported["removed_k"])]
    if not items:
        return ""
    ks = ", ".join(f"{_cell_label(d.spec)} {int(k)}" for d, k in items)
    return f" Neutral principal components removed at the reported layer: {ks}."


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def separation_by_model_table(spec: PaperSpec, cells: Mapping[str, CellData]) -> str:
    """Jeong Table 2 analogue: one row per model, generation and comprehension side by side.

    Per method: reported layer, mean cosine, floor -1/(N-1), shuffled-label null mean
    [2.5%, 97.5%] and one-sided p_null; then G-C = generation - comprehension where both ran.
    """
    d = spec.digits
    ordered = _ordered(cells)
    by_model: dict[str, dict[str, CellData]] = {}
    for cd in ordered:
        by_model.setdefault(cd.spec.model, {})[cd.spec.method] = cd
    body = []
    for model, methods in by_model.items():
        first = next(iter(methods.values())).spec
        row = [latex_escape(first.family), latex_escape(model), first.variant]
        for m in METHODS:
            cd = methods.get(m)
            if cd is None:
                row += [_DASH] * 5
                continue
            r = cd.reported
            row += [
                f"{cd.spec.layer}/{cd.spec.n_layers}", fmt_num(r["mean_cosine"], d), fmt_num(r["floor"], d),
                f"{fmt_num(r['null_mean'], d)} [{fmt_num(r['null_lo'], d)}, {fmt_num(r['null_hi'], d)}]",
                _fmt_p(float(r["p_null"]), d),
            ]
        if all(m in methods for m in METHODS):
            g = float(methods["generation"].reported["mean_cosine"])
            c = float(methods["comprehension"].reported["mean_cosine"])
            row.append(fmt_signed(g - c, d))
        else:
            row.append(_DASH)
        body.append(_row(row))
    header = [
        _row(["", "", ""] + [f"\\multicolumn{{5}}{{c}}{{{m.capitalize()}}}" for m in METHODS] + [""]),
        "\\cmidrule(lr){4-8}\\cmidrule(lr){9-13}",
        _row(["Family", "Model", "Variant"]
             + ["Layer", "Cos.", "Floor", "Null [2.5\\%, 97.5\\%]", "$p_{\\mathrm{null}}$"] * 2
             + ["G$-$C"]),
    ]
    n_perm = _summary([(_cell_label(c.spec), str(int(c.reported["n_permutations"]))) for c in ordered])
    stimuli = "; ".join(
        f"{_cell_label(c.spec)} {int(c.reported['n_stimuli'])} ({int(c.reported['min_n_per_emotion'])})"
        for c in ordered)
    caption = (
        "Separation of emotion vectors by model and extraction method "
        f"(analogue of Jeong 2026, Table 2; experiment {latex_escape(spec.experiment)}). "
        + _common_caption(ordered)
        + " Cos.: mean pairwise cosine of the $N$ vectors at the cell's reported layer; lower = better "
        f"separation. Layer: reported 0-based transformer block / number of blocks $L$ ({_layer_rule(ordered)}). "
        "Floor: $-1/(N-1)$, the lowest mean cosine $N$ vectors can reach (vectors centred on their own "
        "mean sit near it whatever the data). Null: mean [2.5\\%, 97.5\\%] of the mean cosine when "
        f"emotion labels are shuffled among emotion stimuli, same baseline ({n_perm} permutations). "
        "$p_{\\mathrm{null}}$: one-sided, $(1 + \\#\\{\\mathrm{null} \\le \\mathrm{observed}\\}) / "
        f"(1 + n_{{\\mathrm{{perm}}}})$, uncorrected for the {len(ordered)} cells shown. "
        "G$-$C: generation minus comprehension cosine (negative = generation separates better; "
        "Jeong's ``(G--C)'' column reports comprehension minus generation). "
        f"{_DASH}: cell not run. Emotion stimuli per cell (smallest effective $n$ per emotion): {stimuli}."
        + _removed_k_note(ordered)
    )
    tab = _tabular("lll" + "rrrcr" * 2 + "r", header, body)
    return _wrap_table(caption, _label(spec, "separation-by-model"), [(tab, 14)])


def layer_sweep_table(spec: PaperSpec, cells: Mapping[str, CellData]) -> str:
    """Mean cosine per layer (rows) per cell (columns), lowest layer per cell in bold.

    Cells are grouped by depth (n_layers) so that a row is one layer and one relative depth;
    each group is its own tabular inside the one float.
    """
    d = spec.digits
    ordered = _ordered(cells)
    groups: dict[int, list[CellData]] = {}
    for cd in sorted(ordered, key=lambda c: c.spec.n_layers):
        groups.setdefault(cd.spec.n_layers, []).append(cd)
    tabulars = []
    for n_layers, group in groups.items():
        best = {cd.spec.cell: best_layer(cd.separation["mean_cosine"].to_numpy()) for cd in group}
        header = [
            _row(["", ""] + [latex_escape(cd.spec.model) for cd in group]),
            _row(["Layer", "Depth"] + [cd.spec.method for cd in group]),
        ]
        body = []
        for layer in range(n_layers):
            depth = 100.0 * layer / max(n_layers - 1, 1)
            row = [str(layer), f"{depth:.0f}\\%"]
            for cd in group:
                value = fmt_num(cd.separation["mean_cosine"].iloc[layer], d)
                if layer == best[cd.spec.cell]:
                    value = f"\\textbf{{{value}}}"
                if layer == cd.spec.layer:
                    value += "$^{\\dagger}$"
                row.append(value)
            body.append(_row(row))
        footer = [_row(["Floor", ""] + [fmt_num(cd.reported["floor"], d) for cd in group])]
        n_cols = 2 + len(group)
        tabulars.append((_tabular("rr" + "r" * len(group), header, body, footer), n_cols))
    caption = (
        "Layer sweep: mean pairwise cosine of the emotion vectors at every layer "
        f"(experiment {latex_escape(spec.experiment)}); lower = better separation. "
        + _common_caption(ordered)
        + " Layer: 0-based transformer block (output of block $i$); depth = layer$/(L-1)$ for $L$ blocks "
        "(Jeong counts depth as layer$/L$ on 1-based layers). Bold: the lowest value per cell; a minimum "
        "over layers is selection-biased, so read it against the floor $-1/(N-1)$ (last row) and the "
        "shuffled-label null of Table~\\ref{" + _label(spec, "separation-by-model") + "}, not as a "
        "finding on its own. $\\dagger$: the reported layer. Jeong reads this profile as a U-curve: "
        "high cosine in early layers (token features dominate) and in the last layer (next-token "
        "features dominate), lowest at mid depth, where the emotion signal peaks."
    )
    return _wrap_table(caption, _label(spec, "layer-sweep"), tabulars)


def anisotropy_table(spec: PaperSpec, cells: Mapping[str, CellData]) -> str:
    """Jeong Table 3 analogue: anisotropy baseline, emotion cosine, gap and opposite pairs."""
    d = spec.digits
    ordered = _ordered(cells)
    pair_heads = [f"{a}--{b}" for a, b in OPPOSITE_PAIRS]
    header = [_row(["Model", "Variant", "Method", "Layer", "Anisotropy", "Emotion cos.", "Gap", *pair_heads])]
    body = []
    for cd in ordered:
        r = cd.reported
        body.append(_row([
            latex_escape(cd.spec.model), cd.spec.variant, cd.spec.method,
            f"{cd.spec.layer}/{cd.spec.n_layers}", fmt_num(r["anisotropy"], d), fmt_num(r["mean_cosine"], d),
            fmt_signed(r["gap_to_anisotropy"], d), *(fmt_num(r[c], d) for c in PAIR_COLUMNS),
        ]))
    mid_gen = any(cd.spec.pooling == "mid_generation" for cd in ordered)
    caption = (
        "Representational anisotropy and emotion-vector separation at each cell's reported layer "
        f"(analogue of Jeong 2026, Table 3; experiment {latex_escape(spec.experiment)}). "
        + _common_caption(ordered)
        + " Anisotropy: mean pairwise cosine of the raw (uncentred) pooled activations of neutral "
        "factual sentences, i.e.\\ how aligned unrelated inputs already are. Emotion cos.: mean pairwise "
        "cosine of the $N$ emotion vectors. Gap = anisotropy $-$ emotion cos.\\ (positive = emotion "
        "vectors less aligned than raw activations). The two are not on one footing: emotion vectors are "
        "baseline-subtracted contrasts bounded below by $-1/(N-1)$, the anisotropy baseline is raw "
        "activations. Last four columns: cosine between the vectors of semantically opposite emotions. "
        f"{_DASH}: no neutral sentences for this cell."
        + (" Under mid\\_generation pooling the neutral sentences have no generated part and are "
           "pooled at their last token." if mid_gen else "")
    )
    tab = _tabular("lll" + "r" * (4 + len(PAIR_COLUMNS)), header, body)
    return _wrap_table(caption, _label(spec, "anisotropy"), [(tab, 7 + len(PAIR_COLUMNS))])


def rlhf_pairs(cells: Mapping[str, CellData]) -> list[tuple[CellData, CellData]]:
    """(base, instruct) cell pairs: same family and method, matched by ``partner``.

    A pair is matched when either side names the other as partner; when neither names a
    partner and the family has exactly one base cell for that method, that one is used.
    Returned in ``sort_key`` order of the instruct cell.
    """
    ordered = _ordered(cells)
    pairs = []
    for inst in (c for c in ordered if c.spec.variant == "instruct"):
        bases = [c for c in ordered if c.spec.variant == "base" and c.spec.family == inst.spec.family
                 and c.spec.method == inst.spec.method]
        linked = [b for b in bases if b.spec.model == inst.spec.partner or b.spec.partner == inst.spec.model]
        if not linked and inst.spec.partner is None and len(bases) == 1 and bases[0].spec.partner is None:
            linked = bases
        if len(linked) > 1:
            raise EmovecInputError(
                f"instruct cell {inst.spec.cell!r} matches several base cells "
                f"{[b.spec.cell for b in linked]}; set partner in the model configs")
        if linked:
            pairs.append((linked[0], inst))
    return pairs


def rlhf_separation_table(spec: PaperSpec, cells: Mapping[str, CellData]) -> str:
    """Base vs instruct: instruct minus base mean cosine per family and method."""
    d = spec.digits
    pairs = rlhf_pairs(cells)
    head = ["Family", "Method", "Base", "Instruct", "Layer (B/I)", "Base cos.", "Instr.\\ cos.",
            "$\\Delta$ (I$-$B)", "$n$ (B/I)"]
    body = []
    for base, inst in pairs:
        rb, ri = base.reported, inst.reported
        delta = float(ri["mean_cosine"]) - float(rb["mean_cosine"])
        body.append(_row([
            latex_escape(inst.spec.family), inst.spec.method, latex_escape(base.spec.model),
            latex_escape(inst.spec.model), f"{base.spec.layer}/{inst.spec.layer}",
            fmt_num(rb["mean_cosine"], d), fmt_num(ri["mean_cosine"], d), fmt_signed(delta, d),
            f"{int(rb['n_stimuli'])} ({int(rb['min_n_per_emotion'])}) / "
            f"{int(ri['n_stimuli'])} ({int(ri['min_n_per_emotion'])})",
        ]))
    if not body:
        body = [_row([f"\\multicolumn{{{len(head)}}}{{c}}{{No family has both a base and an instruct cell "
                      "for the same method.}"])]
    involved = [c for pair in pairs for c in pair] or _ordered(cells)
    caption = (
        "Base versus instruction-tuned (RLHF) variants at the reported layer "
        f"(experiment {latex_escape(spec.experiment)}). "
        + _common_caption(involved)
        + " $\\Delta$ = instruct $-$ base mean pairwise cosine; negative = the instruct variant "
        "separates better (Jeong's $\\Delta$(RLHF) column reports base minus instruct). Each cosine is "
        "a single number per cell, so $\\Delta$ is a descriptive difference with no confidence interval "
        "or test. $n$: emotion stimuli per cell, with the smallest effective $n$ per emotion in "
        "parentheses. Pairs share family and method and are matched by the models' partner field."
    )
    tab = _tabular("llll" + "c" + "rrr" + "c", [_row(head)], body)
    return _wrap_table(caption, _label(spec, "rlhf-separation"), [(tab, len(head))])


_BUILDERS: dict[str, Callable[[PaperSpec, Mapping[str, CellData]], str]] = {
    "separation_by_model.tex": separation_by_model_table,
    "layer_sweep.tex": layer_sweep_table,
    "anisotropy.tex": anisotropy_table,
    "rlhf_separation.tex": rlhf_separation_table,
}


def build_tables(spec: PaperSpec, cells: Mapping[str, CellData]) -> dict[str, str]:
    """Render every table: {file name: LaTeX text}, in ``TABLE_FILES`` order."""
    return {name: _BUILDERS[name](spec, cells) for name in TABLE_FILES}
