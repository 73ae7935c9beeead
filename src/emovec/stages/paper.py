"""Stage: LaTeX tables and figures for the paper, from the tracked separation, vector, valence,
CKA and steering outputs and the analyses stage's statistics.

Every input is read and validated, and every table and figure rendered in memory, before the
first file is written (``emovec.report.outputs``): a bad input (missing file for a listed cell,
missing column, stale output) leaves the previous tables and figures untouched.
"""

from __future__ import annotations

import argparse

from emovec.errors import stage_entry
from emovec.readers.paper_inputs import add_analyses_argument, add_input_arguments
from emovec.report.outputs import write_paper


def _positive_int(text: str) -> int:
    """argparse type for --processes: refused at parse time, before anything is read or written."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return int(text)


@stage_entry
def main(argv: list[str] | None = None) -> None:
    """CLI entry: ``python -m emovec.stages.paper --config ... --tables-dir ... --figures-dir ...``."""
    ap = argparse.ArgumentParser(description=__doc__)
    add_input_arguments(ap)
    add_analyses_argument(ap)
    ap.add_argument("--tables-dir", required=True, help="where the .tex tables are written")
    ap.add_argument("--figures-dir", required=True, help="where the .png figures are written")
    ap.add_argument("--processes", type=_positive_int, default=None,
                    help="worker processes rendering figures (default: every available CPU; the "
                         "bytes are the same for any number)")
    args = ap.parse_args(argv)
    print(write_paper(args.config, args.separation_dir, args.vectors_dir, args.valence_dir, args.cka_dir,
                      args.steering_dir, args.classify_dir, args.tables_dir, args.figures_dir, args.processes,
                      args.analyses_dir))


if __name__ == "__main__":
    raise SystemExit(main())
