"""Stage: the statistics the paper's tables report, one JSON file per analysis in build/analyses
(:func:`emovec.analysis.catalogue.run_analyses`, whose module docstring lists them)."""

from __future__ import annotations

import argparse

from emovec.analysis.catalogue import run_analyses
from emovec.errors import stage_entry
from emovec.readers.paper_inputs import add_input_arguments


@stage_entry
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    add_input_arguments(ap)
    ap.add_argument("--out", required=True, help="build/analyses (a directory)")
    args = ap.parse_args(argv)
    print(run_analyses(args.config, args.separation_dir, args.vectors_dir, args.valence_dir, args.cka_dir,
                       args.steering_dir, args.classify_dir, args.out, args.steering_check_dir))


if __name__ == "__main__":
    raise SystemExit(main())
