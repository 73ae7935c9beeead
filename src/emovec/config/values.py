"""Typed values of the composed configs, checked where they are read: integers, strings, finite
numbers, mappings, print digits and file-safe names, and the composed paper config as a YAML
mapping. Errors are ``EmovecInputError`` naming where the value came from.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from emovec.errors import EmovecInputError

__all__ = ["MAX_DIGITS", "SAFE_NAME", "read_config_mapping", "require_digits", "require_int", "require_mapping",
           "require_number", "require_str"]

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
