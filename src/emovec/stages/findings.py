"""Stage: the findings. Each general claim of the papers (paper/findings.yaml) tested on every
model of the run with its fixed decision rule, and the cross-model emotion geometry (RSA) it
rests on: findings.tex/.json, rsa.tex/.json, their figures and provenance.json, written together
atomically; :func:`emovec.report.findings_outputs.write_findings`."""

from __future__ import annotations

import argparse

from emovec.errors import stage_entry
from emovec.readers.paper_inputs import add_analyses_argument
from emovec.report.findings_outputs import write_findings


@stage_entry
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", required=True, help="composed paper config (build/config/paper.yaml)")
    ap.add_argument("--findings", default="paper/findings.yaml", help="the findings ledger")
    ap.add_argument("--separation-dir", default="build/separation")
    add_analyses_argument(ap)
    ap.add_argument("--valence-dir", default="build/valence")
    ap.add_argument("--vectors-dir", default="build/vectors")
    ap.add_argument("--out", required=True, help="directory for findings.* and rsa.*")
    args = ap.parse_args(argv)
    print(write_findings(args.config, args.findings, args.separation_dir, args.analyses_dir, args.valence_dir,
                         args.vectors_dir, args.out))


if __name__ == "__main__":
    raise SystemExit(main())
