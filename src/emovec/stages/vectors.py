"""Stage: emotion vectors of one cell at every layer, under the configured baseline
(:func:`emovec.vectors.run_vectors`)."""

from __future__ import annotations

import argparse

from emovec.errors import stage_entry
from emovec.stages.common import not_selected_reason, write_not_selected_file


@stage_entry
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", required=True, help="build/config/cells/<cell>/vectors.yaml")
    ap.add_argument("--activations", required=True, help="build/activations/<cell>")
    ap.add_argument("--out", required=True, help="build/vectors/<cell>.npz")
    args = ap.parse_args(argv)
    if (reason := not_selected_reason(args.config)) is not None:
        write_not_selected_file(args.out, reason)
        return
    from emovec.vectors import run_vectors  # after the check: a cell not run imports nothing heavy

    run_vectors(args.config, args.activations, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
