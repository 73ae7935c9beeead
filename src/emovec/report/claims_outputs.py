"""The claims stage's outputs: the claims ledger evaluated on this run (:mod:`emovec.ledgers.claims`)
and written as ``claims.tex``, ``claims.csv`` and ``provenance.json``, together (all or nothing)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from emovec.io import atomic_path
from emovec.ledgers.claim_ledger import ClaimContext
from emovec.ledgers.claims import evaluate_claims, load_claims
from emovec.readers.paper_config import load_paper_config
from emovec.report.claims_table import claims_csv, claims_table
from emovec.report.provenance import git_revision, provenance_line, provenance_record

__all__ = ["write_claims"]


def write_claims(config: str | Path, claims: str | Path, separation_dir: str | Path, analyses_dir: str | Path,
                 valence_dir: str | Path, data_dir: str | Path, out: str | Path) -> str:
    """Evaluate the ledger ``claims`` against this run's outputs and write ``out/claims.tex``,
    ``out/claims.csv`` and ``out/provenance.json`` together (atomically: all or nothing). The
    steering and classifier claims read the analyses stage's statistics in ``analyses_dir``.

    Claims whose inputs this run did not produce get a "not run" status; only a malformed
    ledger or a malformed output raises ``EmovecInputError`` (nothing written).

    Returns:
        A one-line summary (claims per status) for the stage to print.
    """
    paper = load_paper_config(config)
    ledger = load_claims(claims)
    ctx = ClaimContext(separation_dir=Path(separation_dir), analyses_dir=Path(analyses_dir),
                       valence_dir=Path(valence_dir), data_dir=Path(data_dir), paper=paper)
    results = evaluate_claims(ledger, ctx)
    record = provenance_record(paper.provenance, git_revision())
    tex, csv_text = claims_table(results, provenance_line(record)), claims_csv(results)
    with atomic_path(out) as tmp:
        tmp.mkdir()
        (tmp / "claims.tex").write_text(tex, encoding="utf-8")
        (tmp / "claims.csv").write_text(csv_text, encoding="utf-8")
        # The revision this run recorded, for `make verify` to regenerate under.
        (tmp / "provenance.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    counts = Counter(r.status for r in results)
    return f"claims: {len(results)} -> {out} (" + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + ")"
