"""Stage: the activation cache of one cell (every layer, every pooling policy, one pass per batch;
:func:`emovec.activations.extract.run_extraction`). An interrupted extraction resumes from
``--partial-root``."""

from __future__ import annotations

import argparse

from emovec.errors import stage_entry
from emovec.stages.common import not_selected_reason, write_not_selected


@stage_entry
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", required=True, help="build/config/cells/<cell>/extract.yaml")
    ap.add_argument("--stimuli", required=True)
    ap.add_argument("--model-card", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--partial-root", default="build/partial/extract")
    args = ap.parse_args(argv)
    if (reason := not_selected_reason(args.config)) is not None:
        write_not_selected(args.out, reason)
        return
    from emovec.activations.extract import run_extraction  # after the check: a cell not run imports nothing heavy

    run_extraction(args.config, args.stimuli, args.model_card, args.out, args.partial_root)


if __name__ == "__main__":
    raise SystemExit(main())
