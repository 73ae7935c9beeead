"""Stage: the steering check. The steering study once more for one model, with the selection's
``steering_check`` overrides on top (e.g. another norm reference), from the same vectors; a
NOT_SELECTED note when the selection has no check (:mod:`emovec.steering.study` says what is
written)."""

from __future__ import annotations

import argparse

from emovec.errors import stage_entry
from emovec.stages.common import not_selected_reason, write_not_selected


@stage_entry
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", required=True, help="build/config/steering/<model>/steer_check.yaml")
    ap.add_argument("--activations", required=True, help="build/activations/<model>__<corpus> (the vectors' cell)")
    ap.add_argument("--out", required=True, help="build/steering_check/<model>")
    args = ap.parse_args(argv)
    if (reason := not_selected_reason(args.config)) is not None:
        write_not_selected(args.out, reason)
        return
    from emovec.steering.study import run_steering  # after the check: no check imports nothing heavy

    run_steering(args.config, args.activations, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
