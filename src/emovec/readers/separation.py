"""The separation experiment's tracked outputs: per cell ``build/separation/<cell>.csv`` (one row
per layer), ``build/vectors/<cell>.npz`` (the emotion vectors) and
``build/separation/<cell>.resampling.json`` (LOO, per-emotion and bootstrap replicates at the
reported layer, see ``emovec.geometry.resampling``), read and cross-checked against each other
and against the paper config.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emovec.artefacts.declarations import RESAMPLING_RECORD, SEPARATION_LAYERS
from emovec.emotions import OPPOSITE_PAIRS
from emovec.errors import EmovecInputError
from emovec.geometry.separation import mean_pairwise_cosine
from emovec.readers.checked import parse_bool, read_checked_csv, read_json_artefact
from emovec.readers.paper_separation import CellSpec, PaperSpec

__all__ = [
    "PAIR_COLUMNS",
    "CellData",
    "load_cells",
    "load_resampling",
    "read_separation_csv",
    "read_vectors_npz",
]

PAIR_COLUMNS: tuple[str, ...] = tuple(f"cos_{a}-{b}" for a, b in OPPOSITE_PAIRS)
# The separation CSV stores the same vectors' mean cosine at ~6 significant digits; a larger
# disagreement with the .npz means one of the two files is stale.
_CONSISTENCY_TOL = 5e-4


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
    L = SEPARATION_LAYERS
    df = read_checked_csv(path, L.names, L.numeric, L.integer, L.nullable)
    df = df.sort_values("layer", kind="stable").reset_index(drop=True)
    if df["layer"].tolist() != list(range(spec.n_layers)):
        raise EmovecInputError(
            f"{path}: layers {df['layer'].tolist()} do not match n_layers={spec.n_layers} of cell "
            f"{spec.cell!r} (expected one row per layer 0..{spec.n_layers - 1})")
    if not np.isfinite(df["mean_cosine"].to_numpy()).all():
        raise EmovecInputError(f"{path}: column 'mean_cosine' has non-finite values")
    df["normalised"] = [parse_bool(v, f"{path}: column 'normalised'") for v in df["normalised"]]
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


def load_resampling(cells: Mapping[str, CellData], separation_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Read ``<cell>.resampling.json`` for every cell, cross-checked against its separation CSV.

    Raises:
        EmovecInputError: a missing file (all named), a missing key, or a mean cosine or layer
            that disagrees with the CSV's reported row (a stale output).
    """
    separation_dir = Path(separation_dir)
    paths = {name: separation_dir / f"{name}.resampling.json" for name in cells}
    absent = [str(p) for p in paths.values() if not p.is_file()]
    if absent:
        raise EmovecInputError(f"missing resampling file(s) for listed cells: {', '.join(absent)}")
    out = {}
    for name, cell in cells.items():
        rec = read_json_artefact(paths[name], RESAMPLING_RECORD)
        if int(rec["layer"]) != cell.spec.layer:
            raise EmovecInputError(f"{paths[name]}: layer {rec['layer']} but the cell reports layer {cell.spec.layer}")
        recorded = float(cell.reported["mean_cosine"])
        if abs(float(rec["mean_cosine"]) - recorded) > _CONSISTENCY_TOL:
            raise EmovecInputError(f"{paths[name]}: mean cosine {float(rec['mean_cosine']):.6f} but the separation "
                                   f"CSV records {recorded:.6f}; one of them is stale")
        if len(rec["emotions"]) != len(rec["per_emotion"]):
            raise EmovecInputError(f"{paths[name]}: {len(rec['emotions'])} emotions but "
                                   f"{len(rec['per_emotion'])} per-emotion values")
        out[name] = rec
    return out
