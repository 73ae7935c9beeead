"""Checks shared by the artefact readers: CSV/JSON files of the pipeline read with every required
column/key present and every value parsed (typed config values: :mod:`emovec.config.values`).

Errors are ``EmovecInputError`` naming the file, column/key and 0-based data row.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emovec.artefacts.declarations import JsonArtefact
from emovec.errors import EmovecInputError

__all__ = [
    "as_float",
    "first_row",
    "is_missing",
    "parse_bool",
    "read_checked_csv",
    "read_json_artefact",
    "require_text_columns",
]

def parse_bool(value: Any, where: str) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    text = str(value).strip().lower()
    if text in {"true", "1"}:
        return True
    if text in {"false", "0"}:
        return False
    raise EmovecInputError(f"{where}: expected true/false; got {value!r}")


def is_missing(x: Any) -> bool:
    return x is None or (isinstance(x, (float, np.floating)) and math.isnan(x))


def as_float(x: Any) -> float:
    if x is None:
        return math.nan
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def first_row(mask: pd.Series) -> int:
    return int(np.flatnonzero(mask.to_numpy())[0])


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


def read_json_artefact(path: Path, artefact: JsonArtefact) -> dict[str, Any]:
    """Read a JSON artefact a stage wrote: a top-level object holding exactly the declared keys
    (a missing or undeclared key means the writer and this reader disagree, or the file is stale)."""
    if not path.is_file():
        raise EmovecInputError(f"{path} is missing: run the stage that writes it (dvc repro)")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EmovecInputError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise EmovecInputError(f"{path}: expected a JSON object at the top level")
    problem = artefact.key_mismatch(raw, str(path))
    if problem:
        raise EmovecInputError(problem)
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
