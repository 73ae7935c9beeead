"""Checks shared by the paper's loaders: typed config values, the composed paper config read as
a YAML mapping, and CSV/JSON files of the pipeline read with every required column/key present and
every value parsed.

Errors are ``EmovecInputError`` naming the file, column/key and 0-based data row.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from emovec.errors import EmovecInputError

__all__ = [
    "MAX_DIGITS",
    "SAFE_NAME",
    "as_float",
    "first_row",
    "is_missing",
    "parse_bool",
    "read_checked_csv",
    "read_config_mapping",
    "read_json_object",
    "require_digits",
    "require_int",
    "require_mapping",
    "require_number",
    "require_str",
    "require_text_columns",
]

# Cell and model names become file names (heatmaps, directories); keep them to characters safe
# on every filesystem.
SAFE_NAME = re.compile(r"^[A-Za-z0-9._+-]+$")
# The most decimals a table may print.
MAX_DIGITS = 10


def require_int(value: Any, where: str, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EmovecInputError(f"{where} must be an integer; got {value!r}")
    if minimum is not None and value < minimum:
        raise EmovecInputError(f"{where} must be >= {minimum}; got {value}")
    return value


def require_str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise EmovecInputError(f"{where} must be a non-empty string; got {value!r}")
    return value


def require_number(value: Any, where: str, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise EmovecInputError(f"{where} must be a finite number; got {value!r}")
    if positive and value <= 0:
        raise EmovecInputError(f"{where} must be > 0; got {value!r}")
    return float(value)


def require_digits(value: Any, where: str) -> int:
    """Decimals of every printed float: 0..MAX_DIGITS."""
    digits = require_int(value, f"{where}: digits", minimum=0)
    if digits > MAX_DIGITS:
        raise EmovecInputError(f"{where}: digits={digits} is implausibly large (max {MAX_DIGITS})")
    return digits


def require_mapping(value: Any, where: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise EmovecInputError(f"{where} must be a mapping; got {type(value).__name__}")
    return value


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


def read_config_mapping(path: Path) -> dict[str, Any]:
    """The composed paper config (``build/config/paper.yaml``) as a plain mapping (PyYAML)."""
    if not path.is_file():
        raise EmovecInputError(f"paper config {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise EmovecInputError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise EmovecInputError(f"{path}: expected a mapping at the top level")
    return raw


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
