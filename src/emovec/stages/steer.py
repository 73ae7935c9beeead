"""Stage: steer one model with its emotion vectors (Jeong 2026 §5-6) and measure every generation
(:mod:`emovec.steering.study`, whose docstring says what is written)."""

from __future__ import annotations

import argparse

from emovec.errors import stage_entry
from emovec.steering.study import run_steering


@stage_entry
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", required=True, help="build/config/steering/<model>/steer.yaml")
    ap.add_argument("--activations", required=True, help="build/activations/<model>__<corpus> (the vectors' cell)")
    ap.add_argument("--out", required=True, help="build/steering/<model>")
    args = ap.parse_args(argv)
    run_steering(args.config, args.activations, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
