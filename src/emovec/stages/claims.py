"""Stage: the claims table. Every number the papers report (paper/claims.yaml) beside what this
run computes for it, as LaTeX (claims.tex) and CSV (claims.csv), written together atomically
with the run's provenance (provenance.json).

Claims whose inputs this run did not produce (a model not in the selection, weights not
available offline) get a "not run" status naming the absent file; only a malformed ledger or
a malformed output is an error (exit 2, nothing written).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from omegaconf import OmegaConf

from emovec.io import atomic_path
from emovec.paper.claims import ClaimContext, claims_csv, claims_table, evaluate_claims, load_claims
from emovec.paper.provenance import git_revision, provenance_line, provenance_record
from emovec.stages.common import stage_entry


@stage_entry
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", required=True, help="composed paper config (build/config/paper.yaml)")
    ap.add_argument("--claims", default="paper/claims.yaml", help="the claims ledger")
    ap.add_argument("--separation-dir", default="build/separation")
    ap.add_argument("--steering-dir", default="build/steering")
    ap.add_argument("--classify-dir", default="build/steering_classify")
    ap.add_argument("--valence-dir", default="build/valence")
    ap.add_argument("--data-dir", default="data", help="materialised upstream files (make data)")
    ap.add_argument("--out", required=True, help="directory for claims.tex and claims.csv")
    args = ap.parse_args(argv)
    paper_cfg = OmegaConf.to_container(OmegaConf.load(args.config))
    claims = load_claims(args.claims)
    ctx = ClaimContext(separation_dir=Path(args.separation_dir), steering_dir=Path(args.steering_dir),
                       classify_dir=Path(args.classify_dir), valence_dir=Path(args.valence_dir),
                       data_dir=Path(args.data_dir), paper_config=paper_cfg)  # type: ignore[arg-type]
    results = evaluate_claims(claims, ctx)
    record = provenance_record(paper_cfg.get("provenance") or {}, git_revision())  # type: ignore[union-attr]
    tex, csv_text = claims_table(results, provenance_line(record)), claims_csv(results)
    with atomic_path(args.out) as tmp:
        tmp.mkdir()
        (tmp / "claims.tex").write_text(tex, encoding="utf-8")
        (tmp / "claims.csv").write_text(csv_text, encoding="utf-8")
        # The revision this run recorded, for `make verify` to regenerate under.
        (tmp / "provenance.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    counts = Counter(r.status for r in results)
    print(f"claims: {len(results)} -> {args.out} (" + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + ")")


if __name__ == "__main__":
    raise SystemExit(main())
