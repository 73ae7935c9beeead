"""Stage: valence/arousal geometry of one (model, story corpus) cell at every layer
(:func:`emovec.geometry.valence_study.run_valence`, whose module docstring says what is written)."""

from __future__ import annotations

import argparse

from emovec.errors import stage_entry
from emovec.geometry.valence_study import run_valence


@stage_entry
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", required=True, help="build/config/cells/<cell>/valence.yaml")
    ap.add_argument("--activations", required=True)
    ap.add_argument("--out", required=True, help="build/valence/<cell> (a directory)")
    args = ap.parse_args(argv)
    run_valence(args.config, args.activations, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
