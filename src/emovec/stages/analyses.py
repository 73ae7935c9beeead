"""Stage: the statistics the paper's tables report, one JSON file per analysis in build/analyses
(:func:`emovec.paper.analyses.run_analyses`, whose module docstring lists them)."""

from __future__ import annotations

import argparse

from emovec.paper.analyses import run_analyses
from emovec.stages.common import stage_entry


@stage_entry
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", required=True, help="composed paper config (build/config/paper.yaml)")
    ap.add_argument("--separation-dir", required=True, help="directory of <cell>.csv separation outputs")
    ap.add_argument("--vectors-dir", required=True, help="directory of <cell>.npz emotion vectors")
    ap.add_argument("--valence-dir", default="build/valence", help="directory of <cell>/ valence outputs")
    ap.add_argument("--cka-dir", default="build/cka", help="directory of <model>.npz CKA outputs")
    ap.add_argument("--steering-dir", default="build/steering", help="directory of <model>/ steering outputs")
    ap.add_argument("--classify-dir", default="build/steering_classify", help="directory of <model>.csv classifier outputs")
    ap.add_argument("--out", required=True, help="build/analyses (a directory)")
    args = ap.parse_args(argv)
    print(run_analyses(args.config, args.separation_dir, args.vectors_dir, args.valence_dir, args.cka_dir,
                       args.steering_dir, args.classify_dir, args.out))


if __name__ == "__main__":
    raise SystemExit(main())
