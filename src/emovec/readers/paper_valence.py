"""The valence part of the composed paper config (``build/config/paper.yaml``): ``digits`` and
``valence_cells``, one (model, story corpus) cell per entry with the corpus's generator and the
norms it is compared with. :func:`parse_valence_spec` validates it from the mapping
:mod:`emovec.readers.paper_config` read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emovec.config.schema import VARIANTS
from emovec.config.values import SAFE_NAME, require_digits, require_int, require_str
from emovec.errors import EmovecInputError

__all__ = [
    "VALENCE_CELL_KEYS",
    "ValenceCellSpec",
    "ValenceSpec",
    "parse_valence_spec",
    "valence_sort_key",
]

VALENCE_CELL_KEYS: tuple[str, ...] = (
    "cell", "model", "corpus", "generator", "variant", "family", "n_layers", "norms", "emotion_set",
)


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


def valence_sort_key(spec: ValenceCellSpec) -> tuple[str, int, str, str]:
    """Deterministic cell order: family, base before instruct, model, corpus."""
    return (spec.family, VARIANTS.index(spec.variant), spec.model, spec.corpus)


def _valence_cell(raw: Any, where: str) -> ValenceCellSpec:
    """One entry of ``valence_cells``, checked (``where`` names it in errors)."""
    if not isinstance(raw, dict):
        raise EmovecInputError(f"{where} must be a mapping; got {type(raw).__name__}")
    missing = [k for k in VALENCE_CELL_KEYS if k not in raw]
    if missing:
        raise EmovecInputError(f"{where}: missing key(s) {missing}")
    values = {k: require_str(raw[k], f"{where}.{k}") for k in VALENCE_CELL_KEYS if k != "n_layers"}
    for key in ("cell", "model"):  # used in file names (cell directories, cka/<model>.npz, figures)
        if not SAFE_NAME.match(values[key]):
            raise EmovecInputError(
                f"{where}.{key}={values[key]!r} must match {SAFE_NAME.pattern} (used in file names)")
    if values["variant"] not in VARIANTS:
        raise EmovecInputError(f"{where}.variant={values['variant']!r}; expected one of {list(VARIANTS)}")
    n_layers = require_int(raw["n_layers"], f"{where}.n_layers", minimum=1)
    return ValenceCellSpec(n_layers=n_layers, **values)


def parse_valence_spec(raw: Mapping[str, Any], path: Path) -> ValenceSpec:
    """The valence part of the paper config ``raw`` (read from ``path``, which errors name).

    ``valence_cells`` may be absent, null or empty: then ``cells`` is empty and no valence
    outputs are made. Errors: a missing/ill-typed key, a cell listed twice, two cells with the
    same (model, corpus), or one model listed with different n_layers, variant or family.
    """
    if "digits" not in raw:
        raise EmovecInputError(f"{path}: missing key 'digits'")
    digits = require_digits(raw["digits"], str(path))
    entries = raw.get("valence_cells")
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise EmovecInputError(f"{path}: valence_cells must be a list; got {type(entries).__name__}")
    cells = tuple(_valence_cell(c, f"{path}: valence_cells[{i}]") for i, c in enumerate(entries))
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
