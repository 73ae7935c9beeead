"""Stage: debiased linear CKA per model, layer x layer within a corpus and corpus x corpus per layer
(:func:`emovec.geometry.cka_study.run_cka`, whose module docstring says what is written)."""

from __future__ import annotations

import argparse

from emovec.errors import stage_entry
from emovec.geometry.cka_study import run_cka


@stage_entry
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", required=True, help="build/config/cka.yaml (lists the valence cells)")
    ap.add_argument("--valence-dir", required=True)
    ap.add_argument("--out", required=True, help="build/cka (a directory)")
    args = ap.parse_args(argv)
    run_cka(args.config, args.valence_dir, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
