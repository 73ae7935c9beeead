"""Stage: the external emotion classifiers read every steered generation (Jeong 2026 §5.2)
(:func:`emovec.steering.classify_study.run_classify`, whose module docstring says what is written)."""

from __future__ import annotations

import argparse

from emovec.errors import stage_entry
from emovec.steering.classify_study import run_classify


@stage_entry
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", required=True, help="build/config/steering/<model>/classify.yaml")
    ap.add_argument("--steering", required=True, help="build/steering/<model> (the steer stage's output)")
    ap.add_argument("--out", required=True, help="build/steering_classify/<model>.csv")
    args = ap.parse_args(argv)
    run_classify(args.config, args.steering, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
