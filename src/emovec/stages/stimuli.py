"""Stage: the stimuli of one cell, validated, as JSON lines (+ a summary with effective n);
:func:`emovec.stimulus_corpus.run_stimuli`."""

from __future__ import annotations

import argparse

from emovec.errors import stage_entry
from emovec.stages.common import not_selected_reason, write_not_selected_file


@stage_entry
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", required=True, help="build/config/cells/<cell>/stimuli.yaml")
    ap.add_argument("--out", required=True, help="build/stimuli/<cell>.jsonl")
    ap.add_argument("--summary", required=True)
    ap.add_argument("--model-card", default=None, help="build/models/<m>.json (part of the resume key)")
    ap.add_argument("--partial-root", default="build/partial/generate")
    args = ap.parse_args(argv)
    if (reason := not_selected_reason(args.config)) is not None:
        write_not_selected_file(args.out, reason)
        write_not_selected_file(args.summary, reason)
        return
    from emovec.stimulus_corpus import run_stimuli  # after the check: a cell not run imports nothing heavy

    run_stimuli(args.config, args.out, args.summary, args.model_card, args.partial_root)


if __name__ == "__main__":
    raise SystemExit(main())
