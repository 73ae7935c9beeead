"""Stage: the claims table. Every number the papers report (paper/claims.yaml) beside what this
run computes for it, as LaTeX (claims.tex) and CSV (claims.csv), written together atomically
with the run's provenance (provenance.json).

The steering and classifier claims read the analyses stage's statistics (``--analyses-dir``),
as the paper stage does; they recompute nothing from the steering outputs.

Claims whose inputs this run did not produce (a model not in the selection, weights not
available offline) get a "not run" status naming the absent file; only a malformed ledger or
a malformed output is an error (exit 2, nothing written).
"""

from __future__ import annotations

import argparse

from emovec.errors import stage_entry
from emovec.readers.paper_inputs import add_analyses_argument
from emovec.report.claims_outputs import write_claims


@stage_entry
def main(argv: list[str] | None = None) -> None:
    """CLI entry: ``python -m emovec.stages.claims --config ... --out ...``."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", required=True, help="composed paper config (build/config/paper.yaml)")
    ap.add_argument("--claims", default="paper/claims.yaml", help="the claims ledger")
    ap.add_argument("--separation-dir", default="build/separation")
    add_analyses_argument(ap)
    ap.add_argument("--valence-dir", default="build/valence")
    ap.add_argument("--data-dir", default="data", help="materialised upstream files (make data)")
    ap.add_argument("--out", required=True, help="directory for claims.tex and claims.csv")
    args = ap.parse_args(argv)
    print(write_claims(args.config, args.claims, args.separation_dir, args.analyses_dir, args.valence_dir,
                       args.data_dir, args.out))


if __name__ == "__main__":
    raise SystemExit(main())
