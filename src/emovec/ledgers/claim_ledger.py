"""The claims ledger's data model and its measure registry.

``paper/claims.yaml`` lists each reported number (a ``Claim``) with its source, value,
tolerance, the run selection that reproduces it, whether it needs model weights that are not
available offline, and a ``measure``: a function registered here under a name
(``@register_measure``) that recomputes the number (``emovec.ledgers.claim_measures_outputs``,
``emovec.ledgers.claim_measures_data``). ``emovec.ledgers.claims`` loads and evaluates the ledger.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emovec.errors import EmovecInputError
from emovec.readers.paper_config import PaperConfig
from emovec.registry import Registry

__all__ = ["MEASURES", "PAPERS", "STATUSES", "Claim", "ClaimContext", "ClaimResult", "MeasureFn", "Measured", "NotRun",
           "is_number", "measure_arg", "register_measure"]

STATUSES = ("replicated", "differs", "not run: needs weights", "not run", "not measured")
# Key -> display name; the order of the summary table. jeong2026b: Jeong's follow-up (arXiv 2604.11050), abstract only.
PAPERS = {"jeong2026": "Jeong 2026", "jeong2026b": "Jeong 2026b (abstract)", "vanderben2026": "van der Ben et al. 2026",
          "anthropic2026": "Anthropic 2026 (Claude, as quoted)"}


class NotRun(Exception):
    """A measure's inputs are absent; the message says which (it becomes the status note)."""


@dataclass(frozen=True)
class Measured:
    """A measure's value with a note for the ``detail`` column (e.g. which classifier it read)."""

    value: Any
    detail: str


@dataclass(frozen=True)
class Claim:
    """One reported number (see the module docstring for the fields' meaning)."""

    id: str
    paper: str
    source: dict[str, Any]
    statement: str
    value: Any  # number, string or list of numbers
    tolerance: float | None
    selection: dict[str, Any]
    needs_weights: bool
    measure: dict[str, Any] | None
    note: str = ""


@dataclass
class ClaimContext:
    """Where measures read from, and caches shared between claims. ``analyses_dir``: the
    analyses stage's output (``build/analyses``), whose steering and classifier statistics the
    steering measures read (they never recompute them from the steering outputs)."""

    separation_dir: Path
    analyses_dir: Path
    valence_dir: Path
    data_dir: Path
    paper: PaperConfig
    claims: Mapping[str, Claim] = field(default_factory=dict)
    cache: dict[Any, Any] = field(default_factory=dict)  # parsed inputs shared between measures


@dataclass(frozen=True)
class ClaimResult:
    """A claim with what this package computed for it."""

    claim: Claim
    replicated: Any  # None when not computed
    status: str
    basis: str
    detail: str


MeasureFn = Callable[[Mapping[str, Any], ClaimContext], Any]
MEASURES: Registry[tuple[str, MeasureFn]] = Registry("claim measure")


def register_measure(name: str, basis: str) -> Callable[[MeasureFn], MeasureFn]:
    """Register ``fn(args, ctx) -> value`` as measure ``name``; ``basis`` is what it reads
    ("model outputs", "upstream data" or "reported numbers")."""
    def deco(fn: MeasureFn) -> MeasureFn:
        MEASURES.add(name, (basis, fn))
        return fn
    return deco


def is_number(x: Any) -> bool:
    """A finite int or float (not a bool)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def measure_arg(args: Mapping[str, Any], key: str) -> Any:
    """The measure argument ``key`` of a claim; its absence is a ledger error."""
    if key not in args:
        raise EmovecInputError(f"measure {args.get('kind')!r} needs argument {key!r}")
    return args[key]
