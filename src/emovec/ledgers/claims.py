"""The claims ledger: every number the papers report, what this package computes for it, and
whether it replicates.

``paper/claims.yaml`` lists each reported number (``emovec.ledgers.claim_ledger.Claim``) and a
``measure`` that recomputes it from one of three bases: **model outputs**
(``emovec.ledgers.claim_measures_outputs``), **upstream data** or **reported numbers**
(``emovec.ledgers.claim_measures_data``).

Status per claim: ``replicated`` (within tolerance), ``differs``, ``not run: needs weights``
(the model's outputs are absent and its weights are not available offline), ``not run: <why>``
(an input is missing for another reason) or ``not measured`` (no measure computes it, e.g.
a qualitative observation or a closed model's behaviour). ``emovec.report.claims_table``
renders the results.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

# Imported for their @register_measure side effect: they fill MEASURES.
import emovec.ledgers.claim_measures_data  # noqa: F401
import emovec.ledgers.claim_measures_outputs  # noqa: F401  (registers measures)
from emovec.errors import EmovecInputError
from emovec.ledgers.claim_ledger import (
    MEASURES,
    PAPERS,
    Claim,
    ClaimContext,
    ClaimResult,
    Measured,
    NotRun,
    is_number,
)

__all__ = ["compare", "evaluate_claims", "load_claims"]

_REQUIRED = ("id", "paper", "source", "statement", "value", "needs_weights", "measure")
_ALLOWED = frozenset(_REQUIRED) | {"tolerance", "selection", "note"}


def load_claims(path: str | Path) -> list[Claim]:
    """Read and validate the ledger; every problem names the claim (or its index) and key."""
    path = Path(path)
    try:
        # libyaml's safe loader where PyYAML was built with it: the pure-Python one spends
        # ~0.4 s on a ledger of 260 claims, a third of this stage.
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as e:
        raise EmovecInputError(f"{path}: cannot read the claims ledger: {e}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("claims"), list):
        raise EmovecInputError(f"{path}: expected a mapping with a list under 'claims'")
    out: list[Claim] = []
    seen: set[str] = set()
    for i, rec in enumerate(raw["claims"]):
        where = f"{path}: claims[{i}]" + (f" ({rec.get('id')})" if isinstance(rec, dict) and rec.get("id") else "")
        if not isinstance(rec, dict):
            raise EmovecInputError(f"{where}: not a mapping")
        missing = [k for k in _REQUIRED if k not in rec]
        unknown = sorted(set(rec) - _ALLOWED)
        if missing or unknown:
            raise EmovecInputError(f"{where}: missing key(s) {missing}, unknown key(s) {unknown}")
        cid = str(rec["id"])
        if cid in seen:
            raise EmovecInputError(f"{where}: duplicate id {cid!r}")
        seen.add(cid)
        if rec["paper"] not in PAPERS:
            raise EmovecInputError(f"{where}: paper {rec['paper']!r} is not one of {sorted(PAPERS)}")
        value = rec["value"]
        if not (is_number(value) or isinstance(value, str)
                or (isinstance(value, list) and value and all(is_number(v) for v in value))):
            raise EmovecInputError(f"{where}: value must be a number, a string or a list of numbers; got {value!r}")
        tol = rec.get("tolerance")
        if tol is not None and (not is_number(tol) or tol < 0):
            raise EmovecInputError(f"{where}: tolerance must be a non-negative number; got {tol!r}")
        if not isinstance(value, str) and tol is None:
            raise EmovecInputError(f"{where}: a numeric value needs a tolerance")
        measure = rec["measure"]
        if measure is not None:
            if not isinstance(measure, dict) or measure.get("kind") not in MEASURES:
                raise EmovecInputError(f"{where}: measure.kind must be one of {sorted(MEASURES)}; got {measure!r}")
        out.append(Claim(id=cid, paper=str(rec["paper"]), source=dict(rec["source"] or {}),
                         statement=str(rec["statement"]), value=value, tolerance=None if tol is None else float(tol),
                         selection=dict(rec.get("selection") or {}), needs_weights=bool(rec["needs_weights"]),
                         measure=measure, note=str(rec.get("note") or "")))
    ids = {c.id for c in out}
    for c in out:
        if c.measure and c.measure["kind"] == "reported_arithmetic":
            bad = [v for v in (c.measure.get("inputs") or {}).values() if v not in ids]
            if bad:
                raise EmovecInputError(f"{path}: claim {c.id}: reported_arithmetic input(s) {bad} are not claim ids")
    return out


def _normalise_label(x: str) -> str:
    return x.strip().rstrip("*∗").strip().lower().replace("repetitive collapse", "repetitive")


def compare(reported: Any, replicated: Any, tolerance: float | None) -> bool:
    """Within tolerance (numbers, element-wise for lists) or equal (labels, case-insensitive)."""
    if isinstance(reported, str):
        return isinstance(replicated, str) and _normalise_label(reported) == _normalise_label(replicated)
    if isinstance(reported, list):
        return (isinstance(replicated, list) and len(reported) == len(replicated)
                and all(compare(a, b, tolerance) for a, b in zip(reported, replicated)))
    if not is_number(replicated):
        return False
    # A tiny slack so that a value exactly at the tolerance (after float rounding) counts.
    return abs(float(replicated) - float(reported)) <= float(tolerance or 0.0) * (1 + 1e-9) + 1e-12


def evaluate_claims(claims: Sequence[Claim], ctx: ClaimContext) -> list[ClaimResult]:
    """Run every claim's measure; absent inputs become "not run" statuses, never errors."""
    ctx.claims = {c.id: c for c in claims}
    out = []
    for c in claims:
        if c.measure is None:
            out.append(ClaimResult(c, None, "not measured", "---", "no measure in this package computes it"))
            continue
        basis, fn = MEASURES[c.measure["kind"]]
        args = dict(c.measure)
        detail = ""
        try:
            value = fn(args, ctx)
            if isinstance(value, Measured):
                value, detail = value.value, value.detail
        except NotRun as e:
            status = "not run: needs weights" if c.needs_weights else "not run"
            out.append(ClaimResult(c, None, status, basis, str(e)))
            continue
        except EmovecInputError as e:
            raise EmovecInputError(f"claim {c.id}: {e}") from None
        if isinstance(value, float) and not math.isfinite(value):
            out.append(ClaimResult(c, None, "not run", basis, "; ".join(
                x for x in (detail, "the measure is undefined on these outputs (NaN)") if x)))
            continue
        ok = compare(c.value, value, c.tolerance)
        out.append(ClaimResult(c, value, "replicated" if ok else "differs", basis, detail))
    return out
